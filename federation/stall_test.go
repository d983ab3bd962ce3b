package federation_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/peers"
)

// flaky is a proxy on 127.0.0.1 in front of a real node that can trickle
// the bulk answers (delta, snapshot, records) a byte every 100 ms, hang
// every request without answering (a silent partition), or cut every
// connection (a partition that refuses).
type flaky struct {
	srv  *httptest.Server
	mode atomic.Value // string: "", "trickle", "hang" or "cut"
	done chan struct{}
}

func newFlaky(t *testing.T, upstream string) *flaky {
	t.Helper()
	px := &flaky{done: make(chan struct{})}
	px.mode.Store("")
	u, _ := url.Parse(upstream)
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(u) },
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
		ModifyResponse: func(resp *http.Response) error {
			p := resp.Request.URL.Path
			if px.mode.Load() == "trickle" && (strings.HasSuffix(p, "/delta") || strings.HasSuffix(p, "/snapshot") || strings.HasSuffix(p, "/records")) {
				resp.Body = &trickleBody{rc: resp.Body, done: resp.Request.Context().Done()}
				resp.ContentLength = -1
				resp.Header.Del("Content-Length")
			}
			return nil
		},
	}
	px.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch px.mode.Load() {
		case "hang":
			select {
			case <-r.Context().Done():
			case <-px.done:
			}
			return
		case "cut":
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(px.done)
		px.srv.Close()
	})
	return px
}

func (px *flaky) set(mode string) {
	px.mode.Store(mode)
	if mode == "cut" {
		px.srv.CloseClientConnections()
	}
}

// trickleBody gives one byte every 100 ms.
type trickleBody struct {
	rc   io.ReadCloser
	done <-chan struct{}
}

func (b *trickleBody) Read(p []byte) (int, error) {
	select {
	case <-b.done:
		return 0, io.ErrUnexpectedEOF
	case <-time.After(100 * time.Millisecond):
	}
	return b.rc.Read(p[:min(len(p), 1)])
}

func (b *trickleBody) Close() error { return b.rc.Close() }

// pullsVia is pulls with other reached at proxy.
func (f *fedNode) pullsVia(t *testing.T, other *fedNode, proxy string, lists ...string) {
	t.Helper()
	real := other.url
	other.url = proxy
	defer func() { other.url = real }()
	f.pulls(t, other, lists...)
}

// A peer that trickles its answers, or stops answering a long poll, is
// reported stalled with the reason within the idle timeout (the long
// poll: its wait and the idle timeout), the error shown being the current
// one; the loop goes on when the peer behaves again.
func TestStalledPeer(t *testing.T) {
	a := startFed(t, "hub-a", "NL")
	b := startFedTuned(t, "hub-b", "GB", nil, func(n *node.Node) {
		n.Syncer.IdleTimeout = 2 * time.Second
		n.Syncer.ProbeInterval = 50 * time.Millisecond
		n.Syncer.ProbeTimeout = time.Second
	})
	a.createList(t, "shared", 1)
	b.createList(t, "shared", 1)
	px := newFlaky(t, a.url)
	px.set("trickle")
	b.pullsVia(t, a, px.srv.URL, "shared")
	h1 := a.submit(t, 3)[0]
	a.release(t, "shared")

	// Ten bytes a second, far below 1 KiB per idle timeout: stalled, with
	// the answer that stalled named.
	eventually(t, "B to report A's trickle", 15*time.Second, func() bool {
		s := b.syncOf(t, "hub-a")
		return s.State == peers.SyncStalled && strings.Contains(s.LastError, "less than 1024 bytes of the answer to GET /v1/lists/shared/")
	})
	if b.entryOf(t, h1) != nil {
		t.Fatal("B imported from a step it never finished reading")
	}
	px.set("")
	eventually(t, "B to pull A once A answers at speed", 15*time.Second, func() bool {
		s := b.syncOf(t, "hub-a")
		return s.State == peers.SyncOK && s.Applied == 1 && s.LastError == ""
	})
	if b.entryOf(t, h1) == nil {
		t.Fatal("B holds version 1 without its entries")
	}

	// A silent partition while B long-polls: no answer within the wait
	// (3 s) and the idle timeout (2 s). The old code waited 33 s.
	px.set("hang")
	eventually(t, "B to report the unanswered long poll", 15*time.Second, func() bool {
		s := b.syncOf(t, "hub-a")
		return s.State == peers.SyncStalled && strings.Contains(s.LastError, "stalled: no answer within")
	})
	if s := b.syncOf(t, "hub-a"); strings.Contains(s.LastError, "bytes of the answer") {
		t.Fatalf("the error shown is an earlier one: %q", s.LastError)
	}
	px.set("")
	h2 := a.submit(t, 1)[0]
	a.release(t, "shared")
	eventually(t, "B to go on once A answers again", 15*time.Second, func() bool {
		s := b.syncOf(t, "hub-a")
		return s.State == peers.SyncOK && s.Applied == 2 && s.LastError == ""
	})
	if b.entryOf(t, h2) == nil {
		t.Fatal("B holds version 2 without its entry")
	}
}

// When a partition heals, the loop retries at once on the peer's first
// answer to a probe instead of waiting out a backoff grown during the
// partition: here the backoff is at least 30 s, and B must converge
// within 10 s of the heal.
func TestConvergesWhenPartitionHeals(t *testing.T) {
	a := startFed(t, "hub-a", "NL")
	b := startFedTuned(t, "hub-b", "GB", nil, func(n *node.Node) {
		n.Syncer.MinBackoff = time.Minute // ±50%: 30–90 s
		n.Syncer.MaxBackoff = time.Hour
		n.Syncer.ProbeInterval = 50 * time.Millisecond
		n.Syncer.ProbeTimeout = time.Second
	})
	a.createList(t, "shared", 1)
	b.createList(t, "shared", 1)
	px := newFlaky(t, a.url)
	b.pullsVia(t, a, px.srv.URL, "shared")
	h1 := a.submit(t, 1)[0]
	a.release(t, "shared")
	eventually(t, "B to pull A's version 1", 15*time.Second, func() bool { return b.entryOf(t, h1) != nil })

	px.set("cut")
	var failedAt time.Time
	eventually(t, "B to report A unreachable and back off", 15*time.Second, func() bool {
		s := b.syncOf(t, "hub-a")
		failedAt = s.LastErrorTime
		return s.State == peers.SyncFailing && s.NextAttempt.Sub(s.LastErrorTime) >= 30*time.Second
	})
	// Probes fail while the partition lasts and say so.
	eventually(t, "a failed probe", 5*time.Second, func() bool {
		s := b.syncOf(t, "hub-a")
		return strings.HasPrefix(s.LastError, "probe: ") && s.LastErrorTime.After(failedAt)
	})
	h2 := a.submit(t, 1)[0]
	a.release(t, "shared")

	px.set("")
	eventually(t, "B to converge after the heal", 10*time.Second, func() bool {
		return b.entryOf(t, h2) != nil && b.syncOf(t, "hub-a").Applied == 2
	})
}
