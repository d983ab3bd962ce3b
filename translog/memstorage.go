package translog

import (
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// MemStorage is a Storage held in memory: for tests, and for clients that
// keep their own copy of a log to recompute roots from leaves.
//
// It is strictly append-only: writing a hash or leaf anywhere but right
// after the last one is an error. That matches how Append uses storage, so
// the refusal catches bugs (a size out of step with the hashes) instead of
// quietly overwriting history. It is safe for concurrent use.
type MemStorage struct {
	mu     sync.RWMutex
	hashes []tlog.Hash
	leaves [][]byte
	size   int64
}

// NewMemStorage returns an empty in-memory log storage.
func NewMemStorage() *MemStorage {
	return &MemStorage{}
}

// ReadHashes implements Storage.
func (m *MemStorage) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]tlog.Hash, len(indexes))
	for k, idx := range indexes {
		if idx < 0 || idx >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("translog: memstorage: hash %d not stored (have %d)", idx, len(m.hashes))
		}
		out[k] = m.hashes[idx]
	}
	return out, nil
}

// WriteHashes implements Storage. start must be the number of hashes
// already stored.
func (m *MemStorage) WriteHashes(start int64, hashes []tlog.Hash) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if start != int64(len(m.hashes)) {
		return fmt.Errorf("translog: memstorage: write hashes at %d, want %d (append only)", start, len(m.hashes))
	}
	m.hashes = append(m.hashes, hashes...)
	return nil
}

// Leaf implements Storage. It returns a copy, so callers cannot alter the
// log through it.
func (m *MemStorage) Leaf(index int64) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if index < 0 || index >= int64(len(m.leaves)) {
		return nil, fmt.Errorf("translog: memstorage: leaf %d not stored (have %d): %w", index, len(m.leaves), ErrOutOfRange)
	}
	return append([]byte(nil), m.leaves[index]...), nil
}

// PutLeaf implements Storage. index must be the number of leaves already
// stored. data is copied.
func (m *MemStorage) PutLeaf(index int64, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if index != int64(len(m.leaves)) {
		return fmt.Errorf("translog: memstorage: put leaf %d, want %d (append only)", index, len(m.leaves))
	}
	m.leaves = append(m.leaves, append([]byte(nil), data...))
	return nil
}

// TreeSize implements Storage.
func (m *MemStorage) TreeSize() (int64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.size, nil
}

// SetTreeSize implements Storage. The size may not shrink (that would be a
// rollback) nor exceed the leaves stored (a size counting a missing leaf
// would make proofs fail later, far from the cause).
func (m *MemStorage) SetTreeSize(n int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n < m.size || n > int64(len(m.leaves)) {
		return fmt.Errorf("translog: memstorage: tree size %d not in [%d, %d]", n, m.size, len(m.leaves))
	}
	m.size = n
	return nil
}
