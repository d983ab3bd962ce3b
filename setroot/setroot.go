// Package setroot computes the set root of a hash list release: one 32-byte
// digest of a list's full contents at a version, which a client recomputes
// after applying a delta to check that it now holds exactly what the node
// signed (docs/release-format.md, "Set root").
//
// The construction is a Merkle tree over fixed key-prefix buckets:
//
//   - an entry's bucket is the first two bytes of SHA-256(key), so there are
//     65536 buckets and an entry never moves between them;
//   - an entry's leaf hash is SHA-256 of its canonical snapshot line, so an
//     attribute change (a new severity) changes the leaf but not the bucket;
//   - a bucket's digest is SHA-256 of its leaf hashes sorted ascending and
//     concatenated, which makes it independent of insertion order;
//   - the set root is the RFC 6962 Merkle tree hash of the 65536 bucket
//     digests in bucket order.
//
// Why this shape rather than SHA-256 of the sorted snapshot: a release after
// k changes rehashes about k small buckets and k·16 tree nodes, whatever the
// list's size, where a flat digest rereads the whole list on every release
// and on every client update. An auditor can still recompute the root from a
// snapshot with a short script (scripts/setroot.py), and a single entry has
// an inclusion proof: its bucket's other leaf hashes plus 16 tree hashes.
//
// The package treats lines as opaque bytes without their trailing newline;
// the line format and the key (algo + ":" + value) belong to the caller.
package setroot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"slices"
)

const (
	// Buckets is the number of key-prefix buckets: a power of two, so the
	// Merkle tree over them is perfect and every audit path has Depth hashes.
	// At 65536, a 10M-entry list has ~150 entries a bucket, which keeps both
	// a bucket rehash and a single-entry proof small.
	Buckets = 65536

	// Depth is the height of the tree over the buckets, log2(Buckets): the
	// number of sibling hashes in an audit path.
	Depth = 16

	// HashSize is the size of every hash in the construction (SHA-256).
	HashSize = sha256.Size
)

// Hash is a SHA-256 digest. It is an array, not a slice, so hashes compare
// with == and can be map keys.
type Hash = [HashSize]byte

// Errors returned by this package. Callers test for them with errors.Is; the
// wrapped message says which check failed. Messages never quote an entry's
// key or line, because those are hash values that must not reach logs.
var (
	// ErrWrongBucket means a proof names a bucket other than the key's.
	ErrWrongBucket = errors.New("proof is for another bucket")
	// ErrNotInBucket means the entry's leaf hash is not among the proof's
	// leaves: the line differs from the one the node committed to, or the
	// entry is not in the set.
	ErrNotInBucket = errors.New("entry's leaf hash is not in the bucket")
	// ErrMalformedProof means a proof's shape is wrong (path length, leaf
	// order), independently of any root.
	ErrMalformedProof = errors.New("malformed proof")
	// ErrRootMismatch means a well-formed proof leads to a different root.
	ErrRootMismatch = errors.New("proof does not lead to the set root")
	// ErrBadEncoding means serialized data (a persisted tree, a hex root)
	// does not have the required form.
	ErrBadEncoding = errors.New("bad encoding")
)

// Bucket returns the bucket of an entry key: the big-endian uint16 formed by
// the first two bytes of SHA-256(key). Hashing the key, rather than taking
// its own leading bytes, spreads entries evenly even though the keys of one
// algorithm share a prefix ("md5:").
func Bucket(key string) uint16 {
	// Copying a key of usual size (≤ 80 bytes: "sha256:" + 64 hex) into a
	// stack buffer avoids one allocation per entry (Compute runs ~7% faster).
	var buf [128]byte
	var h Hash
	if len(key) <= len(buf) {
		h = sha256.Sum256(append(buf[:0], key...))
	} else {
		h = sha256.Sum256([]byte(key))
	}
	return uint16(h[0])<<8 | uint16(h[1])
}

// LeafHash returns the leaf hash of one canonical snapshot line, given
// without its trailing newline: SHA-256(line).
func LeafHash(line []byte) Hash {
	return sha256.Sum256(line)
}

// SortLeaves sorts leaf hashes ascending as byte strings, the order
// BucketDigest requires.
func SortLeaves(leaves []Hash) {
	slices.SortFunc(leaves, compareHash)
}

// compareHash orders hashes as byte strings.
func compareHash(a, b Hash) int {
	return bytes.Compare(a[:], b[:])
}

// BucketDigest returns SHA-256 of the concatenated leaf hashes of one bucket.
//
// The leaves must already be sorted ascending (SortLeaves): the digest is of
// the set, so it must not depend on the order entries arrived in. It is not
// checked here because callers that maintain a bucket keep it sorted anyway
// and rehash it on every change; unsorted input silently gives a digest that
// matches no one else's. An empty bucket gives EmptyBucket().
func BucketDigest(sortedLeaves []Hash) Hash {
	h := sha256.New()
	for i := range sortedLeaves {
		h.Write(sortedLeaves[i][:])
	}
	var d Hash
	h.Sum(d[:0])
	return d
}

// EmptyBucket returns the digest of a bucket with no entries: SHA-256 of the
// empty string.
func EmptyBucket() Hash {
	return emptyBucket
}

var emptyBucket = sha256.Sum256(nil)

// ParseRoot parses a set root as written in a manifest: exactly 64
// lower-case hex digits. Upper case is refused so that a signed manifest has
// one spelling of each root and byte comparison of manifests stays valid.
func ParseRoot(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*HashSize {
		return h, fmt.Errorf("%w: set root has %d characters, want %d", ErrBadEncoding, len(s), 2*HashSize)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return h, fmt.Errorf("%w: set root has %q at offset %d, want lower-case hex", ErrBadEncoding, c, i)
		}
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("%w: set root: %w", ErrBadEncoding, err)
	}
	return h, nil
}

// Compute returns the set root and entry count of a whole set, from its
// lines and their keys in any order. It is the from-scratch reference that
// tests and offline verification compare the incremental Tree against, so it
// builds the tree level by level without sharing Tree's code.
//
// Keys must be unique (a set); Compute does not check, and a repeated key
// counts twice. A line is hashed before the next item is requested, so the
// caller may reuse its buffer.
func Compute(items iter.Seq2[string, []byte]) (root Hash, count int) {
	var buckets []uint16
	var leaves []Hash
	for key, line := range items {
		buckets = append(buckets, Bucket(key))
		leaves = append(leaves, LeafHash(line))
	}

	// Counting sort by bucket: bucket b's leaves end up in
	// grouped[start[b]:start[b+1]].
	start := make([]int, Buckets+1)
	for _, b := range buckets {
		start[int(b)+1]++
	}
	for b := range Buckets {
		start[b+1] += start[b]
	}
	next := slices.Clone(start[:Buckets])
	grouped := make([]Hash, len(leaves))
	for i, b := range buckets {
		grouped[next[b]] = leaves[i]
		next[b]++
	}

	level := make([]Hash, Buckets)
	for b := range Buckets {
		bucket := grouped[start[b]:start[b+1]]
		SortLeaves(bucket)
		level[b] = merkleLeaf(BucketDigest(bucket))
	}
	for n := Buckets; n > 1; n /= 2 {
		for i := 0; i < n/2; i++ {
			level[i] = merkleNode(level[2*i], level[2*i+1])
		}
	}
	return level[0], len(leaves)
}

// merkleLeaf is the RFC 6962 leaf hash of a bucket digest. The 0x00 prefix
// (0x01 for interior nodes) keeps a leaf from being passed off as a node.
func merkleLeaf(digest Hash) Hash {
	var b [1 + HashSize]byte
	b[0] = 0x00
	copy(b[1:], digest[:])
	return sha256.Sum256(b[:])
}

// merkleNode is the RFC 6962 interior node hash.
func merkleNode(left, right Hash) Hash {
	var b [1 + 2*HashSize]byte
	b[0] = 0x01
	copy(b[1:], left[:])
	copy(b[1+HashSize:], right[:])
	return sha256.Sum256(b[:])
}
