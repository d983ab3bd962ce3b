package federation_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/peers"
)

// A new peer's catch-up from a snapshot fetches the step's records while
// the snapshot downloads, not after it is staged, and only once: a proxy
// in front of the source holds the snapshot until the records are asked
// for (or 20 seconds pass, which fails the test).
func TestCatchUpFetchesRecordsWithTheSnapshot(t *testing.T) {
	a := startFed(t, "hub-a", "NL")
	a.createList(t, "shared", 1)
	hs := a.submit(t, 5)
	a.release(t, "shared")

	u, _ := url.Parse(a.url)
	rp := httputil.NewSingleHostReverseProxy(u)
	var (
		recordsAsked = make(chan struct{})
		once         sync.Once
		recordsCalls atomic.Int32
		heldOut      atomic.Bool
	)
	px := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/records"):
			recordsCalls.Add(1)
			once.Do(func() { close(recordsAsked) })
		case strings.HasSuffix(r.URL.Path, "/snapshot"):
			select {
			case <-recordsAsked:
			case <-time.After(20 * time.Second):
				heldOut.Store(true)
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(px.Close)

	// B's mirror takes snapshots in batches of 2 lines: the list's 5
	// entries load from the snapshot.
	b := startFedTuned(t, "hub-b", "GB", nil, func(n *node.Node) { n.Syncer.Batch = 2 })
	a.register(t, b, nil)
	k, err := a.admin.Keys(bg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.admin.AddPeer(bg, peers.Peer{ID: a.id, Name: "Hotline hub-a", Jurisdiction: a.jur, BaseURL: px.URL,
		NodeKeyPEM: k.NodeKeyPEM, ReleaseKeyPEM: k.ReleaseKeyPEM, LogKey: k.LogVerifierKey, Lists: []string{"shared"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B to apply A's version 1", 40*time.Second, func() bool {
		s := b.syncOf(t, "hub-a")
		return s.Applied == 1 && s.Snapshots == 1
	})
	if heldOut.Load() {
		t.Fatal("the snapshot was asked for and answered before the records")
	}
	if n := recordsCalls.Load(); n != 1 {
		t.Fatalf("the records were asked for %d times", n)
	}
	for _, h := range hs {
		if e := b.entryOf(t, h); e == nil || len(e.Assessments) != 1 {
			t.Fatalf("B's entry %s: %+v", h, e)
		}
	}
}
