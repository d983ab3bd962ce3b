package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/hashhub/hashhub/release"
)

// hostileNode stands in front of a real node and passes every request
// through, except that, once hostile is set, it answers delta requests
// with 410 (sending the client to the snapshot) and the snapshot with
// size bytes of well-formed lines that no manifest signed, counting what
// it managed to send before the client hung up.
type hostileNode struct {
	*httptest.Server
	hostile atomic.Bool
	size    int64
	sent    atomic.Int64
}

func newHostileNode(t *testing.T, upstream string, size int64) *hostileNode {
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	h := &hostileNode{size: size}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !h.hostile.Load():
			rp.ServeHTTP(w, r)
		case r.URL.Path == "/v1/lists/"+listName+"/delta":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusGone)
			w.Write([]byte(`{"type":"urn:hashhub:problem:version-gone","title":"Version no longer kept","status":410,"snapshot":"/v1/lists/verified/snapshot"}`))
		case r.URL.Path == "/v1/lists/"+listName+"/snapshot":
			h.serveSnapshot(w)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hostileNode) serveSnapshot(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Hashhub-Version", "2")
	buf := make([]byte, 0, 64<<10)
	for i := 0; h.sent.Load() < h.size; i++ {
		v := sha256.Sum256([]byte(strconv.Itoa(i)))
		buf = append(buf, (&release.Item{Algo: "sha256", Value: hex.EncodeToString(v[:]), Severity: "B"}).Line()...)
		buf = append(buf, '\n')
		if len(buf) < 60<<10 {
			continue
		}
		n, err := w.Write(buf)
		h.sent.Add(int64(n))
		if err != nil {
			return
		}
		buf = buf[:0]
	}
}

// TestPullRefusesHostileSnapshot: a node that keeps its manifests honest
// but sends a snapshot far larger than they allow (here 256 MiB of lines
// the manifest never signed) is refused early, and the mirror keeps the
// version it held, byte for byte. A cap below the genuine snapshot's size
// refuses it too.
func TestPullRefusesHostileSnapshot(t *testing.T) {
	rn := startRelNode(t, nil, nil)
	rn.submit(t, "a1", "a2", "a3")
	rn.build(t)
	const size = 256 << 20
	hn := newHostileNode(t, rn.url, size)
	dir := filepath.Join(t.TempDir(), "m")
	ok(t, rn.pull(hn.URL, dir, "--trust-on-first-use"))
	rn.submit(t, "a4", "a5")
	rn.build(t)

	hn.hostile.Store(true)
	before := dirFiles(t, dir)
	r := rn.pull(hn.URL, dir)
	fails(t, r, 1, "refused version 2", "nothing of the refused step was kept")
	unchanged(t, dir, before)
	// What was sent is what the client read plus what the sockets buffer
	// on loopback; the whole body would be 256 MiB.
	if got := hn.sent.Load(); got > 32<<20 {
		t.Errorf("the hostile node sent %d bytes before the refusal", got)
	}
	if mirrorVersion(t, dir) != 1 {
		t.Errorf("the mirror moved")
	}

	// The genuine snapshot, over a cap set below its size.
	px := newProxy(t, rn.url)
	dir = filepath.Join(t.TempDir(), "m2")
	ok(t, rn.pull(px.URL, dir, "--trust-on-first-use", "--max-bytes", "1000"))
	rn.submit(t, "a6")
	rn.build(t)
	px.set(nil, func(r *http.Request, a *answer) {
		if r.URL.Path == "/v1/lists/"+listName+"/delta" {
			a.status, a.header = http.StatusGone, http.Header{"Content-Type": {"application/problem+json"}}
			a.body = []byte(`{"type":"urn:hashhub:problem:version-gone","title":"Version no longer kept","status":410,"snapshot":"/v1/lists/verified/snapshot"}`)
		}
	})
	before = dirFiles(t, dir)
	fails(t, rn.pull(px.URL, dir, "--max-bytes", "100"), 1, "refused version 3: too large", "cap of 100 bytes")
	unchanged(t, dir, before)
	fails(t, rn.pull(px.URL, dir, "--max-bytes", "0"), 2, "--max-bytes must be positive")
	// Without the cap the same pull succeeds.
	r = ok(t, rn.pull(px.URL, dir))
	contains(t, r.stdout, "version 3: loaded from the snapshot, 6 entries")
}
