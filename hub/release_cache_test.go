package hub

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/setroot"
	"github.com/hashhub/hashhub/store"
)

// Bucket edits resume each bucket's digest from a saved SHA-256 state:
// over many rounds of random removals and additions, every digest equals
// the SHA-256 of the bucket's leaves hashed whole, the members stay in
// leaf order, and every mark is the state after its prefix.
func TestBucketMarks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	leaf := func() setroot.Hash {
		var h setroot.Hash
		for i := range h {
			h[i] = byte(rng.UintN(256))
		}
		return h
	}
	c := &listCache{}
	for round := range 60 {
		var gone []bucketLeaf
		var gained []bucketMember
		for _, b := range []uint16{0, 7, 65535} {
			var have []memberRec
			if c.buckets != nil {
				have = c.buckets[b]
			}
			// Remove a few, including the first and last leaves
			// sometimes; add more than are removed, so buckets grow
			// past several marks.
			for _, r := range have {
				if rng.UintN(8) == 0 {
					gone = append(gone, bucketLeaf{b, r.leaf})
				}
			}
			for range rng.UintN(40) {
				gained = append(gained, bucketMember{b, memberRec{leaf: leaf()}})
			}
		}
		slices.SortFunc(gone, func(x, y bucketLeaf) int { return cmpMember(x.b, &x.leaf, y.b, &y.leaf) })
		slices.SortFunc(gained, func(x, y bucketMember) int { return cmpMember(x.b, &x.rec.leaf, y.b, &y.rec.leaf) })
		bs, ds, err := c.apply(gone, gained)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range bs {
			members, marks := c.buckets[b], c.marks[b]
			var all []byte
			for k, r := range members {
				if k > 0 && bytes.Compare(members[k-1].leaf[:], r.leaf[:]) >= 0 {
					t.Fatalf("round %d bucket %d: members out of order at %d", round, b, k)
				}
				all = append(all, r.leaf[:]...)
			}
			if want := setroot.Hash(sha256.Sum256(all)); ds[i] != want {
				t.Fatalf("round %d bucket %d (%d leaves): digest %x, want %x", round, b, len(members), ds[i], want)
			}
			if len(marks) != len(members)/markEvery {
				t.Fatalf("round %d bucket %d: %d marks for %d leaves", round, b, len(marks), len(members))
			}
			for m, cv := range marks {
				h := sha256.New()
				h.Write(all[:(m+1)*markEvery*32])
				want, ok := chainValue(h, &hashScratch{})
				if !ok || cv != want {
					t.Fatalf("round %d bucket %d: mark %d is %x, want %x", round, b, m, cv, want)
				}
			}
		}
		c.published(uint64(round+1), "")
	}
	if n := len(c.buckets[7]); n < 5*markEvery {
		t.Fatalf("bucket 7 grew to only %d leaves: too few marks exercised", n)
	}
	// A leaf to remove that the bucket does not hold is an error.
	if _, _, err := c.apply([]bucketLeaf{{7, leaf()}}, nil); err == nil {
		t.Fatal("removing a leaf not in memory was accepted")
	}
}

// A build changes the buckets in memory before it commits; one whose
// transaction then fails leaves the cache invalid, and the next build
// rebuilds it from the stored members and publishes the right root.
func TestFailedBuildInvalidatesCache(t *testing.T) {
	f := newFixture(t)
	withPublisher(t, f)
	if _, err := f.s.CreateList(f.admin, lists.List{Name: "one", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	var keys []hashes.Hash
	for i := range 40 {
		h, _ := hashes.Parse("md5", fmt.Sprintf("%032x", i), nil)
		keys = append(keys, h)
		if _, _, err := f.s.Submit(f.nl, h, entries.Input{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.s.BuildRelease(f.admin, "one"); err != nil {
		t.Fatal(err)
	}
	for _, h := range keys[:10] {
		if _, err := f.s.Retract(f.nl, h.Key(), "test"); err != nil {
			t.Fatal(err)
		}
	}
	// Version 2's build, up to its last step, in a transaction that fails.
	cache := f.s.releaseCache("one")
	cache.mu.Lock()
	failed := errors.New("the disk is full")
	err := f.s.db.Update(func(tx *store.Tx) error {
		l, err := tx.List("one")
		if err != nil {
			return err
		}
		ls, err := tx.ListState("one", false)
		if err != nil {
			return err
		}
		if err := cache.ensure(ls); err != nil {
			return err
		}
		changes, err := f.s.collectChanges(tx, ls, l, cache, map[store.RecordRef]struct{}{})
		if err != nil {
			return err
		}
		if len(changes) != 10 {
			t.Errorf("%d changes, want 10", len(changes))
		}
		if _, err := f.s.publish(tx, ls, l, changes, cache, f.admin); err != nil {
			return err
		}
		return failed
	})
	cache.mu.Unlock()
	if !errors.Is(err, failed) {
		t.Fatalf("build: %v", err)
	}
	if cache.valid {
		t.Fatal("the cache is valid after a failed build changed it")
	}
	m, err := f.s.BuildRelease(f.admin, "one")
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 2 || m.Entries != 30 || m.Delta.Removes != 10 {
		t.Fatalf("version %d, %d entries, %d removes; want 2, 30, 10", m.Version, m.Entries, m.Delta.Removes)
	}
	if root, n := f.snapshotRootOf(t, "one"); hex.EncodeToString(root[:]) != m.SetRoot || n != 30 {
		t.Fatalf("manifest root %s, recomputed %x over %d entries", m.SetRoot, root, n)
	}
}
