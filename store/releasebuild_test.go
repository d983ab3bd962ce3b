package store

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMergeRunsReadsBlocks writes runs of many blocks, with keys repeated
// across runs, and merges them from every kind of starting point: the
// merge gives each key once, from the latest run, in order, from the
// first key after the one given, whether that key is a block's first, in
// the middle of a block, between runs' keys, before all or after all.
func TestMergeRunsReadsBlocks(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	want := map[string]string{}     // key → value of the latest run
	blockFirst := map[string]bool{} // keys that start a block
	var firsts []string
	for run := range 5 {
		keys := map[string]bool{}
		for range 2000 + rng.IntN(3000) {
			keys[fmt.Sprintf("k%06d", rng.IntN(20000))] = true
		}
		sorted := slices.Sorted(maps.Keys(keys))
		// Values large enough that a run spans several blocks.
		val := func(k string) string { return fmt.Sprintf("%s@%d%s", k, run, bytes.Repeat([]byte{'v'}, 40+len(k)%7)) }
		err := db.Update(func(tx *Tx) error {
			ls, err := tx.ListState("l", true)
			if err != nil {
				return err
			}
			bs := ls.Build()
			if bs == nil {
				if bs, err = ls.StartBuild(); err != nil {
					return err
				}
			}
			_, err = bs.PutRun(RunMembers, func(yield func(k, v []byte) bool) {
				kb := []byte{}
				for _, k := range sorted {
					kb = append(kb[:0], k...) // reused, as callers do
					if !yield(kb, []byte(val(k))) {
						return
					}
				}
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range sorted {
			want[k] = val(k)
		}
		at := 0
		for i, k := range sorted {
			if i == 0 || at >= runBlock {
				blockFirst[k], at = true, 0
				firsts = append(firsts, k)
			}
			at += len(k) + len(val(k)) + 2
		}
	}
	if len(firsts) < 10 {
		t.Fatalf("%d blocks in all: the runs should span several blocks each", len(firsts))
	}
	all := slices.Sorted(maps.Keys(want))
	merge := func(after []byte, limit int) (keys []string) {
		t.Helper()
		err := db.View(func(tx *Tx) error {
			ls, err := tx.ListState("l", false)
			if err != nil {
				return err
			}
			return ls.Build().MergeRuns(RunMembers, after, func(k, v []byte) bool {
				if want[string(k)] != string(v) {
					t.Errorf("key %s reads %q, want %q", k, v, want[string(k)])
				}
				keys = append(keys, string(k))
				return len(keys) < limit
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if got := merge(nil, len(all)+1); !slices.Equal(got, all) {
		t.Fatalf("merge from the start gave %d keys, want %d", len(got), len(all))
	}
	afters := []string{"a", "z", all[len(all)-1], "k010000x"}
	afters = append(afters, firsts[:3]...)
	for range 30 {
		afters = append(afters, all[rng.IntN(len(all))])
	}
	for _, after := range afters {
		i, _ := slices.BinarySearch(all, after)
		if i < len(all) && all[i] == after {
			i++
		}
		limit := 1 + rng.IntN(500)
		wantKeys := all[i:min(len(all), i+limit)]
		if got := merge([]byte(after), limit); !slices.Equal(got, wantKeys) {
			t.Errorf("merge after %q (block first: %v) gave %d keys from %v, want %d", after, blockFirst[after], len(got), got[:min(1, len(got))], len(wantKeys))
		}
	}
	// A run must come in ascending order.
	err = db.Update(func(tx *Tx) error {
		ls, _ := tx.ListState("l", false)
		_, err := ls.Build().PutRun(RunDelta, func(yield func(k, v []byte) bool) {
			_ = yield([]byte("b"), nil) && yield([]byte("a"), nil)
		})
		if err == nil {
			t.Error("a run out of order was stored")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
