package hub

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
	"github.com/hashhub/hashhub/store"
)

// A list's set-root buckets are kept in memory between releases: for each
// bucket, its members' leaf hashes in ascending order, each with a
// fingerprint of the member's key. With them a build needs no stored
// entry → member map and no rescan of the members it did not change: it
// finds an entry's current member by its key's bucket and fingerprint
// (confirmed by reading the one stored line), and rehashes a touched
// bucket from memory. The stored members stay the source of truth: the
// cache is rebuilt from them (one scan) when it does not describe the
// list's latest version — after a start, or a build this process did not
// finish — and replaced only after a build commits.
//
// It costs 40 bytes a member (400 MB for a 10-million-entry list).

// memberRec is one member in a bucket: its leaf hash and key fingerprint.
type memberRec struct {
	leaf setroot.Hash
	fp   uint64
}

// keyBucket returns a key's set-root bucket (the first two bytes of
// SHA-256(key)) and its fingerprint (the next eight), from one hash.
func keyBucket(key string) (uint16, uint64) {
	h := sha256.Sum256([]byte(key))
	return binary.BigEndian.Uint16(h[:2]), binary.BigEndian.Uint64(h[2:10])
}

// listCache is one list's buckets. mu is held for a whole build, so that
// a build reads and replaces the cache of the version it builds on.
type listCache struct {
	mu sync.Mutex
	// valid: buckets describe the version named by version and head
	// (the SHA-256 of its manifest; "" before version 1).
	valid   bool
	version uint64
	head    string
	buckets [][]memberRec
}

// releaseCache returns a list's cache, made empty on first use.
func (s *Service) releaseCache(name string) *listCache {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.caches == nil {
		s.caches = map[string]*listCache{}
	}
	c := s.caches[name]
	if c == nil {
		c = &listCache{}
		s.caches[name] = c
	}
	return c
}

// ensure makes the cache describe the list state's latest version,
// rebuilding it from the stored members if it does not.
func (c *listCache) ensure(ls *store.ListState) error {
	version, head := ls.Counter(cVersion), string(ls.Blob(blobPrevious))
	if c.valid && c.version == version && c.head == head {
		return nil
	}
	c.valid = false
	buckets := make([][]memberRec, setroot.Buckets)
	var err error
	ls.MemberKeys(func(k, line []byte) bool {
		key, ok := lineKey(line)
		if !ok || len(k) != store.MemberKeyLen {
			err = fmt.Errorf("stored member %x is not a canonical line", k)
			return false
		}
		b, fp := keyBucket(key)
		if b != binary.BigEndian.Uint16(k) {
			err = fmt.Errorf("stored member %x is in the wrong bucket", k)
			return false
		}
		buckets[b] = append(buckets[b], memberRec{leaf: setroot.Hash(k[2:]), fp: fp})
		return true
	})
	if err != nil {
		return err
	}
	c.buckets, c.version, c.head, c.valid = buckets, version, head, true
	return nil
}

// find returns the leaf hash of the member with key (bucket b, fingerprint
// fp), confirming a fingerprint match against the stored line.
func (c *listCache) find(ls *store.ListState, key string, b uint16, fp uint64) (setroot.Hash, bool) {
	var mk [store.MemberKeyLen]byte
	binary.BigEndian.PutUint16(mk[:], b)
	for _, r := range c.buckets[b] {
		if r.fp != fp {
			continue
		}
		copy(mk[2:], r.leaf[:])
		if k, ok := lineKey(ls.MemberLine(mk[:])); ok && k == key {
			return r.leaf, true
		}
	}
	return setroot.Hash{}, false
}

// lineKey extracts algo:value from a stored canonical line, which starts
// {"algo":"…","value":"…" (release.Item.Line); anything else is parsed.
func lineKey(line []byte) (string, bool) {
	const a, v = `{"algo":"`, `","value":"`
	if rest, ok := bytes.CutPrefix(line, []byte(a)); ok {
		if i := bytes.IndexByte(rest, '"'); i > 0 {
			if val, ok := bytes.CutPrefix(rest[i:], []byte(v)); ok {
				if j := bytes.IndexByte(val, '"'); j > 0 {
					return string(rest[:i]) + ":" + string(val[:j]), true
				}
			}
		}
	}
	it, err := release.ParseItem(line)
	if err != nil {
		return "", false
	}
	return it.Key(), true
}

// bucketEdit is a build's copy of the buckets it changes, installed in the
// cache only once the build has committed.
type bucketEdit struct {
	base    [][]memberRec
	changed map[uint16][]memberRec
}

func (c *listCache) edit() *bucketEdit {
	return &bucketEdit{base: c.buckets, changed: map[uint16][]memberRec{}}
}

func (e *bucketEdit) bucket(b uint16) []memberRec {
	if r, ok := e.changed[b]; ok {
		return r
	}
	r := slices.Clone(e.base[b])
	e.changed[b] = r
	return r
}

func cmpRec(x, y memberRec) int { return bytes.Compare(x.leaf[:], y.leaf[:]) }

// remove drops the member with leaf from bucket b.
func (e *bucketEdit) remove(b uint16, leaf setroot.Hash) {
	r := e.bucket(b)
	if i, ok := slices.BinarySearchFunc(r, memberRec{leaf: leaf}, cmpRec); ok {
		e.changed[b] = slices.Delete(r, i, i+1)
	}
}

// add inserts a member into bucket b in leaf order.
func (e *bucketEdit) add(b uint16, rec memberRec) {
	r := e.bucket(b)
	i, _ := slices.BinarySearchFunc(r, rec, cmpRec)
	e.changed[b] = slices.Insert(r, i, rec)
}

// digest is the bucket digest of bucket b as edited.
func (e *bucketEdit) digest(b uint16) setroot.Hash {
	h := sha256.New()
	for _, r := range e.changed[b] {
		h.Write(r.leaf[:])
	}
	var d setroot.Hash
	h.Sum(d[:0])
	return d
}

// commit installs the edit as the cache of version/head.
func (c *listCache) commit(e *bucketEdit, version uint64, head string) {
	buckets := e.base
	if buckets == nil {
		buckets = make([][]memberRec, setroot.Buckets)
	}
	for b, r := range e.changed {
		buckets[b] = r
	}
	c.buckets, c.version, c.head, c.valid = buckets, version, head, true
}
