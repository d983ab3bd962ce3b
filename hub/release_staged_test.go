package hub

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/store"
)

// served is everything a list's first version serves: manifest, delta,
// snapshot.
func (f *fixture) servedV1(t *testing.T, name string) (manifest, delta, snapshot []byte) {
	t.Helper()
	manifest, _, err := f.s.Manifest(name, 1)
	if err != nil {
		t.Fatal(err)
	}
	var d, sn bytes.Buffer
	if err := f.s.WriteDelta(&d, name, 0, 1, NDJSON); err != nil {
		t.Fatal(err)
	}
	if err := f.s.WriteSnapshot(&sn, name, 0, NDJSON, nil); err != nil {
		t.Fatal(err)
	}
	return manifest, d.Bytes(), sn.Bytes()
}

// copyFixture opens a copy of f's store under the same node and
// publisher.
func copyFixture(t *testing.T, f *fixture) *fixture {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.db.Snapshot(out, func(int64) error { return nil }); err != nil {
		t.Fatal(err)
	}
	out.Close()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	g := &fixture{s: New(db, "node-a"), admin: f.admin, nl: f.nl, gb: f.gb, pl: f.pl, nl2: f.nl2}
	pub := *f.s.pub
	g.s.SetPublisher(&pub)
	g.s.now = f.s.now
	return g
}

// A first version built in steps — whole, or failing part-way and
// resumed from what was staged — serves the same bytes as one built in a
// single transaction; until it is published, nothing of it is visible.
func TestStagedFirstBuildSameBytes(t *testing.T) {
	f := newFixture(t)
	withPublisher(t, f)
	clock := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f.s.now = func() time.Time { return clock }
	if _, err := f.s.CreateList(f.admin, lists.List{Name: "one", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	var keys []hashes.Hash
	for i := range 700 {
		b := make([]byte, 16)
		rand.Read(b)
		h, _ := hashes.Parse("md5", hex.EncodeToString(b), nil)
		in := entries.Input{}
		if i%3 == 0 {
			in.Severity = entries.SeverityB
		}
		if _, _, err := f.s.Submit(f.nl, h, in); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, h)
	}
	for i := range 60 { // entries off the list
		if _, err := f.s.Retract(f.nl, keys[i*11].Key(), "test"); err != nil {
			t.Fatal(err)
		}
	}
	whole := copyFixture(t, f)
	whole.s.SetBuildChunk(0)
	staged := copyFixture(t, f)
	staged.s.SetBuildChunk(64)
	resumed := copyFixture(t, f)
	resumed.s.SetBuildChunk(50)

	mw, err := whole.s.BuildRelease(f.admin, "one")
	if err != nil {
		t.Fatal(err)
	}
	if mw.Entries != 640 {
		t.Fatalf("whole build: %d entries, want 640", mw.Entries)
	}
	wantM, wantD, wantS := whole.servedV1(t, "one")

	if _, err := staged.s.BuildRelease(f.admin, "one"); err != nil {
		t.Fatal(err)
	}
	gotM, gotD, gotS := staged.servedV1(t, "one")
	if !bytes.Equal(gotM, wantM) || !bytes.Equal(gotD, wantD) || !bytes.Equal(gotS, wantS) {
		t.Fatalf("staged build serves other bytes:\n%s\nwant\n%s", gotM, wantM)
	}

	// Stop the staged build after each step in turn: the list stays
	// unreleased, and the next build resumes it.
	steps := 0
	for {
		resumed.s.stagedStop = func() bool { return true }
		_, err := resumed.s.BuildRelease(f.admin, "one")
		resumed.s.stagedStop = nil
		if err == nil {
			break
		}
		if steps++; steps > 100 {
			t.Fatal("staged build never finishes")
		}
		if _, err := resumed.s.Releases("one"); err == nil {
			t.Fatalf("after step %d a release is visible", steps)
		}
		resumed.s.caches = nil // as after a restart
	}
	if steps < 10 {
		t.Fatalf("the build took %d steps, want more than 10 at 50 entries a step", steps)
	}
	gotM, gotD, gotS = resumed.servedV1(t, "one")
	if !bytes.Equal(gotM, wantM) || !bytes.Equal(gotD, wantD) || !bytes.Equal(gotS, wantS) {
		t.Fatalf("resumed build serves other bytes:\n%s\nwant\n%s", gotM, wantM)
	}
	// A build staged in another layout of its runs (no format counter,
	// as an older node left it) is started over, not resumed: here its
	// member count is off, which a resumed build would publish.
	stale := copyFixture(t, f)
	stale.s.SetBuildChunk(50)
	for range 3 {
		stale.s.stagedStop = func() bool { return true }
		if _, err := stale.s.BuildRelease(f.admin, "one"); err == nil {
			t.Fatal("a build of 700 entries in steps of 50 ended in 3 steps")
		}
	}
	stale.s.stagedStop = nil
	err = stale.s.db.Update(func(tx *store.Tx) error {
		ls, err := tx.ListState("one", false)
		if err != nil {
			return err
		}
		bs := ls.Build()
		if bs == nil || bs.Counter(bkFormat) != stagedFormat {
			t.Fatal("no staged build in the current layout")
		}
		if err := bs.SetCounter(bkCount, 12345); err != nil {
			return err
		}
		return bs.SetCounter(bkFormat, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	stale.s.caches = nil
	if _, err := stale.s.BuildRelease(f.admin, "one"); err != nil {
		t.Fatal(err)
	}
	gotM, gotD, gotS = stale.servedV1(t, "one")
	if !bytes.Equal(gotM, wantM) || !bytes.Equal(gotD, wantD) || !bytes.Equal(gotS, wantS) {
		t.Fatalf("a build staged in an older layout, started over, serves other bytes:\n%s\nwant\n%s", gotM, wantM)
	}
	// The next builds go on from the staged version as from any other.
	for _, g := range []*fixture{whole, staged, resumed} {
		for i := range 20 {
			g.s.Submit(g.gb, keys[100+i], entries.Input{Severity: entries.SeverityA})
		}
		m, err := g.s.BuildRelease(f.admin, "one")
		if err != nil {
			t.Fatal(err)
		}
		if root, n := g.snapshotRootOf(t, "one"); hex.EncodeToString(root[:]) != m.SetRoot || uint64(n) != m.Entries {
			t.Fatalf("version 2: manifest root %s (%d), recomputed %x (%d)", m.SetRoot, m.Entries, root, n)
		}
	}
}
