package federation_test

import (
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

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/publish"
)

// tree is a directory node A publishes to, served over HTTP on loopback
// by Go's file server (any web server does: the tree is plain files). It
// counts the deltas it serves, so a test can tell a pull that read the
// tree from one that read the node.
type tree struct {
	dir, url string
	deltas   atomic.Int64
}

func serveTree(t *testing.T) *tree {
	t.Helper()
	tr := &tree{dir: t.TempDir()}
	fs := http.FileServer(http.Dir(tr.dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/delta.ndjson") {
			tr.deltas.Add(1)
		}
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tr.url = srv.URL
	return tr
}

// publish writes f's releases to the tree as hashhub serve --publish-to
// does (the list's readers are restricted: a private target).
func (tr *tree) publish(t *testing.T, f *fedNode) {
	t.Helper()
	if _, err := f.n.Publisher(&publish.Dir{Root: tr.dir}, true).Publish(bg); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

func (tr *tree) path(p string) string { return filepath.Join(tr.dir, filepath.FromSlash(p)) }

// swap replaces a file of the tree and returns a function that puts the
// original back.
func (tr *tree) swap(t *testing.T, p string, b []byte) func() {
	t.Helper()
	orig, err := os.ReadFile(tr.path(p))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tr.path(p), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.WriteFile(tr.path(p), orig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// health is f's sync status of peer's list.
func (f *fedNode) health(t *testing.T, peer, list string) peers.SyncStatus {
	t.Helper()
	for _, h := range f.n.Syncer.Health(peer) {
		if h.List == list {
			return h
		}
	}
	return peers.SyncStatus{}
}

// TestSyncThroughMirror: B reads A's list from the tree A publishes,
// served by a web server, and ends with what C, syncing from A directly,
// has; follows A's releases through it; falls back to A when the tree is
// stale; refuses a tampered or rolled-back tree without changing its
// state; and keeps verifying the tree while A is down, importing the
// steps with their records once A answers again.
func TestSyncThroughMirror(t *testing.T) {
	fast := func(n *node.Node) { n.Syncer.MirrorPoll = 50 * time.Millisecond }
	a := startFed(t, "hub-a", "NL")
	b := startFedTuned(t, "hub-b", "GB", nil, fast)
	c := startFed(t, "hub-c", "IE")
	for _, n := range []*fedNode{a, b, c} {
		n.createList(t, "shared", 1)
	}
	tr := serveTree(t)
	hs := a.submit(t, 3)
	a.release(t, "shared")
	tr.publish(t, a)

	// B registers A with the mirror, and reaches A through a gateway the
	// test can cut (A's cosigner still reaches B: B witnesses A's log); C
	// pulls from A itself.
	kb, err := b.admin.Keys(bg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.admin.AddPeer(bg, peers.Peer{ID: b.id, Name: "Hotline " + b.id, Jurisdiction: b.jur, BaseURL: b.url,
		NodeKeyPEM: kb.NodeKeyPEM, ReleaseKeyPEM: kb.ReleaseKeyPEM, LogKey: kb.LogVerifierKey, WitnessKey: kb.WitnessKey}); err != nil {
		t.Fatal(err)
	}
	k, err := a.admin.Keys(bg)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(a.url)
	var cut atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(target)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cut.Load() {
			http.Error(w, "upstream unreachable", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer gw.Close()
	if _, err := b.admin.AddPeer(bg, peers.Peer{ID: a.id, Name: "Hotline " + a.id, Jurisdiction: a.jur,
		BaseURL: gw.URL, MirrorURL: tr.url + "/", NodeKeyPEM: k.NodeKeyPEM, ReleaseKeyPEM: k.ReleaseKeyPEM,
		LogKey: k.LogVerifierKey, Lists: []string{"shared"}}); err != nil {
		t.Fatal(err)
	}
	c.pulls(t, a, "shared")
	defer func() {
		if t.Failed() {
			t.Logf("B's view of A: %+v mirror %+v", b.health(t, a.id, "shared"), b.health(t, a.id, "shared").Mirror)
		}
	}()
	has := func(n *fedNode, hs []string) func() bool {
		return func() bool {
			for _, h := range hs {
				if e := n.entryOf(t, h); e == nil || e.Status != "active" {
					return false
				}
			}
			return true
		}
	}
	eventually(t, "A's hashes at B and C", 15*time.Second, func() bool { return has(b, hs)() && has(c, hs)() })
	same := func(hs []string) {
		t.Helper()
		for _, h := range hs {
			eb, ec := b.entryOf(t, h), c.entryOf(t, h)
			if len(eb.Assessments) != 1 || len(ec.Assessments) != 1 {
				t.Fatalf("%s: B holds %d assessments, C %d; want A's one", h, len(eb.Assessments), len(ec.Assessments))
			}
			x, y := eb.Assessments[0], ec.Assessments[0]
			if x.Origin != "hub-a" || x.Origin != y.Origin || x.OriginSeq != y.OriginSeq || x.Verdict != y.Verdict || x.OriginOrg != y.OriginOrg {
				t.Fatalf("%s: B's assessment %+v differs from C's %+v", h, x, y)
			}
		}
	}
	same(hs)
	h := b.health(t, a.id, "shared")
	if h.Mirror == nil || h.Mirror.Source != peers.SourceMirror || h.Mirror.Fallbacks != 0 || h.Mirror.URL != tr.url {
		t.Fatalf("B did not read the tree: %+v", h.Mirror)
	}
	if tr.deltas.Load() == 0 {
		t.Fatal("the tree served no delta")
	}

	// A releases again and publishes: B follows through the tree. (B is
	// paused meanwhile: between the release and the publish the tree is
	// behind, and a pull then would rightly read A.)
	paused := func(f func()) {
		t.Helper()
		if _, err := b.admin.SetPeerPaused(bg, a.id, true); err != nil {
			t.Fatal(err)
		}
		f()
		if _, err := b.admin.SetPeerPaused(bg, a.id, false); err != nil {
			t.Fatal(err)
		}
	}
	var hs2 []string
	before := tr.deltas.Load()
	paused(func() {
		hs2 = a.submit(t, 2)
		a.release(t, "shared")
		tr.publish(t, a)
	})
	eventually(t, "version 2 at B", 15*time.Second, has(b, hs2))
	if h := b.health(t, a.id, "shared"); h.Mirror.Source != peers.SourceMirror || h.Mirror.Fallbacks != 0 || tr.deltas.Load() == before {
		t.Fatalf("B did not follow through the tree: %+v", h.Mirror)
	}

	// A releases without publishing: the tree is stale. B sees A's newer
	// checkpoint, says so, and reads A itself.
	hs3 := a.submit(t, 2)
	a.release(t, "shared")
	eventually(t, "version 3 at B from A", 15*time.Second, has(b, hs3))
	h = b.health(t, a.id, "shared")
	if !h.Mirror.Behind || h.Mirror.NewestFrom != peers.SourceNode || h.Mirror.Source != peers.SourceNode || h.Mirror.Fallbacks == 0 ||
		h.Mirror.NewestSize <= h.Mirror.CheckpointSize {
		t.Fatalf("stale tree not reported: %+v", h.Mirror)
	}
	rec := httptest.NewRecorder()
	b.n.Server.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if want := `hashhub_peer_sync_mirror_behind{list="shared",peer="hub-a"} 1`; !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("metrics lack %s", want)
	}
	// Published again, the tree is current and read again.
	tr.publish(t, a)
	eventually(t, "B back on the tree", 15*time.Second, func() bool {
		h := b.health(t, a.id, "shared")
		return !h.Mirror.Behind && h.Mirror.Source == peers.SourceMirror
	})

	// Versions 4 and 5 are published, then A goes down (B paused
	// meanwhile, so that it meets them only with A down).
	if _, err := b.admin.SetPeerPaused(bg, a.id, true); err != nil {
		t.Fatal(err)
	}
	hs4 := a.submit(t, 2)
	a.release(t, "shared")
	hs5 := a.submit(t, 2)
	a.release(t, "shared")
	tr.publish(t, a)
	a.stop()

	// A tampered delta of version 5: version 4 is taken from the tree,
	// version 5 refused, and B holds version 4.
	delta5 := "lists/shared/5/delta.ndjson"
	raw, err := os.ReadFile(tr.path(delta5))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	restore := tr.swap(t, delta5, raw)
	if _, err := b.admin.SetPeerPaused(bg, a.id, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the tampered delta refused", 15*time.Second, func() bool {
		h := b.health(t, a.id, "shared")
		return h.Mirror != nil && strings.Contains(h.Mirror.LastError, "delta")
	})
	h = b.health(t, a.id, "shared")
	if h.Version != 4 || h.Applied != 3 || !h.Mirror.RecordsOwed || h.State == peers.SyncOK {
		t.Fatalf("after the tampered delta with A down: version %d applied %d state %s mirror %+v", h.Version, h.Applied, h.State, h.Mirror)
	}
	// Verified from the tree, version 4 waits for its records: A is down.
	if e := b.entryOf(t, hs4[0]); e != nil {
		t.Fatalf("an entry of version 4 imported without its records: %+v", e)
	}
	restore()
	eventually(t, "version 5 verified from the tree with A down", 15*time.Second, func() bool {
		h := b.health(t, a.id, "shared")
		return h.Version == 5 && h.Mirror.Source == peers.SourceMirror && h.Mirror.LastError == ""
	})

	// A rolled-back pointer and a forged checkpoint: refused, B stays at 5.
	old4, err := os.ReadFile(tr.path("lists/shared/latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	restore = tr.swap(t, "lists/shared/latest.json", []byte(strings.Replace(string(old4), `"latest":5`, `"latest":4`, 1)))
	eventually(t, "the rolled-back pointer refused", 15*time.Second, func() bool {
		return strings.Contains(b.health(t, a.id, "shared").Mirror.LastError, "rollback")
	})
	restore()
	cp, err := os.ReadFile(tr.path("log/checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(cp), "\n", 3)
	forged := lines[0] + "\n999999\n" + lines[2]
	restore = tr.swap(t, "log/checkpoint", []byte(forged))
	eventually(t, "the forged checkpoint refused", 15*time.Second, func() bool {
		return strings.Contains(b.health(t, a.id, "shared").Mirror.LastError, "bad checkpoint")
	})
	if h := b.health(t, a.id, "shared"); h.Version != 5 || h.Mirror.NewestSize >= 999999 {
		t.Fatalf("a forged checkpoint moved B: %+v %+v", h, h.Mirror)
	}
	restore()

	// A answers again: the records owed are fetched and versions 4 and 5
	// imported; B ends where C does.
	a.serve(t, a.addr)
	eventually(t, "versions 4 and 5 imported at B", 20*time.Second, func() bool { return has(b, append(hs4, hs5...))() })
	eventually(t, "versions 4 and 5 at C", 20*time.Second, has(c, append(hs4, hs5...)))
	same(append(append(append(hs, hs2...), hs3...), append(hs4, hs5...)...))
	eventually(t, "nothing owed", 10*time.Second, func() bool {
		h := b.health(t, a.id, "shared")
		return h.Applied == 5 && !h.Mirror.RecordsOwed
	})

	// B cannot reach A; A releases without publishing and B, as A's
	// witness, cosigns the grown log: that checkpoint shows the tree
	// behind. The tree is still read (it is not behind what B holds), and
	// A's release arrives once A can be reached again.
	cut.Store(true)
	hs6 := a.submit(t, 1)
	a.release(t, "shared")
	raw6, err := a.admin.Checkpoint(bg)
	if err != nil {
		t.Fatal(err)
	}
	size6 := strings.SplitN(string(raw6), "\n", 3)[1]
	eventually(t, "B cosigns A's log at size "+size6, 70*time.Second, func() bool {
		note, ok := witnessed(t, b, "hashhub/"+a.id)
		return ok && strings.Contains(string(note), "\n"+size6+"\n")
	})
	eventually(t, "the tree behind the witnessed checkpoint", 15*time.Second, func() bool {
		h := b.health(t, a.id, "shared")
		return h.Mirror.Behind && h.Mirror.NewestFrom == "witness" && h.Mirror.Source == peers.SourceMirror
	})
	if e := b.entryOf(t, hs6[0]); e != nil {
		t.Fatal("version 6 reached B with A unreachable and unpublished")
	}
	cut.Store(false)
	eventually(t, "version 6 at B from A", 15*time.Second, has(b, hs6))
}

// witnessed is the last checkpoint of origin f cosigned as a witness.
func witnessed(t *testing.T, f *fedNode, origin string) ([]byte, bool) {
	t.Helper()
	cl, err := client.NewPublic(f.url, "test", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	note, err := cl.WitnessedCheckpoint(bg, origin)
	return note, err == nil
}
