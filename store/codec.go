package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
)

// Entries are the bulk of a node's data (millions of them), so they are
// stored in a compact binary form rather than JSON: a third of the size and
// several times faster to encode, which is what lets bulk imports run near
// bbolt's own insert speed. The format is private to the store and
// versioned by its first byte.

// IndexKeyLen is the length of an index key.
const IndexKeyLen = 8

// IndexKey is the key of a hash in the entry index: the first 8 bytes of
// SHA-256("algo:value"). Short keys keep the index — the one structure
// that bulk imports touch at random — small: half the pages of a key
// holding the full value, so fewer pages to rewrite per batch and less
// memory. Distinct hashes may share an index key; the index then holds
// several entry numbers and lookups compare the full hash.
func IndexKey(h hashes.Hash) []byte {
	return indexKey(h.Algo, h.Value)
}

func indexKey(algo, value string) []byte {
	d := sha256.New()
	d.Write([]byte(algo))
	d.Write([]byte{':'})
	d.Write([]byte(value))
	var sum [sha256.Size]byte
	return d.Sum(sum[:0])[:IndexKeyLen]
}

// appendHashBytes encodes a hash compactly for the entry record:
// len(algo) | algo | 'h' | raw bytes when the value is lower-case hex of
// even length (md5, sha1, sha256, pdq), or len(algo) | algo | 'r' | value
// otherwise (photodna's base64). It works for any algorithm the registry
// gains.
func appendHashBytes(dst []byte, algo, value string) []byte {
	dst = append(dst, byte(len(algo)))
	dst = append(dst, algo...)
	if len(value)%2 == 0 && isLowerHex(value) {
		// isLowerHex has checked every byte, so decoding cannot fail.
		out, _ := hex.AppendDecode(append(dst, 'h'), []byte(value))
		return out
	}
	dst = append(dst, 'r')
	return append(dst, value...)
}

var lowerHex = func() (t [256]bool) {
	for _, c := range "0123456789abcdef" {
		t[c] = true
	}
	return t
}()

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !lowerHex[s[i]] {
			return false
		}
	}
	return true
}

var errCorrupt = errors.New("corrupt record")

func parseHashBytes(k []byte) (algo, value string, err error) {
	if len(k) < 2 || int(k[0])+2 > len(k) {
		return "", "", errCorrupt
	}
	n := int(k[0])
	algo = string(k[1 : 1+n])
	rest := k[1+n:]
	switch rest[0] {
	case 'h':
		return algo, hex.EncodeToString(rest[1:]), nil
	case 'r':
		return algo, string(rest[1:]), nil
	}
	return "", "", errCorrupt
}

// Entry formats: v2 adds assessment provenance (origin sequence,
// organisation and jurisdiction), retraction sequence numbers and
// retraction marks. v1 is still read.
const (
	entryFormatV1 = 1
	entryFormatV2 = 2
)

// encodeEntry appends the binary form of e to dst.
func encodeEntry(dst []byte, e *entries.Entry) []byte {
	dst = append(dst, entryFormatV2)
	dst = appendBytes(dst, appendHashBytes(nil, e.Algo, e.Value))
	q := int64(-1)
	if e.Quality != nil {
		q = int64(*e.Quality)
	}
	dst = binary.AppendVarint(dst, q)
	dst = appendTime(dst, e.Created)
	dst = appendTime(dst, e.Updated)
	dst = binary.AppendUvarint(dst, uint64(len(e.OpenDisputes)))
	for _, d := range e.OpenDisputes {
		dst = appendString(dst, d)
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.Assessments)))
	for i := range e.Assessments {
		a := &e.Assessments[i]
		dst = appendString(dst, a.ID)
		dst = appendString(dst, string(a.Verdict))
		dst = appendString(dst, string(a.Category))
		dst = binary.AppendUvarint(dst, uint64(len(a.Jurisdictions)))
		for _, j := range a.Jurisdictions {
			dst = appendString(dst, j)
		}
		dst = appendString(dst, string(a.Severity))
		dst = appendString(dst, a.Note)
		dst = appendString(dst, a.Org)
		dst = appendString(dst, a.OrgJur)
		dst = appendString(dst, a.User)
		dst = appendString(dst, a.Origin)
		dst = appendTime(dst, a.Time)
		dst = appendString(dst, a.OverruledBy)
		if r := a.Retracted; r != nil {
			dst = append(dst, 1)
			dst = appendString(dst, r.User)
			dst = appendString(dst, r.Reason)
			dst = appendTime(dst, r.Time)
			dst = binary.AppendUvarint(dst, r.Seq)
		} else {
			dst = append(dst, 0)
		}
		dst = binary.AppendUvarint(dst, a.OriginSeq)
		dst = appendString(dst, a.OriginOrg)
		dst = appendString(dst, a.OriginJur)
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.RetractMarks)))
	for _, m := range e.RetractMarks {
		dst = appendString(dst, m.Origin)
		dst = appendString(dst, m.Org)
		dst = binary.AppendUvarint(dst, m.Seq)
	}
	return dst
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(dst, math.MinInt64)
	}
	return binary.AppendVarint(dst, t.UnixNano())
}

// decoder reads the binary form; the first error sticks.
type decoder struct {
	b   []byte
	err error
	// s, when set, is the whole record as one string, of which b is what
	// is left: string fields are substrings of it, one allocation a
	// record rather than one a field (a first build decodes every entry).
	s string
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	v := d.b[:n:n] // an append to v must not write over what follows
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	v := d.bytes()
	if d.s == "" || len(v) == 0 {
		return string(v)
	}
	end := len(d.s) - len(d.b)
	return d.s[end-len(v) : end]
}

func (d *decoder) time() time.Time {
	v := d.varint()
	if v == math.MinInt64 || d.err != nil {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

// count reads a list length, refusing one the remaining bytes cannot hold.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return 0
	}
	return int(n)
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errCorrupt
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// decodeEntry parses the binary form.
func decodeEntry(raw []byte) (*entries.Entry, error) {
	d := &decoder{b: raw, s: string(raw)}
	v := d.byte()
	if d.err == nil && v != entryFormatV1 && v != entryFormatV2 {
		return nil, fmt.Errorf("%w: entry format %d", errCorrupt, v)
	}
	e := &entries.Entry{}
	var err error
	if e.Algo, e.Value, err = parseHashBytes(d.bytes()); err != nil && d.err == nil {
		d.err = err
	}
	if q := d.varint(); q >= 0 && d.err == nil {
		qi := int(q)
		e.Quality = &qi
	}
	e.Created = d.time()
	e.Updated = d.time()
	if n := d.count(); n > 0 {
		e.OpenDisputes = make([]string, n)
		for i := range e.OpenDisputes {
			e.OpenDisputes[i] = d.string()
		}
	}
	n := d.count()
	e.Assessments = make([]entries.Assessment, n)
	for i := range e.Assessments {
		a := &e.Assessments[i]
		a.ID = d.string()
		a.Verdict = entries.Verdict(d.string())
		a.Category = entries.Category(d.string())
		if nj := d.count(); nj > 0 {
			a.Jurisdictions = make([]string, nj)
			for j := range a.Jurisdictions {
				a.Jurisdictions[j] = d.string()
			}
		}
		a.Severity = entries.Severity(d.string())
		a.Note = d.string()
		a.Org = d.string()
		a.OrgJur = d.string()
		a.User = d.string()
		a.Origin = d.string()
		a.Time = d.time()
		a.OverruledBy = d.string()
		if d.byte() == 1 {
			a.Retracted = &entries.Retraction{User: d.string(), Reason: d.string(), Time: d.time()}
			if v >= entryFormatV2 {
				a.Retracted.Seq = d.uvarint()
			}
		}
		if v >= entryFormatV2 {
			a.OriginSeq = d.uvarint()
			a.OriginOrg = d.string()
			a.OriginJur = d.string()
		}
	}
	if v >= entryFormatV2 {
		if n := d.count(); n > 0 {
			e.RetractMarks = make([]entries.RetractMark, n)
			for i := range e.RetractMarks {
				m := &e.RetractMarks[i]
				m.Origin, m.Org, m.Seq = d.string(), d.string(), d.uvarint()
			}
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return e, nil
}
