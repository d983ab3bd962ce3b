// Package translog is the node's append-only transparency log of signed
// release manifests: an RFC 6962 Merkle tree with one leaf per manifest,
// signed checkpoints in the C2SP tlog-checkpoint format, and inclusion and
// consistency proofs.
//
// The log exists so that a node cannot show one history of a list to one
// platform and a different history to another without being caught: every
// client keeps the last checkpoint it trusted and accepts a new one only with
// a consistency proof, and accepts a manifest only with an inclusion proof.
// Only manifests (digests, counts, roots) go in; raw hashes never do.
//
// The tree arithmetic is golang.org/x/mod/sumdb/tlog, which stores each
// completed subtree hash once, so appending, proving and computing a root
// all touch O(log n) stored hashes. This package adds the storage contract,
// argument checks, the checkpoint format and the client-side checks.
//
// Functions here hold no state and take no locks: a Storage lives inside the
// caller's transaction, which is what makes an append (leaf, hashes and new
// size) atomic and keeps readers from seeing a half-written tree.
package translog

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Storage is where the log keeps its stored hashes and leaves, inside the
// caller's transaction. The store package implements it over bbolt;
// MemStorage implements it in memory.
//
// Stored hashes are written once and never change, so an implementation may
// cache them freely. Reading anything never written must be an error, never
// a zero hash or nil data: a zero hash would silently yield a wrong root.
type Storage interface {
	// ReadHashes returns the stored hashes at the given storage indexes
	// (tlog.StoredHashIndex numbering), one per index, in the same order.
	ReadHashes(indexes []int64) ([]tlog.Hash, error)
	// WriteHashes stores hashes at consecutive storage indexes starting at
	// start.
	WriteHashes(start int64, hashes []tlog.Hash) error
	// Leaf and PutLeaf keep each leaf's data (the manifest bytes) by leaf
	// index.
	Leaf(index int64) ([]byte, error)
	PutLeaf(index int64, data []byte) error
	// TreeSize and SetTreeSize keep the number of leaves.
	TreeSize() (int64, error)
	SetTreeSize(n int64) error
}

// ErrOutOfRange is returned when a leaf index or tree size asked of the log
// lies outside the tree as stored. The HTTP layer maps it to a client error:
// it is what a request for a size the node has not reached yet produces.
var ErrOutOfRange = errors.New("translog: index or size out of range")

// Append adds data as the next leaf and returns its index. It reads at most
// log₂ n earlier hashes and writes at most 1 + log₂ n new ones.
//
// The caller must run Append inside the same transaction that records the
// manifest, so a crash can never leave a leaf without its hashes or a size
// that counts a leaf whose hashes are missing.
func Append(s Storage, data []byte) (int64, error) {
	n, err := s.TreeSize()
	if err != nil {
		return 0, fmt.Errorf("translog: append: read tree size: %w", err)
	}
	if n < 0 {
		return 0, fmt.Errorf("translog: append: stored tree size %d is negative", n)
	}
	hashes, err := tlog.StoredHashes(n, data, s)
	if err != nil {
		return 0, fmt.Errorf("translog: append leaf %d: compute hashes: %w", n, err)
	}
	if err := s.WriteHashes(tlog.StoredHashIndex(0, n), hashes); err != nil {
		return 0, fmt.Errorf("translog: append leaf %d: write hashes: %w", n, err)
	}
	if err := s.PutLeaf(n, data); err != nil {
		return 0, fmt.Errorf("translog: append leaf %d: write leaf: %w", n, err)
	}
	if err := s.SetTreeSize(n + 1); err != nil {
		return 0, fmt.Errorf("translog: append leaf %d: write tree size: %w", n, err)
	}
	return n, nil
}

// Root returns the tree hash at size n (0 ≤ n ≤ TreeSize). Any earlier size
// can be asked for, because old checkpoints must stay reproducible.
func Root(s Storage, n int64) (tlog.Hash, error) {
	if err := checkSize(s, n); err != nil {
		return tlog.Hash{}, fmt.Errorf("translog: root: %w", err)
	}
	h, err := tlog.TreeHash(n, s)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("translog: root at size %d: %w", n, err)
	}
	return h, nil
}

// InclusionProof proves leaf index i is in the tree of size n
// (0 ≤ i < n ≤ TreeSize).
func InclusionProof(s Storage, i, n int64) (tlog.RecordProof, error) {
	if err := checkSize(s, n); err != nil {
		return nil, fmt.Errorf("translog: inclusion proof: %w", err)
	}
	if i < 0 || i >= n {
		return nil, fmt.Errorf("translog: inclusion proof: leaf %d not in tree of size %d: %w", i, n, ErrOutOfRange)
	}
	p, err := tlog.ProveRecord(n, i, s)
	if err != nil {
		return nil, fmt.Errorf("translog: inclusion proof for leaf %d in size %d: %w", i, n, err)
	}
	return p, nil
}

// ConsistencyProof proves the tree of size old is a prefix of the tree of
// size n (1 ≤ old ≤ n ≤ TreeSize; old == n gives an empty proof). A size-0
// tree is a prefix of everything, so there is nothing to prove for it and
// tlog refuses to try.
func ConsistencyProof(s Storage, old, n int64) (tlog.TreeProof, error) {
	if err := checkSize(s, n); err != nil {
		return nil, fmt.Errorf("translog: consistency proof: %w", err)
	}
	if old < 1 || old > n {
		return nil, fmt.Errorf("translog: consistency proof: old size %d not in [1, %d]: %w", old, n, ErrOutOfRange)
	}
	// Note tlog's argument order: (new size, old size).
	p, err := tlog.ProveTree(n, old, s)
	if err != nil {
		return nil, fmt.Errorf("translog: consistency proof from %d to %d: %w", old, n, err)
	}
	return p, nil
}

// checkSize refuses sizes the stored tree has not reached: the hashes for
// them do not exist yet, and asking tlog for them would fail obscurely.
func checkSize(s Storage, n int64) error {
	size, err := s.TreeSize()
	if err != nil {
		return fmt.Errorf("read tree size: %w", err)
	}
	if n < 0 || n > size {
		return fmt.Errorf("size %d not in [0, %d]: %w", n, size, ErrOutOfRange)
	}
	return nil
}
