package hub

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/translog"
)

func withPublisher(t *testing.T, f *fixture) *release.Verifier {
	t.Helper()
	rk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, lk, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := release.NewSigner(rk)
	if err != nil {
		t.Fatal(err)
	}
	logSigner, err := translog.NewSigner("hashhub/node-a", lk)
	if err != nil {
		t.Fatal(err)
	}
	f.s.SetPublisher(&Publisher{Signer: signer, Log: logSigner, Retention: 3})
	v, err := release.NewVerifier(signer.PublicKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) delta(t *testing.T, from, to uint64) string {
	t.Helper()
	var b bytes.Buffer
	if err := f.s.WriteDelta(&b, "two-orgs", from, to, NDJSON); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func (f *fixture) snapshotRoot(t *testing.T) (setroot.Hash, int) {
	t.Helper()
	return f.snapshotRootOf(t, "two-orgs")
}

// snapshotRootOf recomputes a list's set root from its snapshot.
func (f *fixture) snapshotRootOf(t *testing.T, name string) (setroot.Hash, int) {
	t.Helper()
	var b bytes.Buffer
	if err := f.s.WriteSnapshot(&b, name, 0, NDJSON, nil); err != nil {
		t.Fatal(err)
	}
	return setroot.Compute(func(yield func(string, []byte) bool) {
		for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
			if line == "" {
				continue
			}
			it, err := release.ParseItem([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			if !yield(it.Key(), []byte(line)) {
				return
			}
		}
	})
}

func TestReleasesFollowPolicyAndChain(t *testing.T) {
	f := newFixture(t)
	verifier := withPublisher(t, f)
	h1, _ := hashes.Parse("md5", strings.Repeat("11", 16), nil)
	h2, _ := hashes.Parse("sha1", strings.Repeat("22", 20), nil)
	for _, h := range []hashes.Hash{h1, h2} {
		f.s.Submit(f.nl, h, entries.Input{Severity: "B"})
		f.s.Assess(f.gb, h.Key(), entries.Input{Verdict: entries.Illegal})
	}
	// An entry short of the policy is not released.
	h3, _ := hashes.Parse("md5", strings.Repeat("33", 16), nil)
	f.s.Submit(f.nl, h3, entries.Input{})

	m1, err := f.s.BuildRelease(f.admin, "two-orgs")
	if err != nil {
		t.Fatal(err)
	}
	if m1.Version != 1 || m1.Entries != 2 || m1.Delta.Adds != 2 || m1.Previous != "" || m1.LogIndex != 0 {
		t.Fatalf("v1: %+v", m1)
	}
	d1 := f.delta(t, 0, 1)
	if release.Digest([]byte(d1)) != m1.Delta.SHA256 || int64(len(d1)) != m1.Delta.Bytes {
		t.Fatalf("delta 1 digest mismatch:\n%s", d1)
	}
	root, n := f.snapshotRoot(t)
	if hex.EncodeToString(root[:]) != m1.SetRoot || n != 2 {
		t.Fatalf("snapshot root %x (%d entries), manifest %s", root, n, m1.SetRoot)
	}
	raw1, sig1, err := f.s.Manifest("two-orgs", 1)
	if err != nil || verifier.Verify(raw1, sig1) != nil {
		t.Fatalf("manifest 1 signature: %v", err)
	}

	// v2: h3 qualifies, h1 is disputed (leaves), h2's severity changes.
	f.s.Assess(f.gb, h3.Key(), entries.Input{Verdict: entries.Illegal})
	if _, _, err := f.s.Assess(f.gb, h1.Key(), entries.Input{Verdict: entries.NotIllegal}); err != nil {
		t.Fatal(err)
	}
	f.s.Assess(f.gb, h2.Key(), entries.Input{Verdict: entries.Illegal, Severity: "A"})
	m2, err := f.s.BuildRelease(f.admin, "two-orgs")
	if err != nil {
		t.Fatal(err)
	}
	if m2.Version != 2 || m2.Entries != 2 || m2.Delta.Adds != 1 || m2.Delta.Removes != 1 || m2.Delta.Updates != 1 {
		t.Fatalf("v2: %+v", m2.Delta)
	}
	if m2.Previous != release.Digest(raw1) || m2.LogIndex != 1 {
		t.Fatalf("v2 chain: previous %s log %d", m2.Previous, m2.LogIndex)
	}
	want2 := `{"op":"remove","algo":"md5","value":"` + strings.Repeat("11", 16) + `"}` + "\n" +
		`{"op":"add","algo":"md5","value":"` + strings.Repeat("33", 16) + `"}` + "\n" +
		`{"op":"update","algo":"sha1","value":"` + strings.Repeat("22", 20) + `","severity":"A"}` + "\n"
	if d := f.delta(t, 1, 2); d != want2 {
		t.Fatalf("delta 2:\n%s\nwant\n%s", d, want2)
	}
	root, n = f.snapshotRoot(t)
	if hex.EncodeToString(root[:]) != m2.SetRoot || n != 2 {
		t.Fatalf("v2 snapshot root mismatch")
	}
	// Compacted 0→2 is the whole list; 1→2 equals the single step.
	if d := f.delta(t, 0, 2); strings.Count(d, `"op":"add"`) != 2 {
		t.Fatalf("delta 0→2:\n%s", d)
	}

	// v3 with no change: empty delta, same root, chain goes on.
	m3, _ := f.s.BuildRelease(f.admin, "two-orgs")
	if m3.Delta.Bytes != 0 || m3.SetRoot != m2.SetRoot || m3.Version != 3 {
		t.Fatalf("v3: %+v", m3)
	}
	// Compaction across versions: the removed h1 comes back in v4.
	// (Upholding sets GB's not_illegal aside; GB's own earlier illegal
	// verdict was replaced by it, so GB assesses again.)
	if _, err := f.s.ResolveDispute(f.nl, mustOpenDispute(t, f, h1.Key()), entries.DisputeUpheld, "illegal"); err != nil {
		t.Fatal(err)
	}
	f.s.Assess(f.gb, h1.Key(), entries.Input{Verdict: entries.Illegal, Severity: "B"})
	f.s.BuildRelease(f.admin, "two-orgs")
	if d := f.delta(t, 1, 4); !strings.Contains(d, `{"op":"update","algo":"md5","value":"`+strings.Repeat("11", 16)) {
		t.Fatalf("compacted 1→4 should update h1 (present at 1 and 4):\n%s", d)
	}
	// Retention 3: version 5 drops delta 2; from=1 is then gone.
	f.s.BuildRelease(f.admin, "two-orgs")
	if _, err := f.s.DeltaRange("two-orgs", 1, 0); !errors.Is(err, ErrVersionGone) {
		t.Fatalf("from=1 after retention: %v", err)
	}
	if _, err := f.s.DeltaRange("two-orgs", 2, 0); err != nil {
		t.Fatalf("from=2: %v", err)
	}
	if _, err := f.s.DeltaRange("two-orgs", 9, 0); !errors.Is(err, ErrVersionTooNew) {
		t.Fatalf("from=9: %v", err)
	}
	if err := f.s.WriteSnapshot(&bytes.Buffer{}, "two-orgs", 2, NDJSON, nil); !errors.Is(err, ErrVersionGone) {
		t.Fatalf("old snapshot: %v", err)
	}

	// Every manifest is in the log, and the checkpoint covers them.
	cpRaw, err := f.s.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	cp, err := translog.OpenCheckpoint(cpRaw, f.s.LogVerifierKey())
	if err != nil || cp.Size != 5 {
		t.Fatalf("checkpoint: %+v %v", cp, err)
	}
	for v := uint64(1); v <= 5; v++ {
		raw, _, _ := f.s.Manifest("two-orgs", v)
		m, _ := release.ParseManifest(raw)
		p, err := f.s.InclusionProof(m.LogIndex, cp.Size)
		if err != nil || translog.VerifyInclusion(cp, m.LogIndex, raw, p) != nil {
			t.Fatalf("manifest %d not provably in the log: %v", v, err)
		}
	}
	if n, err := VerifyAudit(f.s.db); err != nil || n == 0 {
		t.Fatal(n, err)
	}
}

func mustOpenDispute(t *testing.T, f *fixture, key string) string {
	t.Helper()
	e, err := f.s.Entry(key)
	if err != nil || len(e.OpenDisputes) != 1 {
		t.Fatalf("open disputes of %s: %v %v", key, e, err)
	}
	return e.OpenDisputes[0]
}

// TestReleaseRootMatchesFromScratch builds several releases over random
// changes and checks the incrementally maintained root against a full
// recomputation every time.
func TestReleaseRootMatchesFromScratch(t *testing.T) {
	f := newFixture(t)
	withPublisher(t, f)
	f.s.SetPublisher(&Publisher{Signer: f.s.pub.Signer, Log: f.s.pub.Log})
	if _, err := f.s.CreateList(f.admin, lists.List{Name: "one", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	var keys []hashes.Hash
	for round := 0; round < 5; round++ {
		for i := 0; i < 300; i++ {
			b := make([]byte, 16)
			rand.Read(b)
			h, _ := hashes.Parse("md5", hex.EncodeToString(b), nil)
			f.s.Submit(f.nl, h, entries.Input{})
			keys = append(keys, h)
		}
		for i := 0; i < 50; i++ {
			f.s.Retract(f.nl, keys[(round*97+i*13)%len(keys)].Key(), "test")
		}
		// Severity updates by a second organisation: a member moves within
		// its bucket.
		for i := 0; i < 40; i++ {
			f.s.Submit(f.gb, keys[(round*31+i*7)%len(keys)], entries.Input{Severity: entries.SeverityA})
		}
		if round%2 == 1 {
			// As after a restart: the next build rebuilds its buckets
			// from the stored members.
			f.s.caches = nil
		}
		m, err := f.s.BuildRelease(f.admin, "one")
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		f.s.WriteSnapshot(&b, "one", 0, NDJSON, nil)
		root, n := setroot.Compute(func(yield func(string, []byte) bool) {
			for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
				it, _ := release.ParseItem([]byte(line))
				if !yield(it.Key(), []byte(line)) {
					return
				}
			}
		})
		if hex.EncodeToString(root[:]) != m.SetRoot || uint64(n) != m.Entries {
			t.Fatalf("round %d: manifest root %s (%d), recomputed %x (%d)", round, m.SetRoot, m.Entries, root, n)
		}
	}
	var _ = store.ErrNotFound
}

func TestScheduledReleases(t *testing.T) {
	f := newFixture(t)
	withPublisher(t, f)
	clock := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	f.s.now = func() time.Time { return clock }
	// A list never released is due.
	ms, err := f.s.ScheduledReleases()
	if err != nil || len(ms) != 1 || ms[0].Version != 1 {
		t.Fatalf("first run: %v %v", ms, err)
	}
	// Nothing changed, manifest fresh: not due.
	if ms, err := f.s.ScheduledReleases(); err != nil || len(ms) != 0 {
		t.Fatalf("idle run released %d", len(ms))
	}
	// A change to an entry that is not on the list (one organisation of
	// the two it needs) publishes nothing…
	h, _ := hashes.Parse("md5", strings.Repeat("44", 16), nil)
	f.s.Submit(f.nl, h, entries.Input{})
	if ms, err := f.s.ScheduledReleases(); err != nil || len(ms) != 0 {
		t.Fatalf("a change off the list released %v (%v)", ms, err)
	}
	// …one that puts it on the list does.
	f.s.Submit(f.gb, h, entries.Input{})
	if ms, _ := f.s.ScheduledReleases(); len(ms) != 1 || ms[0].Version != 2 || ms[0].Delta.Adds != 1 {
		t.Fatalf("after a change: %v", ms)
	}
	// A retraction that leaves the line as it was still publishes (peers
	// need the signed retraction).
	f.s.SetRecordKey(testRecordKey)
	de, err := f.s.CreateOrg(f.admin, orgs.Org{Name: "Hotline DE", Kind: orgs.Hotline, Jurisdiction: "DE"})
	if err != nil {
		t.Fatal(err)
	}
	du, err := f.s.CreateUser(f.admin, de.ID, "analyst")
	if err != nil {
		t.Fatal(err)
	}
	deActor := Actor{User: du.User.ID, Org: de.ID, Role: orgs.Hotline, Jurisdiction: "DE"}
	f.s.Submit(deActor, h, entries.Input{})
	if ms, _ := f.s.ScheduledReleases(); len(ms) != 1 || ms[0].Version != 3 {
		t.Fatalf("after a third assessment: %v", ms)
	}
	if _, err := f.s.Retract(deActor, h.Key(), "second look"); err != nil {
		t.Fatal(err)
	}
	if ms, _ := f.s.ScheduledReleases(); len(ms) != 1 || ms[0].Version != 4 || ms[0].Delta.Bytes != 0 {
		t.Fatalf("after a retraction that changes no line: %v", ms)
	}
	// Past half the expiry with no change: a heartbeat release.
	clock = clock.Add(DefaultExpiry/2 + time.Minute)
	if ms, _ := f.s.ScheduledReleases(); len(ms) != 1 || ms[0].Version != 5 || ms[0].Delta.Bytes != 0 {
		t.Fatalf("heartbeat: %v", ms)
	}
	n, _ := f.s.AuditEvents(0, 1000)
	if n[len(n)-1].Actor.User != "system" || n[len(n)-1].Action != "release.build" {
		t.Fatalf("scheduled release audited as %+v", n[len(n)-1])
	}
}

func TestReleaseTimeNeverGoesBack(t *testing.T) {
	f := newFixture(t)
	withPublisher(t, f)
	clock := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f.s.now = func() time.Time { return clock }
	m1, _ := f.s.BuildRelease(f.admin, "two-orgs")
	clock = clock.Add(-time.Hour) // the node's clock steps back
	m2, err := f.s.BuildRelease(f.admin, "two-orgs")
	if err != nil {
		t.Fatal(err)
	}
	if m2.CreatedTime().Before(m1.CreatedTime()) {
		t.Fatalf("version 2 created %s, before version 1 %s", m2.Created, m1.Created)
	}
}

var testRecordKey = func() ed25519.PrivateKey { _, k, _ := ed25519.GenerateKey(rand.Reader); return k }()

// A build finds an entry's member by its key's bucket and fingerprint
// alone: among keys that share a bucket, each finds its own member, and a
// key that is not a member finds none.
func TestReleaseCacheFindsByFingerprint(t *testing.T) {
	// Keys that share a bucket: about one in 65,536 does.
	var keys []string
	want, _ := keyBucket("md5:00000000000000000000000000000000")
	for i := 0; len(keys) < 4; i++ {
		k := fmt.Sprintf("md5:%032x", i)
		if b, _ := keyBucket(k); b == want {
			keys = append(keys, k)
		}
	}
	c := &listCache{buckets: make([][]memberRec, setroot.Buckets)}
	leaves := map[string]setroot.Hash{}
	for _, k := range keys[:3] {
		_, fp := keyBucket(k)
		leaves[k] = setroot.LeafHash([]byte(k))
		c.buckets[want] = append(c.buckets[want], memberRec{leaf: leaves[k], fp: fp})
	}
	seen := map[keyFP]bool{}
	for _, k := range keys {
		b, fp := keyBucket(k)
		if seen[fp] {
			t.Fatalf("two keys of bucket %d share fingerprint %x", b, fp)
		}
		seen[fp] = true
		leaf, ok := c.find(b, fp)
		if l, member := leaves[k]; ok != member || leaf != l {
			t.Errorf("find(%s) = %x, %v; want %x, %v", k, leaf, ok, l, member)
		}
	}
}

// overlayOps reads how many member writes a list's overlay holds.
func (f *fixture) overlayOps(t *testing.T, name string) uint64 {
	t.Helper()
	n, err := f.s.OverlayWrites(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// served is every byte a reader can get of a list's latest version.
func (f *fixture) served(t *testing.T, name string, keys []hashes.Hash) string {
	t.Helper()
	var b bytes.Buffer
	ri, err := f.s.Releases(name)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "%+v\n", *ri)
	for _, format := range []DeltaFormat{NDJSON, CSV} {
		if err := f.s.WriteSnapshot(&b, name, 0, format, nil); err != nil {
			t.Fatal(err)
		}
		for _, r := range [][2]uint64{{ri.Latest - 1, ri.Latest}, {0, ri.Latest}, {1, ri.Latest}} {
			if err := f.s.WriteDelta(&b, name, r[0], r[1], format); err != nil {
				t.Fatal(err)
			}
		}
	}
	m, sig, err := f.s.Manifest(name, ri.Latest)
	if err != nil {
		t.Fatal(err)
	}
	b.Write(m)
	b.Write(sig)
	for _, k := range keys {
		p, err := f.s.ProveEntry(name, k.Key())
		if errors.Is(err, ErrNotInList) {
			fmt.Fprintf(&b, "%s not in list\n", k.Key())
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%+v\n", *p)
	}
	return b.String()
}

// Members live in a base and an overlay of the writes since the last
// compaction; folding the overlay into the base changes no byte a reader
// gets — snapshot, deltas, manifest, proofs — and the builds after it
// keep matching a from-scratch root.
func TestReleaseBytesSameAcrossCompaction(t *testing.T) {
	f := newFixture(t)
	withPublisher(t, f)
	f.s.pub.OverlayLimit = 1 << 30 // compaction only when the test asks
	f.s.pub.Retention = 100        // every delta kept: compacted ranges too
	if _, err := f.s.CreateList(f.admin, lists.List{Name: "one", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	var keys []hashes.Hash
	for round := range 6 {
		for range 200 {
			b := make([]byte, 16)
			rand.Read(b)
			h, _ := hashes.Parse("md5", hex.EncodeToString(b), nil)
			f.s.Submit(f.nl, h, entries.Input{})
			keys = append(keys, h)
		}
		for i := range 30 {
			f.s.Retract(f.nl, keys[(round*97+i*13)%len(keys)].Key(), "test")
		}
		for i := range 30 {
			f.s.Submit(f.gb, keys[(round*31+i*7)%len(keys)], entries.Input{Severity: entries.SeverityA})
		}
		if round == 3 {
			f.s.caches = nil // a restart: the cache is rebuilt from base + overlay
		}
		m, err := f.s.BuildRelease(f.admin, "one")
		if err != nil {
			t.Fatal(err)
		}
		if root, n := f.snapshotRootOf(t, "one"); hex.EncodeToString(root[:]) != m.SetRoot || uint64(n) != m.Entries {
			t.Fatalf("round %d: manifest root %s (%d), recomputed %x (%d)", round, m.SetRoot, m.Entries, root, n)
		}
		if f.overlayOps(t, "one") == 0 {
			t.Fatalf("round %d: the build wrote no overlay", round)
		}
		if round%2 == 0 {
			continue // the next build writes onto this overlay
		}
		before := f.served(t, "one", keys[:40])
		n, err := f.s.CompactMembers(t.Context(), "one")
		if err != nil || n == 0 {
			t.Fatalf("round %d: compaction folded %d: %v", round, n, err)
		}
		if f.overlayOps(t, "one") != 0 {
			t.Fatalf("round %d: overlay not empty after compaction", round)
		}
		if after := f.served(t, "one", keys[:40]); after != before {
			t.Fatalf("round %d: bytes served changed across compaction", round)
		}
	}
}

// A list's overlay is folded once it reaches the limit: by FoldDue (the
// node runs it after builds), in chunks, or by a build that finds it at
// four times the limit.
func TestReleaseOverlayLimit(t *testing.T) {
	f := newFixture(t)
	withPublisher(t, f)
	f.s.pub.OverlayLimit = 20
	if _, err := f.s.CreateList(f.admin, lists.List{Name: "one", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	submit := func(n int) {
		for range n {
			b := make([]byte, 16)
			rand.Read(b)
			h, _ := hashes.Parse("md5", hex.EncodeToString(b), nil)
			if _, _, err := f.s.Submit(f.nl, h, entries.Input{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	build := func() *release.Manifest {
		m, err := f.s.BuildRelease(f.admin, "one")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	fold := func() int {
		n, err := f.s.FoldDue(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	submit(30) // more than the limit: straight into the base
	build()
	if n := f.overlayOps(t, "one"); n != 0 {
		t.Fatalf("version 1 left %d writes in the overlay", n)
	}
	submit(15)
	build()
	if n := fold(); n != 0 || f.overlayOps(t, "one") != 15 {
		t.Fatalf("FoldDue under the limit folded %d keys, left %d writes", n, f.overlayOps(t, "one"))
	}
	submit(15)
	build()
	if n := fold(); n != 30 || f.overlayOps(t, "one") != 0 {
		t.Fatalf("FoldDue over the limit folded %d keys (want 30), left %d writes", n, f.overlayOps(t, "one"))
	}
	// Without FoldDue, builds let the overlay grow to four times the
	// limit; the build that finds it there folds it first.
	for range 5 {
		submit(18) // under the limit: into the overlay
		build()
	}
	if n := f.overlayOps(t, "one"); n != 90 {
		t.Fatalf("overlay holds %d writes, want 90", n)
	}
	submit(10)
	m := build()
	if n := f.overlayOps(t, "one"); n != 10 {
		t.Fatalf("overlay holds %d writes after a folding build, want 10", n)
	}
	if root, n := f.snapshotRootOf(t, "one"); hex.EncodeToString(root[:]) != m.SetRoot || uint64(n) != m.Entries || n != 160 {
		t.Fatalf("manifest root %s (%d), recomputed %x (%d)", m.SetRoot, m.Entries, root, n)
	}
}

// An overlay of many small builds is folded once it holds
// DefaultOverlayRuns runs, however few writes they hold.
func TestReleaseOverlayRunsLimit(t *testing.T) {
	f := newFixture(t)
	withPublisher(t, f)
	f.s.pub.OverlayRuns = 3
	if _, err := f.s.CreateList(f.admin, lists.List{Name: "one", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	var m *release.Manifest
	for i := range 4 {
		h, _ := hashes.Parse("md5", fmt.Sprintf("%032x", i), nil)
		if _, _, err := f.s.Submit(f.nl, h, entries.Input{}); err != nil {
			t.Fatal(err)
		}
		var err error
		if m, err = f.s.BuildRelease(f.admin, "one"); err != nil {
			t.Fatal(err)
		}
		n, err := f.s.FoldDue(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// Each version is a run of one write; the third run is folded.
		if want := map[int]int{2: 3}[i]; n != want {
			t.Fatalf("after version %d FoldDue folded %d keys, want %d", i+1, n, want)
		}
	}
	if w := f.overlayOps(t, "one"); w != 1 {
		t.Fatalf("overlay holds %d writes, want version 4's one", w)
	}
	if root, n := f.snapshotRootOf(t, "one"); hex.EncodeToString(root[:]) != m.SetRoot || n != 4 {
		t.Fatalf("manifest root %s, recomputed %x over %d entries", m.SetRoot, root, n)
	}
}

// Folds run beside builds (the node folds in the background): whatever
// the interleaving, every release's root is the root of what its snapshot
// serves, and the overlay ends empty once folded.
func TestFoldsBesideBuilds(t *testing.T) {
	f := newFixture(t)
	withPublisher(t, f)
	f.s.pub.OverlayLimit, f.s.pub.OverlayRuns = 15, 3
	if _, err := f.s.CreateList(f.admin, lists.List{Name: "one", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	folded := make(chan int)
	go func() {
		total := 0
		for {
			select {
			case <-stop:
				folded <- total
				return
			default:
			}
			n, err := f.s.FoldDue(t.Context())
			if err != nil {
				t.Error(err)
			}
			total += n
		}
	}()
	var keys []string
	for round := range 25 {
		for i := range 6 {
			h, _ := hashes.Parse("md5", fmt.Sprintf("%030x%02x", round, i), nil)
			if _, _, err := f.s.Submit(f.nl, h, entries.Input{}); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, h.Key())
		}
		if round > 0 { // retract an entry of an earlier round
			if _, err := f.s.Retract(f.nl, keys[(round-1)*6+round%6], "test"); err != nil {
				t.Fatal(err)
			}
		}
		m, err := f.s.BuildRelease(f.admin, "one")
		if err != nil {
			t.Fatal(err)
		}
		if root, n := f.snapshotRootOf(t, "one"); hex.EncodeToString(root[:]) != m.SetRoot || uint64(n) != m.Entries {
			t.Fatalf("version %d: manifest root %s (%d entries), snapshot %x (%d)", m.Version, m.SetRoot, m.Entries, root, n)
		}
	}
	close(stop)
	if n := <-folded; n == 0 {
		t.Fatal("no fold ran beside the builds")
	}
	if _, err := f.s.CompactMembers(t.Context(), "one"); err != nil {
		t.Fatal(err)
	}
	if w := f.overlayOps(t, "one"); w != 0 {
		t.Fatalf("overlay holds %d writes after a full fold", w)
	}
}
