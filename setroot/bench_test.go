package setroot_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hashhub/hashhub/setroot"
)

// BenchmarkTreeUpdate10k is a release after 10,000 changes in distinct
// random buckets: 10,000 SetBucket calls and one Root. The bucket digests
// are precomputed; rehashing a bucket's ~N/65536 leaves is the caller's cost
// and is measured by BenchmarkBucketDigest.
func BenchmarkTreeUpdate10k(b *testing.B) {
	src := rand.NewChaCha8([32]byte{1})
	rng := rand.New(src)
	tree := setroot.NewTree()
	tree.Root()
	const k = 10_000
	buckets := make([]uint16, k)
	digests := make([]setroot.Hash, k)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		for i, v := range rng.Perm(setroot.Buckets)[:k] {
			buckets[i] = uint16(v)
			src.Read(digests[i][:])
		}
		b.StartTimer()
		for i := range k {
			tree.SetBucket(buckets[i], digests[i])
		}
		tree.Root()
	}
}

// BenchmarkBucketDigest rehashes one bucket of a 10M-entry list (~153
// leaves), the per-change cost on top of the tree update.
func BenchmarkBucketDigest(b *testing.B) {
	leaves := make([]setroot.Hash, 153)
	for i := range leaves {
		leaves[i] = sha256.Sum256([]byte{byte(i)})
	}
	setroot.SortLeaves(leaves)
	for b.Loop() {
		setroot.BucketDigest(leaves)
	}
}

// BenchmarkTreeRebuild is UnmarshalBinary: loading a persisted tree and
// rebuilding all 131,071 nodes, the cost of a from-scratch tree.
func BenchmarkTreeRebuild(b *testing.B) {
	data, _ := setroot.NewTree().MarshalBinary()
	var t setroot.Tree
	for b.Loop() {
		if err := t.UnmarshalBinary(data); err != nil {
			b.Fatal(err)
		}
	}
}

// synthetic returns n snapshot lines like the import benchmark's: a third
// each md5, sha256 and pdq.
func synthetic(n int) []entry {
	src := rand.NewChaCha8([32]byte{2})
	algos := []struct {
		name  string
		bytes int
	}{{"md5", 16}, {"sha256", 32}, {"pdq", 32}}
	entries := make([]entry, n)
	var v [32]byte
	for i := range entries {
		a := algos[i%3]
		src.Read(v[:a.bytes])
		value := fmt.Sprintf("%x", v[:a.bytes])
		entries[i] = entry{a.name + ":" + value, fmt.Appendf(nil, "{\"algo\":%q,\"value\":%q,\"severity\":\"B\"}", a.name, value)}
	}
	return entries
}

// BenchmarkCompute1M is a full recomputation of a 1M-entry set: what an
// auditor's offline check or a client's first snapshot costs in Go.
func BenchmarkCompute1M(b *testing.B) {
	entries := synthetic(1_000_000)
	b.ResetTimer()
	for b.Loop() {
		setroot.Compute(all(entries))
	}
}

// BenchmarkSortedSnapshotSHA256_1M is the flat alternative that
// docs/release-format.md weighs: SHA-256 of the sorted snapshot, which
// every release and every client update would pay in full. Sorting is
// included, as a client holding a set in a map would have to sort it.
func BenchmarkSortedSnapshotSHA256_1M(b *testing.B) {
	entries := synthetic(1_000_000)
	lines := make([][]byte, len(entries))
	b.ResetTimer()
	for b.Loop() {
		for i, e := range entries {
			lines[i] = e.line
		}
		slices.SortFunc(lines, bytes.Compare)
		h := sha256.New()
		for _, l := range lines {
			h.Write(l)
			h.Write([]byte{'\n'})
		}
		h.Sum(nil)
	}
}

func BenchmarkVerifyProof(b *testing.B) {
	s, key := proofFixture(b)
	root, line, p := s.tree.Root(), s.lines[key], s.proof(key)
	b.ResetTimer()
	for b.Loop() {
		if err := setroot.VerifyProof(root, key, line, p); err != nil {
			b.Fatal(err)
		}
	}
}
