package federation_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
)

// A↔B: each pulls the other. A hash assessed at A comes back to A in B's
// releases and adds nothing there; the nodes stop releasing once they
// agree (no ping-pong).
func TestLoopAddsNothing(t *testing.T) {
	a, b := startFed(t, "hub-a", "NL"), startFed(t, "hub-b", "GB")
	a.createList(t, "shared", 1)
	b.createList(t, "shared", 1)
	a.register(t, b, []string{"shared"})
	b.register(t, a, []string{"shared"})
	ha := a.submit(t, 2)
	hb := b.submit(t, 1)
	a.release(t, "shared")
	b.release(t, "shared")
	all := append(append([]string{}, ha...), hb...)
	for _, n := range []*fedNode{a, b} {
		eventually(t, n.id+" holds every hash", 15*time.Second, func() bool {
			q, err := n.admin.ListEntries(bg, "shared", "", 100)
			return err == nil && len(q.Entries) == 3
		})
	}
	// Quiet: versions stop moving.
	var va, vb uint64
	eventually(t, "the nodes to go quiet", 15*time.Second, func() bool {
		na, nb := a.latest(t, "shared"), b.latest(t, "shared")
		if na == va && nb == vb {
			return true
		}
		va, vb = na, nb
		time.Sleep(500 * time.Millisecond)
		return false
	})
	for _, n := range []*fedNode{a, b} {
		for _, h := range all {
			e := n.entryOf(t, h)
			if e == nil || len(e.Assessments) != 1 {
				t.Fatalf("%s: %s has %v, want exactly its origin's assessment", n.id, h, e)
			}
		}
	}
	if i, ok := assessmentFrom(a.entryOf(t, ha[0]), "hub-a"); !ok || i != 0 {
		t.Fatal("A's own assessment is not A's")
	}
	if va > 4 || vb > 4 {
		t.Fatalf("the loop kept releasing: A at %d, B at %d", va, vb)
	}
}

// Three jurisdictions: C (a platform-side node in IE) pulls the hotlines'
// shared lists and publishes "verified", which needs assessments from two
// jurisdictions. A hash assessed in NL qualifies at C only once GB's
// hotline, on another node, has assessed it too.
func TestTwoJurisdictionsAcrossNodes(t *testing.T) {
	a, b, c := startFed(t, "hub-nl", "NL"), startFed(t, "hub-gb", "GB"), startFed(t, "hub-ie", "IE")
	a.createList(t, "shared", 1)
	b.createList(t, "shared", 1)
	c.createList(t, "verified", 2)
	b.pulls(t, a, "shared")
	c.pulls(t, a, "shared")
	c.pulls(t, b, "shared")
	h := a.submit(t, 1)[0]
	a.release(t, "shared")
	eventually(t, "C holds NL's assessment", 15*time.Second, func() bool {
		e := c.entryOf(t, h)
		return e != nil && len(e.Assessments) == 1
	})
	eventually(t, "B holds NL's assessment", 15*time.Second, func() bool { return b.entryOf(t, h) != nil })
	// C releases "verified" (to hold a version); the hash is not on it.
	c.release(t, "verified")
	if q, err := c.admin.ListEntries(bg, "verified", "", 10); err != nil || len(q.Entries) != 0 {
		t.Fatalf("one jurisdiction qualified the hash: %+v %v", q, err)
	}
	// GB's hotline assesses it on B.
	if _, err := b.analyst.Assess(bg, "sha256", h, client.AssessRequest{Verdict: "illegal", Category: "baseline"}); err != nil {
		t.Fatal(err)
	}
	b.release(t, "shared")
	eventually(t, "the hash qualifies at C", 15*time.Second, func() bool {
		q, err := c.admin.ListEntries(bg, "verified", "", 10)
		return err == nil && len(q.Entries) == 1
	})
	e := c.entryOf(t, h)
	jurs := map[string]bool{}
	for _, a := range e.Assessments {
		jurs[a.OrgJur] = true
	}
	if len(e.Assessments) != 2 || !jurs["NL"] || !jurs["GB"] {
		t.Fatalf("C's assessments: %+v", e.Assessments)
	}
	// C publishes it by itself (release after sync).
	eventually(t, "C's verified release to hold it", 10*time.Second, func() bool {
		lr, err := c.admin.LatestRelease(bg, "verified")
		return err == nil && lr.Entries == 1
	})
}

// Pausing a peer stops pulling from it (its status says paused); resuming
// picks up what was missed; removing it forgets its sync state.
func TestPauseResumeRemove(t *testing.T) {
	a, b := startFed(t, "hub-a", "NL"), startFed(t, "hub-b", "GB")
	a.createList(t, "shared", 1)
	b.createList(t, "shared", 1)
	b.pulls(t, a, "shared")
	h1 := a.submit(t, 1)[0]
	a.release(t, "shared")
	eventually(t, "B to pull", 10*time.Second, func() bool { return b.entryOf(t, h1) != nil })
	if _, err := b.admin.SetPeerPaused(bg, "hub-a", true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the loop to stop", 5*time.Second, func() bool { return b.syncOf(t, "hub-a").State == "paused" })
	h2 := a.submit(t, 1)[0]
	a.release(t, "shared")
	time.Sleep(500 * time.Millisecond)
	if b.entryOf(t, h2) != nil {
		t.Fatal("a paused peer's release was pulled")
	}
	if _, err := b.admin.SetPeerPaused(bg, "hub-a", false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B to catch up after resuming", 10*time.Second, func() bool { return b.entryOf(t, h2) != nil })
	if err := b.admin.RemovePeer(bg, "hub-a"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the mirror of A's list to go", 5*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(b.dir, "peers", "hub-a", "shared"))
		return os.IsNotExist(err)
	})
	if c, err := b.n.Hub.PeerCursor("hub-a", "shared"); err != nil || c != 0 {
		t.Fatalf("cursor of a removed peer: %d %v", c, err)
	}
}

// A peer that joins late, many versions behind, is caught up from the
// snapshot: the records of every version come with it.
func TestLateJoinerCatchesUpFromSnapshot(t *testing.T) {
	a, b := startFed(t, "hub-a", "NL"), startFed(t, "hub-b", "GB")
	a.createList(t, "shared", 1)
	b.createList(t, "shared", 1)
	var hs []string
	for range 70 { // more than mirror.DefaultSnapshotAfter versions
		hs = append(hs, a.submit(t, 1)...)
		a.release(t, "shared")
	}
	if _, err := a.analyst.Retract(bg, "sha256", hs[3], "not what it seemed"); err != nil {
		t.Fatal(err)
	}
	a.release(t, "shared")
	b.pulls(t, a, "shared")
	eventually(t, "B to catch up", 20*time.Second, func() bool {
		s := b.syncOf(t, "hub-a")
		return s.Applied == 71 && s.State == "ok"
	})
	if s := b.syncOf(t, "hub-a"); s.Snapshots != 1 {
		t.Fatalf("B did not start from the snapshot: %+v", s)
	}
	for i, h := range hs {
		e := b.entryOf(t, h)
		want := "active"
		if i == 3 {
			want = "retracted" // its record came with the snapshot's records
		}
		if e == nil && i == 3 {
			continue // not on A's list any more: nothing to import
		}
		if e == nil || e.Status != want || e.Assessments[0].Origin != "hub-a" {
			t.Fatalf("hash %d at B: %+v", i, e)
		}
	}
	eventually(t, "B's list to hold A's 69 active hashes", 10*time.Second, func() bool { return b.listSize(t, "shared") == 69 })
}

// A peer registered before its list's first release waits for it with a
// long poll (not a growing backoff) and picks it up at once.
func TestWaitsForFirstRelease(t *testing.T) {
	a, b := startFed(t, "hub-a", "NL"), startFed(t, "hub-b", "GB")
	a.createList(t, "shared", 1)
	b.pulls(t, a, "shared")
	eventually(t, "B to wait for A's first release", 10*time.Second, func() bool { return b.syncOf(t, "hub-a").State == "waiting" })
	time.Sleep(1500 * time.Millisecond) // longer than the test's largest backoff
	h := a.submit(t, 1)[0]
	a.release(t, "shared")
	eventually(t, "B to pull the first release", 10*time.Second, func() bool { return b.entryOf(t, h) != nil })
	eventually(t, "B's loop to report ok", 5*time.Second, func() bool { return b.syncOf(t, "hub-a").State == "ok" })
	if s := b.syncOf(t, "hub-a"); s.TotalFailures != 0 {
		t.Fatalf("failures while waiting for the first release: %+v", s)
	}
}
