package store

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// memberModel is what a list's members should read as.
type memberModel map[string][]byte

func (m memberModel) sortedKeys() []string { return slices.Sorted(maps.Keys(m)) }

// checkMembers compares every way of reading the members with the model.
func checkMembers(t *testing.T, db *DB, want memberModel, label string) {
	t.Helper()
	err := db.View(func(tx *Tx) error {
		ls, err := tx.ListState("l", false)
		if err != nil {
			return err
		}
		var got []string
		ls.MemberKeys(func(k, line []byte) bool {
			if !bytes.Equal(want[string(k)], line) {
				t.Errorf("%s: member %x reads %q, want %q", label, k, line, want[string(k)])
			}
			got = append(got, string(k))
			return true
		})
		if !slices.Equal(got, want.sortedKeys()) {
			t.Errorf("%s: %d members in order, want %d", label, len(got), len(want))
		}
		n := 0
		ls.Members(func([]byte) bool { n++; return true })
		if n != len(want) {
			t.Errorf("%s: Members gave %d lines, want %d", label, n, len(want))
		}
		for b := range 4 {
			var leaves []string
			ls.BucketMembers(uint16(b), func(leaf, line []byte) bool {
				k := string([]byte{0, byte(b)}) + string(leaf)
				if !bytes.Equal(want[k], line) {
					t.Errorf("%s: bucket %d member %x reads %q", label, b, k, line)
				}
				leaves = append(leaves, k)
				return true
			})
			var wantLeaves []string
			for _, k := range want.sortedKeys() {
				if k[1] == byte(b) {
					wantLeaves = append(wantLeaves, k)
				}
			}
			if !slices.Equal(leaves, wantLeaves) {
				t.Errorf("%s: bucket %d has %d members, want %d", label, b, len(leaves), len(wantLeaves))
			}
		}
		for k, line := range want {
			if !bytes.Equal(ls.MemberLine([]byte(k)), line) {
				t.Errorf("%s: MemberLine(%x) = %q", label, k, ls.MemberLine([]byte(k)))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Members written into the overlay — added, removed, re-added, removed
// again, in and out of the base — read the same as the model whether or
// not the overlay has been folded into the base.
func TestMemberOverlayReadsAsModel(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	key := func(i int) []byte {
		h := sha256.Sum256(fmt.Appendf(nil, "%d", i))
		return append([]byte{0, byte(i % 4)}, h[:]...)
	}
	line := func(i int) []byte { return fmt.Appendf(nil, `{"algo":"md5","value":"%032x"}`, i) }
	want := memberModel{}
	write := func(overlay bool, n int) {
		t.Helper()
		ops := map[string][]byte{}
		for range n {
			i := rng.IntN(300)
			k := string(key(i))
			if _, ok := ops[k]; ok {
				continue // one op per key in a build
			}
			if _, ok := want[k]; ok && rng.IntN(2) == 0 {
				ops[k] = nil
				delete(want, k)
			} else {
				ops[k] = line(i)
				want[k] = line(i)
			}
		}
		err := db.Update(func(tx *Tx) error {
			ls, err := tx.ListState("l", true)
			if err != nil {
				return err
			}
			seq := func(yield func(MemberOp) bool) {
				for _, k := range slices.Sorted(maps.Keys(ops)) {
					if !yield(MemberOp{Key: []byte(k), Line: ops[k]}) {
						return
					}
				}
			}
			got, err := ls.WriteMembers(seq, overlay)
			if got != len(ops) {
				t.Errorf("wrote %d ops, want %d", got, len(ops))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	compact := func() int {
		t.Helper()
		var n int
		err := db.Update(func(tx *Tx) error {
			ls, err := tx.ListState("l", false)
			if err != nil {
				return err
			}
			if n, err = ls.CompactMembers(); err != nil {
				return err
			}
			if ls.OverlayOps() != 0 || ls.b.Bucket(lsOverlay) != nil {
				t.Error("overlay left after compaction")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// foldChunks folds the overlay 7 keys per transaction, checking the
	// members as read after each.
	foldChunks := func(round int) {
		t.Helper()
		for chunk := 0; ; chunk++ {
			var n int
			var left uint64
			err := db.Update(func(tx *Tx) error {
				ls, err := tx.ListState("l", false)
				if err != nil {
					return err
				}
				n, err = ls.FoldMembers(7)
				left = ls.OverlayOps()
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			checkMembers(t, db, want, fmt.Sprintf("round %d, chunk %d", round, chunk))
			if n > 7 || (n < 7 && left != 0) {
				t.Fatalf("round %d chunk %d: moved %d keys, %d writes left", round, chunk, n, left)
			}
			if left == 0 {
				return
			}
		}
	}
	write(false, 150) // a base, as version 1 writes it
	checkMembers(t, db, want, "base only")
	runs := func() int {
		t.Helper()
		var n int
		if err := db.View(func(tx *Tx) error {
			ls, err := tx.ListState("l", false)
			n = ls.OverlayRuns()
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for round := range 6 {
		before := runs()
		write(true, 60)
		checkMembers(t, db, want, fmt.Sprintf("round %d, overlay", round))
		if after := runs(); after != before+1 {
			t.Fatalf("round %d: %d runs after a write to %d", round, after, before)
		}
		if round == 4 {
			foldChunks(round)
			continue
		}
		if round%2 == 1 {
			if n := compact(); n == 0 {
				t.Errorf("round %d: nothing folded", round)
			}
			checkMembers(t, db, want, fmt.Sprintf("round %d, compacted", round))
		}
	}
	// A write with no ops (a heartbeat release) makes no run.
	before := runs()
	if err := db.Update(func(tx *Tx) error {
		ls, _ := tx.ListState("l", false)
		_, err := ls.WriteMembers(func(func(MemberOp) bool) {}, true)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if after := runs(); after != before {
		t.Fatalf("an empty write made a run: %d runs, was %d", after, before)
	}
	// The base takes direct writes only with an empty overlay.
	write(true, 10)
	err = db.Update(func(tx *Tx) error {
		ls, _ := tx.ListState("l", false)
		_, err := ls.WriteMembers(func(func(MemberOp) bool) {}, false)
		return err
	})
	if err == nil {
		t.Error("a direct write with a non-empty overlay was accepted")
	}
	// Ops out of order are refused.
	err = db.Update(func(tx *Tx) error {
		ls, _ := tx.ListState("l", false)
		_, err := ls.WriteMembers(slices.Values([]MemberOp{{Key: key(2), Line: line(2)}, {Key: key(1), Line: line(1)}}), true)
		return err
	})
	if err == nil {
		t.Error("ops out of key order were accepted")
	}
	checkMembers(t, db, want, "after refused writes")
}
