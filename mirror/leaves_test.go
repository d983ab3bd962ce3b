package mirror

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/hashhub/hashhub/setroot"
)

// TestLeafBufMatchesLeafSet changes a bucket's stored value in place, as a
// delta does, and checks it against the same changes made to the decoded
// leaves and encoded again: the same bytes and the same bucket digest,
// through growth past the spare room and down to empty.
func TestLeafBufMatchesLeafSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	randLeaf := func() setroot.Hash {
		var h setroot.Hash
		for i := range h {
			h[i] = byte(rng.Uint32())
		}
		return h
	}
	ref := &leafSet{}
	for range 50 {
		l := randLeaf()
		i, _ := ref.search(l)
		ref.leaves = append(ref.leaves[:i], append([]setroot.Hash{l}, ref.leaves[i:]...)...)
		ref.fps = append(ref.fps[:i], append([]uint64{rng.Uint64()}, ref.fps[i:]...)...)
	}
	buf, err := newLeafBuf(ref.encode())
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		if got, want := buf.b[:40*buf.n], ref.encode(); !bytes.Equal(got, want) {
			t.Fatalf("%s: leafBuf holds %x, want %x", step, got, want)
		}
		if buf.digest() != ref.digest() {
			t.Fatalf("%s: digest differs", step)
		}
	}
	check("copied")
	for round := range 400 {
		if rng.IntN(3) > 0 || len(ref.leaves) == 0 && round < 300 {
			l, fp := randLeaf(), rng.Uint64()
			i, _ := ref.search(l)
			ref.leaves = append(ref.leaves[:i], append([]setroot.Hash{l}, ref.leaves[i:]...)...)
			ref.fps = append(ref.fps[:i], append([]uint64{fp}, ref.fps[i:]...)...)
			buf.insert(&l, fp)
			check("insert")
			continue
		}
		if len(ref.leaves) == 0 {
			continue
		}
		i := rng.IntN(len(ref.leaves))
		if j, ok := buf.search(&ref.leaves[i]); !ok || j != i {
			t.Fatalf("search found %d %v, want %d", j, ok, i)
		}
		if buf.fp(i) != ref.fps[i] {
			t.Fatalf("fingerprint %d differs", i)
		}
		ref.remove(i)
		buf.remove(i)
		check("remove")
	}
	for len(ref.leaves) > 0 {
		ref.remove(0)
		buf.remove(0)
		check("emptying")
	}
	if buf.digest() != setroot.EmptyBucket() {
		t.Fatal("an emptied bucket's digest is not the empty bucket's")
	}
}
