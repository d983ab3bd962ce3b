package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

var (
	bWitnessLogs     = []byte("witness_logs")
	bWitnessEvidence = []byte("witness_evidence")
	bCosignatures    = []byte("cosignatures")
)

// WitnessStore keeps, per witnessed log, the last checkpoint this node
// cosigned, and the evidence of checkpoints it refused (witness.Store).
type WitnessStore struct{ db *DB }

// Witness returns the witness store.
func (db *DB) Witness() *WitnessStore { return &WitnessStore{db} }

// Latest returns the last cosigned checkpoint of a log.
func (w *WitnessStore) Latest(origin string) (size int64, root tlog.Hash, note []byte, ok bool, err error) {
	err = w.db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bWitnessLogs).Get([]byte(origin))
		if v == nil {
			return nil
		}
		if len(v) < 8+tlog.HashSize {
			return fmt.Errorf("witness record of %q: %w", origin, errCorrupt)
		}
		size = int64(binary.BigEndian.Uint64(v))
		copy(root[:], v[8:])
		note, ok = bytes.Clone(v[8+tlog.HashSize:]), true
		return nil
	})
	return
}

// CompareAndSwap records a newly cosigned checkpoint if the stored size
// is still oldSize, in one transaction: two concurrent submissions from
// the same old size cannot both succeed.
func (w *WitnessStore) CompareAndSwap(origin string, oldSize, newSize int64, root tlog.Hash, note []byte) (bool, error) {
	swapped := false
	err := w.db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bWitnessLogs)
		var cur int64
		if v := b.Get([]byte(origin)); len(v) >= 8 {
			cur = int64(binary.BigEndian.Uint64(v))
		}
		if cur != oldSize {
			return nil
		}
		rec := binary.BigEndian.AppendUint64(nil, uint64(newSize))
		rec = append(append(rec, root[:]...), note...)
		swapped = true
		return b.Put([]byte(origin), rec)
	})
	return swapped, err
}

// MaxEvidencePerLog bounds the refused checkpoints kept per log.
const MaxEvidencePerLog = 1000

// KeepEvidence stores a refused checkpoint that the log validly signed.
func (w *WitnessStore) KeepEvidence(origin string, note []byte, reason string) error {
	return w.db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bWitnessEvidence)
		sum := sha256.Sum256(note)
		key := append(append([]byte(origin), 0), sum[:]...)
		if b.Get(key) != nil {
			return nil
		}
		n := 0
		c := b.Cursor()
		prefix := append([]byte(origin), 0)
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			n++
		}
		if n >= MaxEvidencePerLog {
			return nil
		}
		v, err := json.Marshal(Evidence{Origin: origin, Note: string(note), Reason: reason})
		if err != nil {
			return err
		}
		return b.Put(key, v)
	})
}

// Evidence is a refused checkpoint kept for operators.
type Evidence struct {
	Origin string `json:"origin"`
	Note   string `json:"note"`
	Reason string `json:"reason"`
}

// WitnessEvidence lists the evidence kept for a log.
func (w *WitnessStore) WitnessEvidence(origin string) ([]Evidence, error) {
	out := []Evidence{}
	err := w.db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bWitnessEvidence).Cursor()
		prefix := append([]byte(origin), 0)
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var e Evidence
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Cosignatures returns the cosignature lines peers returned for this
// node's checkpoint of a tree size, by witness name.
func (t *Tx) Cosignatures(size int64) (map[string]string, error) {
	out := map[string]string{}
	v := t.b(bCosignatures).Get(seqKey(uint64(size)))
	if v == nil {
		return out, nil
	}
	return out, json.Unmarshal(v, &out)
}

// PutCosignature records a peer witness's cosignature line for a size.
func (t *Tx) PutCosignature(size int64, witness, line string) error {
	m, err := t.Cosignatures(size)
	if err != nil {
		return err
	}
	m[witness] = line
	v, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return t.b(bCosignatures).Put(t.seqKey(uint64(size)), t.keep(v))
}

// LastCosigned returns the largest tree size any peer witness cosigned,
// with its cosignature lines by witness name (size 0 when none did).
func (t *Tx) LastCosigned() (int64, map[string]string, error) {
	out := map[string]string{}
	k, v := t.b(bCosignatures).Cursor().Last()
	if k == nil {
		return 0, out, nil
	}
	if len(k) != 8 {
		return 0, nil, fmt.Errorf("cosignature key %x is not a tree size", k)
	}
	return int64(binary.BigEndian.Uint64(k)), out, json.Unmarshal(v, &out)
}
