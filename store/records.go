package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hashhub/hashhub/records"
)

// Buckets of federation state.
//
//	records       origin | 0x00 | seq(8) → uvarint len(raw) | raw | sig: every
//	              origin-signed record this node made or imported, as signed
//	peer_cursors  peer | 0x00 | list → version(8): the last version of a
//	              peer's list applied here
//
// A list's state has a records sub-bucket: version(8) → the references
// (origin, seq) of the records that version's changes rest on.
var (
	bRecords     = []byte("records")
	bPeerCursors = []byte("peer_cursors")
	lsRecords    = []byte("records")
)

// RecordRef names a record: its origin and sequence number there.
type RecordRef struct {
	Origin string
	Seq    uint64
}

func recordKey(origin string, seq uint64) []byte {
	k := make([]byte, 0, len(origin)+9)
	k = append(k, origin...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// PutRecord stores a signed record under its origin and sequence number;
// a record already held is left as it is (relays pass the same bytes).
func (t *Tx) PutRecord(origin string, seq uint64, s records.Signed) error {
	b := t.b(bRecords)
	k := recordKey(origin, seq)
	if b.Get(k) != nil {
		return nil
	}
	v := binary.AppendUvarint(make([]byte, 0, len(s.Raw)+len(s.Sig)+4), uint64(len(s.Raw)))
	v = append(v, s.Raw...)
	v = append(v, s.Sig...)
	return b.Put(k, v)
}

// HasRecord reports whether the record is held.
func (t *Tx) HasRecord(origin string, seq uint64) bool {
	return t.b(bRecords).Get(recordKey(origin, seq)) != nil
}

// Record reads a signed record (valid only during the transaction).
func (t *Tx) Record(origin string, seq uint64) (records.Signed, error) {
	v := t.b(bRecords).Get(recordKey(origin, seq))
	if v == nil {
		return records.Signed{}, fmt.Errorf("record %s#%d: %w", origin, seq, ErrNotFound)
	}
	n, w := binary.Uvarint(v)
	if w <= 0 || uint64(len(v)-w) < n {
		return records.Signed{}, fmt.Errorf("record %s#%d: %w", origin, seq, errCorrupt)
	}
	return records.Signed{Raw: v[w : w+int(n)], Sig: v[w+int(n):]}, nil
}

// NextRecordSeq allocates this node's next record sequence number.
func (t *Tx) NextRecordSeq() (uint64, error) {
	var n uint64
	if err := t.Meta("record_seq", &n); err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	n++
	return n, t.PutMeta("record_seq", n)
}

func cursorKey(peer, list string) []byte { return []byte(peer + "\x00" + list) }

// PeerCursor is the last version of a peer's list applied here (0: none).
func (t *Tx) PeerCursor(peer, list string) uint64 {
	v := t.b(bPeerCursors).Get(cursorKey(peer, list))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// SetPeerCursor records the version of a peer's list applied here.
func (t *Tx) SetPeerCursor(peer, list string, version uint64) error {
	return t.b(bPeerCursors).Put(cursorKey(peer, list), binary.BigEndian.AppendUint64(nil, version))
}

// DeletePeerCursors forgets every cursor of a peer (when it is removed).
func (t *Tx) DeletePeerCursors(peer string) error {
	c := t.b(bPeerCursors).Cursor()
	prefix := []byte(peer + "\x00")
	for k, _ := c.Seek(prefix); k != nil && len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// PutVersionRecords stores the records a version's changes rest on.
func (ls *ListState) PutVersionRecords(version uint64, refs []RecordRef) error {
	b, err := ls.b.CreateBucketIfNotExists(lsRecords)
	if err != nil {
		return err
	}
	v := appendRefs(nil, refs)
	return b.Put(ls.t.seqKey(version), v)
}

// VersionRecords calls fn for the records of versions from..to (inclusive)
// in version order.
func (ls *ListState) VersionRecords(from, to uint64, fn func(RecordRef) error) error {
	b := ls.sub(lsRecords)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, from)); k != nil && binary.BigEndian.Uint64(k) <= to; k, v = c.Next() {
		if err := eachRef(v, fn); err != nil {
			return err
		}
	}
	return nil
}

// appendRefs appends the stored form of refs: for each, the origin's
// length and bytes, then the sequence number, as uvarints.
func appendRefs(v []byte, refs []RecordRef) []byte {
	for _, r := range refs {
		v = binary.AppendUvarint(v, uint64(len(r.Origin)))
		v = append(v, r.Origin...)
		v = binary.AppendUvarint(v, r.Seq)
	}
	return v
}

// eachRef calls fn for each reference in v, appendRefs's form.
func eachRef(v []byte, fn func(RecordRef) error) error {
	for len(v) > 0 {
		n, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < n {
			return errCorrupt
		}
		origin := string(v[w : w+int(n)])
		v = v[w+int(n):]
		seq, w2 := binary.Uvarint(v)
		if w2 <= 0 {
			return errCorrupt
		}
		v = v[w2:]
		if err := fn(RecordRef{origin, seq}); err != nil {
			return err
		}
	}
	return nil
}
