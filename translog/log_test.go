package translog

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// refLeafHash and refNodeHash are RFC 6962 §2.1 written out with
// crypto/sha256 alone, so the reference root below shares no code with tlog.
func refLeafHash(data []byte) tlog.Hash {
	return sha256.Sum256(append([]byte{0x00}, data...))
}

func refNodeHash(l, r tlog.Hash) tlog.Hash {
	b := append([]byte{0x01}, l[:]...)
	return sha256.Sum256(append(b, r[:]...))
}

// refRoot is the RFC 6962 Merkle tree hash MTH(D[n]) by direct recursion.
func refRoot(leaves [][]byte) tlog.Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return refLeafHash(leaves[0])
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return refNodeHash(refRoot(leaves[:k]), refRoot(leaves[k:]))
}

// sliceHashes is an independent tlog.HashReader: stored hashes kept in a
// plain slice, filled by tlog.StoredHashes directly rather than by Append.
type sliceHashes []tlog.Hash

func (s *sliceHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(*s)) {
			return nil, fmt.Errorf("hash %d not stored", x)
		}
		out[i] = (*s)[x]
	}
	return out, nil
}

func leafData(i int) []byte {
	return fmt.Appendf(nil, `{"list":"test","version":%d}`, i+1)
}

// buildLog appends leaves 0..n-1 made by data and returns the storage and
// the leaves.
func buildLog(t testing.TB, n int, data func(int) []byte) (*MemStorage, [][]byte) {
	t.Helper()
	s := NewMemStorage()
	var leaves [][]byte
	for i := range n {
		d := data(i)
		idx, err := Append(s, d)
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		if idx != int64(i) {
			t.Fatalf("Append %d returned index %d", i, idx)
		}
		leaves = append(leaves, d)
	}
	return s, leaves
}

// sample picks the indexes in [lo, hi) worth checking: all of them for
// small ranges, otherwise the edges, the powers of two around which the
// tree's shape changes, and a few random ones.
func sample(r *rand.Rand, lo, hi int64) []int64 {
	if hi-lo <= 48 {
		var out []int64
		for x := lo; x < hi; x++ {
			out = append(out, x)
		}
		return out
	}
	out := []int64{lo, lo + 1, hi - 2, hi - 1, (lo + hi) / 2}
	for p := int64(1); p < hi; p *= 2 {
		for _, x := range []int64{p - 1, p, p + 1} {
			if x >= lo && x < hi {
				out = append(out, x)
			}
		}
	}
	for range 8 {
		out = append(out, lo+r.Int64N(hi-lo))
	}
	return out
}

func TestAppendRootsAndProofs(t *testing.T) {
	const total = 300
	r := rand.New(rand.NewPCG(1, 2))
	s := NewMemStorage()
	indep := &sliceHashes{}
	var leaves [][]byte
	roots := []tlog.Hash{sha256.Sum256(nil)}

	for i := range total {
		d := leafData(i)
		idx, err := Append(s, d)
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		if idx != int64(i) {
			t.Fatalf("Append %d returned index %d", i, idx)
		}
		leaves = append(leaves, d)

		hs, err := tlog.StoredHashes(int64(i), d, indep)
		if err != nil {
			t.Fatal(err)
		}
		*indep = append(*indep, hs...)

		n := int64(i + 1)
		got, err := Root(s, n)
		if err != nil {
			t.Fatalf("Root(%d): %v", n, err)
		}
		want := refRoot(leaves)
		if got != want {
			t.Fatalf("Root(%d) = %s, RFC 6962 reference %s", n, got, want)
		}
		th, err := tlog.TreeHash(n, indep)
		if err != nil {
			t.Fatal(err)
		}
		if got != th {
			t.Fatalf("Root(%d) = %s, tlog.TreeHash over independent hashes %s", n, got, th)
		}
		roots = append(roots, got)
	}

	size, err := s.TreeSize()
	if err != nil || size != total {
		t.Fatalf("TreeSize = %d, %v; want %d", size, err, total)
	}
	for i, want := range leaves {
		got, err := s.Leaf(int64(i))
		if err != nil || string(got) != string(want) {
			t.Fatalf("Leaf(%d) = %q, %v; want %q", i, got, err, want)
		}
	}

	// Earlier roots stay reproducible after the tree has grown.
	for n := int64(0); n <= total; n++ {
		got, err := Root(s, n)
		if err != nil || got != roots[n] {
			t.Fatalf("Root(%d) after growth = %s, %v; want %s", n, got, err, roots[n])
		}
	}

	proofs := 0
	for n := int64(1); n <= total; n++ {
		cp := &Checkpoint{Origin: "hashhub/test", Size: n, Root: roots[n]}
		for _, i := range sample(r, 0, n) {
			p, err := InclusionProof(s, i, n)
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", i, n, err)
			}
			if err := tlog.CheckRecord(p, n, roots[n], i, refLeafHash(leaves[i])); err != nil {
				t.Fatalf("CheckRecord(%d, %d): %v", i, n, err)
			}
			if err := VerifyInclusion(cp, i, leaves[i], p); err != nil {
				t.Fatalf("VerifyInclusion(%d, %d): %v", i, n, err)
			}
			// The same proof must not vouch for other data or another index.
			if err := VerifyInclusion(cp, i, []byte("forged manifest"), p); !errors.Is(err, ErrNotIncluded) {
				t.Fatalf("VerifyInclusion(%d, %d) with other data = %v, want ErrNotIncluded", i, n, err)
			}
			if j := (i + 1) % n; j != i && string(leaves[j]) != string(leaves[i]) {
				if err := VerifyInclusion(cp, j, leaves[i], p); !errors.Is(err, ErrNotIncluded) {
					t.Fatalf("VerifyInclusion(%d as %d, %d) = %v, want ErrNotIncluded", i, j, n, err)
				}
			}
			proofs++
		}
		for _, old := range sample(r, 1, n+1) {
			p, err := ConsistencyProof(s, old, n)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", old, n, err)
			}
			if old == n && len(p) != 0 {
				t.Fatalf("ConsistencyProof(%d, %d) has %d hashes, want none", old, n, len(p))
			}
			if err := tlog.CheckTree(p, n, roots[n], old, roots[old]); err != nil {
				t.Fatalf("CheckTree(%d, %d): %v", old, n, err)
			}
			older := &Checkpoint{Origin: cp.Origin, Size: old, Root: roots[old]}
			if err := VerifyConsistency(older, cp, p); err != nil {
				t.Fatalf("VerifyConsistency(%d, %d): %v", old, n, err)
			}
			proofs++
		}
	}
	t.Logf("checked %d proofs", proofs)
}

// TestKnownRoots pins RFC 6962 roots from the Certificate Transparency test
// vectors, so a change in hashing would be caught even if the reference
// implementation above drifted with it.
func TestKnownRoots(t *testing.T) {
	inputs := []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}
	want := map[int64]string{
		0: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	s := NewMemStorage()
	for _, in := range inputs {
		d, err := hex.DecodeString(in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Append(s, d); err != nil {
			t.Fatal(err)
		}
	}
	for n, w := range want {
		got, err := Root(s, n)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got[:]) != w {
			t.Errorf("Root(%d) = %x, want %s", n, got, w)
		}
	}
}

func TestRangeErrors(t *testing.T) {
	s, _ := buildLog(t, 10, leafData)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"Root(-1)", func() error { _, err := Root(s, -1); return err }()},
		{"Root(11)", func() error { _, err := Root(s, 11); return err }()},
		{"InclusionProof(10, 10)", func() error { _, err := InclusionProof(s, 10, 10); return err }()},
		{"InclusionProof(-1, 10)", func() error { _, err := InclusionProof(s, -1, 10); return err }()},
		{"InclusionProof(0, 11)", func() error { _, err := InclusionProof(s, 0, 11); return err }()},
		{"InclusionProof(0, 0)", func() error { _, err := InclusionProof(s, 0, 0); return err }()},
		{"ConsistencyProof(0, 5)", func() error { _, err := ConsistencyProof(s, 0, 5); return err }()},
		{"ConsistencyProof(6, 5)", func() error { _, err := ConsistencyProof(s, 6, 5); return err }()},
		{"ConsistencyProof(5, 11)", func() error { _, err := ConsistencyProof(s, 5, 11); return err }()},
		{"Leaf(10)", func() error { _, err := s.Leaf(10); return err }()},
	} {
		if !errors.Is(tc.err, ErrOutOfRange) {
			t.Errorf("%s = %v, want ErrOutOfRange", tc.name, tc.err)
		}
	}

	empty := NewMemStorage()
	root, err := Root(empty, 0)
	if err != nil || root != emptyRoot {
		t.Errorf("Root(empty, 0) = %s, %v; want %s", root, err, emptyRoot)
	}
}

// TestMemStorageAppendOnly checks that MemStorage refuses writes that would
// rewrite or skip history, which is how it catches a size out of step with
// the stored hashes.
func TestMemStorageAppendOnly(t *testing.T) {
	s, _ := buildLog(t, 3, leafData)
	if err := s.WriteHashes(0, []tlog.Hash{{}}); err == nil {
		t.Error("WriteHashes over existing hashes succeeded")
	}
	if err := s.PutLeaf(1, []byte("x")); err == nil {
		t.Error("PutLeaf over an existing leaf succeeded")
	}
	if err := s.PutLeaf(5, []byte("x")); err == nil {
		t.Error("PutLeaf past the end succeeded")
	}
	if err := s.SetTreeSize(2); err == nil {
		t.Error("SetTreeSize shrinking the tree succeeded")
	}
	if err := s.SetTreeSize(4); err == nil {
		t.Error("SetTreeSize past the stored leaves succeeded")
	}
	if _, err := s.ReadHashes([]int64{1 << 40}); err == nil {
		t.Error("ReadHashes of an unwritten index succeeded")
	}
	// Leaf returns a copy: changing it must not change the log.
	l, _ := s.Leaf(0)
	l[0] ^= 0xff
	if l2, _ := s.Leaf(0); string(l2) != string(leafData(0)) {
		t.Error("Leaf returned the stored slice itself")
	}
}

// failingStorage fails one chosen kind of write, to check Append reports
// storage errors instead of carrying on.
type failingStorage struct {
	*MemStorage
	fail string
}

var errInjected = errors.New("injected")

func (f failingStorage) WriteHashes(start int64, h []tlog.Hash) error {
	if f.fail == "hashes" {
		return errInjected
	}
	return f.MemStorage.WriteHashes(start, h)
}

func (f failingStorage) PutLeaf(i int64, d []byte) error {
	if f.fail == "leaf" {
		return errInjected
	}
	return f.MemStorage.PutLeaf(i, d)
}

func (f failingStorage) SetTreeSize(n int64) error {
	if f.fail == "size" {
		return errInjected
	}
	return f.MemStorage.SetTreeSize(n)
}

func TestAppendStorageErrors(t *testing.T) {
	for _, where := range []string{"hashes", "leaf", "size"} {
		s, _ := buildLog(t, 3, leafData)
		_, err := Append(failingStorage{s, where}, []byte("x"))
		if !errors.Is(err, errInjected) {
			t.Errorf("Append with failing %s = %v, want wrapped injected error", where, err)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	s := NewMemStorage()
	data := leafData(0)
	for b.Loop() {
		if _, err := Append(s, data); err != nil {
			b.Fatal(err)
		}
	}
}
