package mirror

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

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

func (s *leafSet) insert(leaf setroot.Hash, fp uint64) {
	i, _ := s.search(leaf)
	s.leaves = slices.Insert(s.leaves, i, leaf)
	s.fps = slices.Insert(s.fps, i, fp)
}

func (s *leafSet) remove(i int) {
	s.leaves = slices.Delete(s.leaves, i, i+1)
	s.fps = slices.Delete(s.fps, i, i+1)
}

// find returns the position of the member with key in bucket b, checking
// each fingerprint match against the member's stored line.
func (s *leafSet) find(members *bolt.Bucket, key string, b uint16, fp uint64) (int, bool) {
	var mk [memberKeyLen]byte
	binary.BigEndian.PutUint16(mk[:], b)
	for i, f := range s.fps {
		if f != fp {
			continue
		}
		copy(mk[2:], s.leaves[i][:])
		if k, ok := release.LineKey(members.Get(mk[:])); ok && k == key {
			return i, true
		}
	}
	return 0, false
}

// leafSets reads and writes a step's touched buckets.
type leafSets struct {
	b    *bolt.Bucket
	sets map[uint16]*leafSet
}

func newLeafSets(b *bolt.Bucket) *leafSets { return &leafSets{b: b, sets: map[uint16]*leafSet{}} }

func (ls *leafSets) get(b uint16) (*leafSet, error) {
	if s := ls.sets[b]; s != nil {
		return s, nil
	}
	s := &leafSet{}
	if v := ls.b.Get([]byte{byte(b >> 8), byte(b)}); v != nil {
		var err error
		if s, err = decodeLeafSet(v); err != nil {
			return nil, err
		}
	}
	ls.sets[b] = s
	return s, nil
}

// store writes every touched bucket's leaves and digest, in bucket order,
// and calls set with each new digest.
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
		if len(s.leaves) == 0 {
			if err := ls.b.Delete(k); err != nil {
				return err
			}
			if err := tree.Delete(k); err != nil {
				return err
			}
			continue
		}
		if err := ls.b.Put(k, s.encode()); err != nil {
			return err
		}
		if err := tree.Put(k, d[:]); err != nil {
			return err
		}
	}
	return nil
}
