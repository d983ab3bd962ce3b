package mirror

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
)

// The leaves bucket holds, for each non-empty set-root bucket, the leaf
// hashes of its members in ascending order followed by their keys'
// fingerprints in the same order:
//
//	bucket(2) → leaf₁ … leafₙ (32 bytes each) | fp₁ … fpₙ (8 bytes each)
//
// A bucket digest is SHA-256 of the first 32·n bytes as stored, so a
// touched bucket is rehashed from one value instead of a scan of its
// members and their lines; and an entry's member is found from its key
// alone — the bucket and fingerprint are the first ten bytes of
// SHA-256(key), the fingerprint is confirmed against the member's stored
// line — so the mirror keeps no key → member index.

// keyBucket returns a key's set-root bucket and fingerprint.
func keyBucket(key string) (uint16, uint64) {
	h := sha256.Sum256([]byte(key))
	return binary.BigEndian.Uint16(h[:2]), binary.BigEndian.Uint64(h[2:10])
}

// leafSet is one set-root bucket's members, sorted by leaf.
type leafSet struct {
	leaves []setroot.Hash
	fps    []uint64
}

func decodeLeafSet(v []byte) (*leafSet, error) {
	if len(v)%40 != 0 {
		return nil, fmt.Errorf("%w: set-root bucket leaves of %d bytes", ErrCorrupt, len(v))
	}
	n := len(v) / 40
	s := &leafSet{leaves: make([]setroot.Hash, n, n+4), fps: make([]uint64, n, n+4)}
	for i := range n {
		copy(s.leaves[i][:], v[i*32:])
		s.fps[i] = binary.BigEndian.Uint64(v[n*32+i*8:])
	}
	return s, nil
}

func (s *leafSet) encode() []byte {
	n := len(s.leaves)
	out := make([]byte, n*40)
	for i := range n {
		copy(out[i*32:], s.leaves[i][:])
		binary.BigEndian.PutUint64(out[n*32+i*8:], s.fps[i])
	}
	return out
}

func (s *leafSet) digest() setroot.Hash { return setroot.BucketDigest(s.leaves) }

func (s *leafSet) search(leaf setroot.Hash) (int, bool) {
	return slices.BinarySearchFunc(s.leaves, leaf, func(a, b setroot.Hash) int { return bytes.Compare(a[:], b[:]) })
}

func (s *leafSet) remove(i int) {
	s.leaves = slices.Delete(s.leaves, i, i+1)
	s.fps = slices.Delete(s.fps, i, i+1)
}

// leafBuf is one set-root bucket's stored leaves value as a delta changes
// it: the value's own layout (leaves, then fingerprints) in one buffer,
// changed in place and put back as it is. A step touches thousands of
// buckets (~9,300 for 10,000 changes), each ~6 KB at 10M entries; decoding
// each into slices and encoding it again held three copies where this
// holds one, and every fresh page of memory costs a page fault.
type leafBuf struct {
	b []byte // 40·n bytes: n leaves, then n fingerprints
	n int
}

// leafSlack is the room a copied value gets for entries added to it, so
// that a few adds to one bucket do not copy it again.
const leafSlack = 4

func newLeafBuf(v []byte) (*leafBuf, error) {
	if len(v)%40 != 0 {
		return nil, fmt.Errorf("%w: set-root bucket leaves of %d bytes", ErrCorrupt, len(v))
	}
	b := make([]byte, len(v), len(v)+40*leafSlack)
	copy(b, v)
	return &leafBuf{b: b, n: len(v) / 40}, nil
}

func (s *leafBuf) leaf(i int) []byte { return s.b[i*32 : i*32+32] }

func (s *leafBuf) fp(i int) uint64 { return binary.BigEndian.Uint64(s.b[s.n*32+i*8:]) }

func (s *leafBuf) search(leaf *setroot.Hash) (int, bool) {
	return sort.Find(s.n, func(i int) int { return bytes.Compare(leaf[:], s.leaf(i)) })
}

// insert puts leaf with its key's fingerprint at its sorted position.
func (s *leafBuf) insert(leaf *setroot.Hash, fp uint64) {
	i, _ := s.search(leaf)
	n := s.n
	if cap(s.b) < 40*(n+1) {
		b := make([]byte, 40*n, 40*(n+1+leafSlack))
		copy(b, s.b)
		s.b = b
	}
	b := s.b[:40*(n+1)]
	// Fingerprints first, from the end: those from i move by 40 bytes,
	// those before i by 32 (the fingerprints start one leaf later).
	copy(b[32*(n+1)+8*(i+1):], b[32*n+8*i:40*n])
	copy(b[32*(n+1):32*(n+1)+8*i], b[32*n:32*n+8*i])
	binary.BigEndian.PutUint64(b[32*(n+1)+8*i:], fp)
	copy(b[32*(i+1):32*(n+1)], b[32*i:32*n])
	copy(b[32*i:], leaf[:])
	s.b, s.n = b, n+1
}

// remove takes out entry i.
func (s *leafBuf) remove(i int) {
	n, b := s.n, s.b
	copy(b[32*i:32*(n-1)], b[32*(i+1):32*n])
	copy(b[32*(n-1):32*(n-1)+8*i], b[32*n:32*n+8*i])
	copy(b[32*(n-1)+8*i:40*(n-1)], b[32*n+8*(i+1):40*n])
	s.b, s.n = b[:40*(n-1)], n-1
}

// digest is SHA-256 of the leaves as stored, the bucket digest.
func (s *leafBuf) digest() setroot.Hash { return sha256.Sum256(s.b[:32*s.n]) }

// find returns the position of the member with key in bucket b, checking
// each fingerprint match against the member's stored line.
func (s *leafBuf) find(members *bolt.Bucket, key string, b uint16, fp uint64) (int, bool) {
	var mk [memberKeyLen]byte
	binary.BigEndian.PutUint16(mk[:], b)
	for i := range s.n {
		if s.fp(i) != fp {
			continue
		}
		copy(mk[2:], s.leaf(i))
		if k, ok := release.LineKey(members.Get(mk[:])); ok && k == key {
			return i, true
		}
	}
	return 0, false
}

// leafSets reads and writes a step's touched buckets.
type leafSets struct {
	b    *bolt.Bucket
	sets map[uint16]*leafBuf
}

func newLeafSets(b *bolt.Bucket) *leafSets { return &leafSets{b: b, sets: map[uint16]*leafBuf{}} }

func (ls *leafSets) get(b uint16) (*leafBuf, error) {
	if s := ls.sets[b]; s != nil {
		return s, nil
	}
	s, err := newLeafBuf(ls.b.Get([]byte{byte(b >> 8), byte(b)}))
	if err != nil {
		return nil, err
	}
	ls.sets[b] = s
	return s, nil
}

// store writes every touched bucket's leaves and digest, in bucket order,
// and calls set with each new digest. Each buffer is put as it is: bbolt
// keeps it until the commit, and nothing changes it after.
func (ls *leafSets) store(tree *bolt.Bucket, set func(b uint16, d setroot.Hash)) error {
	bs := make([]uint16, 0, len(ls.sets))
	for b := range ls.sets {
		bs = append(bs, b)
	}
	slices.Sort(bs)
	for _, b := range bs {
		s := ls.sets[b]
		k := []byte{byte(b >> 8), byte(b)}
		d := s.digest()
		set(b, d)
		if s.n == 0 {
			if err := ls.b.Delete(k); err != nil {
				return err
			}
			if err := tree.Delete(k); err != nil {
				return err
			}
			continue
		}
		if err := ls.b.Put(k, s.b[:40*s.n]); err != nil {
			return err
		}
		if err := tree.Put(k, d[:]); err != nil {
			return err
		}
	}
	return nil
}
