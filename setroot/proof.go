package setroot

import (
	"fmt"
	"slices"
)

// Proof shows that one entry is in the set with a given root. It carries the
// whole bucket because a bucket digest is a flat hash of its leaves, not a
// tree: with ~N/65536 entries a bucket that costs a few kilobytes even for a
// 10M-entry list, and it keeps the bucket step trivial for auditors.
//
// Build one from the bucket's sorted leaves and Tree.Path:
//
//	Proof{Bucket: b, Leaves: leaves, Path: t.Path(b)}
type Proof struct {
	// Bucket is the entry's bucket, Bucket(key).
	Bucket uint16
	// Leaves is every leaf hash in the bucket, the entry's included, sorted
	// ascending as BucketDigest requires.
	Leaves []Hash
	// Path is the bucket's audit path: Depth sibling hashes, bottom-up.
	Path []Hash
}

// VerifyProof checks that the entry with this key and canonical line (without
// its newline) is in the set whose root is root. It returns nil or an error
// wrapping ErrWrongBucket, ErrMalformedProof, ErrNotInBucket or
// ErrRootMismatch. The proof is untrusted input: any bytes give an error,
// never a panic.
func VerifyProof(root Hash, key string, line []byte, p Proof) error {
	if b := Bucket(key); p.Bucket != b {
		return fmt.Errorf("%w: key is in bucket %d, proof is for bucket %d", ErrWrongBucket, b, p.Bucket)
	}
	if len(p.Path) != Depth {
		return fmt.Errorf("%w: audit path has %d hashes, want %d", ErrMalformedProof, len(p.Path), Depth)
	}
	// Sorted order is part of the bucket digest's definition; checking it
	// here turns a wrongly built proof into a clear error instead of a root
	// mismatch, and lets the membership test below use binary search.
	if !slices.IsSortedFunc(p.Leaves, compareHash) {
		return fmt.Errorf("%w: leaves of bucket %d are not sorted ascending", ErrMalformedProof, p.Bucket)
	}
	if _, found := slices.BinarySearchFunc(p.Leaves, LeafHash(line), compareHash); !found {
		return fmt.Errorf("%w: bucket %d has %d leaves", ErrNotInBucket, p.Bucket, len(p.Leaves))
	}
	node := merkleLeaf(BucketDigest(p.Leaves))
	for level, sibling := range p.Path {
		// Bit `level` of the bucket number says whether this subtree is the
		// right (1) or left (0) child of its parent.
		if p.Bucket>>level&1 == 1 {
			node = merkleNode(sibling, node)
		} else {
			node = merkleNode(node, sibling)
		}
	}
	if node != root {
		return fmt.Errorf("%w: bucket %d", ErrRootMismatch, p.Bucket)
	}
	return nil
}
