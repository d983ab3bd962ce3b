package federation_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashhub/hashhub/peers"
)

// importHashes sends n synthetic sha256 hashes through the analyst's bulk
// import and returns them.
func (f *fedNode) importHashes(t *testing.T, n int) []string {
	t.Helper()
	var buf bytes.Buffer
	out := make([]string, n)
	for i := range out {
		b := make([]byte, 32)
		rand.Read(b)
		out[i] = hex.EncodeToString(b)
		fmt.Fprintf(&buf, `{"algo":"sha256","value":"%s"}`+"\n", out[i])
	}
	if _, err := f.analyst.Import(bg, &buf, "ndjson", int64(buf.Len())); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fedNode) syncOf(t *testing.T, peer string) peers.SyncStatus {
	t.Helper()
	p, err := f.admin.Peer(bg, peer)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Sync) != 1 {
		return peers.SyncStatus{}
	}
	return p.Sync[0]
}

func (f *fedNode) listSize(t *testing.T, list string) uint64 {
	t.Helper()
	lr, err := f.admin.LatestRelease(bg, list)
	if err != nil {
		return 0
	}
	return lr.Entries
}

// A node killed mid-sync resumes where it stopped, and a peer that goes
// away is reported failing and picked up again when it is back.
func TestRestartMidSync(t *testing.T) {
	a, b := startFed(t, "hub-a", "NL"), startFed(t, "hub-b", "GB")
	a.createList(t, "shared", 1)
	b.createList(t, "shared", 1)
	b.pulls(t, a, "shared")
	a.importHashes(t, 20_000)
	a.release(t, "shared")
	// Stop B as soon as it has started pulling.
	eventually(t, "B to start pulling", 10*time.Second, func() bool { return !b.syncOf(t, "hub-a").LastAttempt.IsZero() })
	b.restart(t)
	eventually(t, "B to hold A's list after its restart", 30*time.Second, func() bool {
		return b.syncOf(t, "hub-a").Applied == 1 && b.listSize(t, "shared") == 20_000
	})

	// A goes away: B says so, with the reason, and goes on when A is back.
	a.stop()
	eventually(t, "B to report A unreachable", 10*time.Second, func() bool {
		s := b.syncOf(t, "hub-a")
		return s.State == peers.SyncFailing && strings.Contains(s.LastError, "cannot reach")
	})
	a.serve(t, a.addr)
	a.submit(t, 1)
	a.release(t, "shared")
	eventually(t, "B to catch up after A's restart", 20*time.Second, func() bool {
		s := b.syncOf(t, "hub-a")
		return s.State == peers.SyncOK && s.Applied == 2 && b.listSize(t, "shared") == 20_001
	})
}

// tamper is a proxy in front of a real node that can forge signatures,
// claim an older latest version, or switch to another upstream (a fork:
// a node holding the same keys with another history).
type tamper struct {
	mode     atomic.Value // string
	upstream atomic.Value // *url.URL
}

func newTamper(t *testing.T, upstream string) (*tamper, string) {
	tp := &tamper{}
	tp.mode.Store("")
	u, _ := url.Parse(upstream)
	tp.upstream.Store(u)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(tp.upstream.Load().(*url.URL))
		},
		ModifyResponse: func(resp *http.Response) error {
			mode := tp.mode.Load().(string)
			path := resp.Request.URL.Path
			switch {
			case mode == "forge" && strings.HasSuffix(path, "/manifest.sig"):
				body, _ := io.ReadAll(resp.Body)
				body = bytes.Replace(body, body[10:14], []byte("AAAA"), 1)
				setBody(resp, body)
			case mode == "rollback" && strings.HasSuffix(path, "/releases/latest"):
				var m map[string]any
				raw, _ := io.ReadAll(resp.Body)
				json.Unmarshal(raw, &m)
				m["latest"] = 1
				raw, _ = json.Marshal(m)
				setBody(resp, raw)
			}
			return nil
		},
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return tp, srv.URL
}

func setBody(resp *http.Response, b []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", fmt.Sprint(len(b)))
	resp.Header.Del("ETag")
}

// A peer that serves a forged, rolled-back or forked release is refused
// and reported — nothing of it is imported — while the node goes on
// syncing its other peers; once the peer serves the truth again it is
// picked up.
func TestForgedRolledBackAndForkedPeer(t *testing.T) {
	a, b, c := startFed(t, "hub-a", "NL"), startFed(t, "hub-b", "GB"), startFed(t, "hub-c", "IE")
	for _, n := range []*fedNode{a, b, c} {
		n.createList(t, "shared", 1)
	}
	tp, proxy := newTamper(t, a.url)
	// C reaches A only through the proxy.
	realURL := a.url
	a.url = proxy
	c.pulls(t, a, "shared")
	a.url = realURL
	c.pulls(t, b, "shared")

	bRound := func(what string) {
		t.Helper()
		h := b.submit(t, 1)[0]
		b.release(t, "shared")
		eventually(t, "C goes on with B "+what, 15*time.Second, func() bool { return c.entryOf(t, h) != nil })
	}
	refused := func(what, reason string, held uint64) {
		t.Helper()
		eventually(t, "C to refuse the "+what+" release", 15*time.Second, func() bool {
			s := c.syncOf(t, "hub-a")
			return s.State == peers.SyncFailing && strings.Contains(s.LastError, reason)
		})
		if s := c.syncOf(t, "hub-a"); s.Applied != held {
			t.Fatalf("after the %s release C applied version %d, want %d", what, s.Applied, held)
		}
		bRound("while A is refused (" + what + ")")
	}

	h1 := a.submit(t, 1)[0]
	a.release(t, "shared")
	eventually(t, "C to pull A's version 1", 15*time.Second, func() bool { return c.entryOf(t, h1) != nil })

	// Forged signature.
	tp.mode.Store("forge")
	h2 := a.submit(t, 1)[0]
	a.release(t, "shared")
	refused("forged", "bad signature", 1)
	if c.entryOf(t, h2) != nil {
		t.Fatal("an entry of a forged release was imported")
	}
	tp.mode.Store("")
	eventually(t, "C to recover once A's releases are genuine again", 15*time.Second, func() bool {
		return c.syncOf(t, "hub-a").Applied == 2 && c.entryOf(t, h2) != nil
	})

	// Rolled back: the proxy says the latest is version 1.
	tp.mode.Store("rollback")
	a.submit(t, 1)
	a.release(t, "shared")
	refused("rolled-back", "rollback", 2)
	tp.mode.Store("")
	eventually(t, "C to recover from the rollback", 15*time.Second, func() bool { return c.syncOf(t, "hub-a").Applied == 3 })

	// Forked: another node holding A's keys and id, with another history.
	d := startFedWithKeys(t, "hub-a", "NL", a.dir)
	d.createList(t, "shared", 1)
	d.register(t, c, nil) // so that C can authenticate there
	for range 6 {
		d.submit(t, 1)
		d.release(t, "shared")
	}
	u, _ := url.Parse(d.url)
	tp.upstream.Store(u)
	refused("forked", "inconsistent", 3)
	// The witness-style evidence: C still holds A's genuine state.
	if s := c.syncOf(t, "hub-a"); s.Version != 3 {
		t.Fatalf("C's mirror of A moved to %d", s.Version)
	}
}

// startFedWithKeys starts a node that holds a copy of another node's keys.
func startFedWithKeys(t *testing.T, id, jur, keysFrom string) *fedNode {
	t.Helper()
	return startFedInit(t, id, jur, func(dir string) {
		src := filepath.Join(keysFrom, "keys")
		ents, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "keys", e.Name()), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	})
}
