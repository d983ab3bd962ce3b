package hub

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/translog"
	"github.com/hashhub/hashhub/witness"
)

// Errors of log reads.
var ErrLogRange = errors.New("outside the log")

// Checkpoint signs the log's current size and root (C2SP tlog-checkpoint)
// and appends the cosignatures peer witnesses returned for that size.
func (s *Service) Checkpoint() ([]byte, error) {
	signed, size, err := s.SignedCheckpoint()
	if err != nil {
		return nil, err
	}
	var lines []string
	err = s.db.View(func(tx *store.Tx) error {
		m, err := tx.Cosignatures(size)
		for _, name := range slices.Sorted(maps.Keys(m)) {
			lines = append(lines, m[name])
		}
		return err
	})
	if err != nil || len(lines) == 0 {
		return signed, err
	}
	return witness.AppendCosignatures(signed, lines)
}

// PutCosignature records a peer witness's cosignature of this node's
// checkpoint of a tree size.
func (s *Service) PutCosignature(size int64, name, line string) error {
	return s.db.Update(func(tx *store.Tx) error { return tx.PutCosignature(size, name, line) })
}

// HasCosignature reports whether a witness already cosigned a size.
func (s *Service) HasCosignature(size int64, name string) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *store.Tx) error {
		m, err := tx.Cosignatures(size)
		_, ok = m[name]
		return err
	})
	return ok, err
}

// SignedCheckpoint is the log's own signed checkpoint, without
// cosignatures, and its size.
func (s *Service) SignedCheckpoint() ([]byte, int64, error) {
	if s.pub == nil {
		return nil, 0, errors.New("releases are not configured on this node")
	}
	var size int64
	var root tlog.Hash
	err := s.db.View(func(tx *store.Tx) error {
		ls := tx.Log()
		var err error
		if size, err = ls.TreeSize(); err != nil {
			return err
		}
		if size == 0 {
			root = tlog.Hash(sha256.Sum256(nil)) // RFC 6962: the empty tree
			return nil
		}
		root, err = translog.Root(ls, size)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	signed, err := s.pub.Log.Sign(size, root)
	return signed, size, err
}

// LogVerifierKey is the note verifier key clients pin for checkpoints.
func (s *Service) LogVerifierKey() string {
	if s.pub == nil {
		return ""
	}
	return s.pub.Log.VerifierKey()
}

func (s *Service) logSizeCheck(tx *store.Tx, sizes ...int64) error {
	n, err := tx.Log().TreeSize()
	if err != nil {
		return err
	}
	for _, x := range sizes {
		if x < 0 || x > n {
			return fmt.Errorf("%w: the log has %d leaves", ErrLogRange, n)
		}
	}
	return nil
}

// InclusionProof proves leaf index is in the tree of the given size.
func (s *Service) InclusionProof(index, size int64) ([]tlog.Hash, error) {
	var p tlog.RecordProof
	err := s.db.View(func(tx *store.Tx) error {
		if index < 0 || index >= size {
			return fmt.Errorf("%w: index %d is not below size %d", ErrLogRange, index, size)
		}
		if err := s.logSizeCheck(tx, size); err != nil {
			return err
		}
		var err error
		p, err = translog.InclusionProof(tx.Log(), index, size)
		return err
	})
	return p, err
}

// ConsistencyProof proves the tree of size old is a prefix of size new.
func (s *Service) ConsistencyProof(old, size int64) ([]tlog.Hash, error) {
	var p tlog.TreeProof
	err := s.db.View(func(tx *store.Tx) error {
		if old < 1 || old > size {
			return fmt.Errorf("%w: need 1 ≤ old (%d) ≤ new (%d)", ErrLogRange, old, size)
		}
		if err := s.logSizeCheck(tx, size); err != nil {
			return err
		}
		var err error
		p, err = translog.ConsistencyProof(tx.Log(), old, size)
		return err
	})
	return p, err
}

// LogLeaf returns a leaf: a manifest's bytes.
func (s *Service) LogLeaf(index int64) ([]byte, error) {
	var data []byte
	err := s.db.View(func(tx *store.Tx) error {
		if err := s.logSizeCheck(tx, index+1); err != nil {
			return err
		}
		var err error
		data, err = tx.Log().Leaf(index)
		return err
	})
	return data, err
}
