package witness

import (
	"bytes"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// Store persists, per log origin, the last checkpoint this witness
// cosigned. The store package implements it over bbolt; MemStore implements
// it in memory for tests.
//
// The witness's whole guarantee rests on CompareAndSwap: checking the old
// size and recording the new checkpoint must be one atomic step, or two
// requests checked against the same old size could both be cosigned and the
// later write could roll the record back (tlog-witness spells out the race).
type Store interface {
	// Latest returns the last cosigned checkpoint of origin: its size, root
	// hash and signed note (the log's signature and this witness's
	// cosignature). ok is false if this witness never cosigned for origin,
	// which the protocol treats as size 0.
	Latest(origin string) (size int64, root tlog.Hash, note []byte, ok bool, err error)
	// CompareAndSwap records (newSize, root, note) for origin only if the
	// recorded size is still oldSize (0 when nothing is recorded), and
	// reports whether it did. It must not compare roots: the witness has
	// checked the new root against the old one, and sizes never decrease, so
	// an unchanged size means an unchanged record.
	CompareAndSwap(origin string, oldSize int64, newSize int64, root tlog.Hash, note []byte) (swapped bool, err error)
	// KeepEvidence records a checkpoint the log validly signed but the
	// witness refused (a fork, a rollback, a bad proof), for operators. The
	// note holds only the log's verified signature, so replaying one
	// checkpoint with junk signature lines gives the same bytes:
	// implementations should key evidence by origin and note hash, keeping
	// it bounded by what the log itself signed.
	KeepEvidence(origin string, note []byte, reason string) error
}

// MemStore is a Store in memory, safe for concurrent use.
type MemStore struct {
	mu       sync.Mutex
	latest   map[string]memRecord
	evidence []Evidence
}

type memRecord struct {
	size int64
	root tlog.Hash
	note []byte
}

// Evidence is one checkpoint kept by KeepEvidence.
type Evidence struct {
	Origin string
	Note   []byte
	Reason string
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{latest: map[string]memRecord{}}
}

// Latest implements Store.
func (m *MemStore) Latest(origin string) (int64, tlog.Hash, []byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.latest[origin]
	return r.size, r.root, bytes.Clone(r.note), ok, nil
}

// CompareAndSwap implements Store.
func (m *MemStore) CompareAndSwap(origin string, oldSize, newSize int64, root tlog.Hash, note []byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.latest[origin].size != oldSize {
		return false, nil
	}
	m.latest[origin] = memRecord{size: newSize, root: root, note: bytes.Clone(note)}
	return true, nil
}

// KeepEvidence implements Store. The same (origin, note) is kept once.
func (m *MemStore) KeepEvidence(origin string, note []byte, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.evidence {
		if e.Origin == origin && bytes.Equal(e.Note, note) {
			return nil
		}
	}
	m.evidence = append(m.evidence, Evidence{Origin: origin, Note: bytes.Clone(note), Reason: reason})
	return nil
}

// Evidence returns a copy of the evidence kept so far, oldest first.
func (m *MemStore) Evidence() []Evidence {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Evidence, len(m.evidence))
	for i, e := range m.evidence {
		out[i] = Evidence{Origin: e.Origin, Note: bytes.Clone(e.Note), Reason: e.Reason}
	}
	return out
}
