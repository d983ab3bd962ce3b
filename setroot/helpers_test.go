package setroot_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/hashhub/hashhub/setroot"
)

// entry is one snapshot line and its key.
type entry struct {
	key  string
	line []byte
}

// all yields entries for setroot.Compute.
func all(entries []entry) func(yield func(string, []byte) bool) {
	return func(yield func(string, []byte) bool) {
		for _, e := range entries {
			if !yield(e.key, e.line) {
				return
			}
		}
	}
}

// readSnapshot reads an NDJSON snapshot the way scripts/setroot.py does:
// the line is the bytes without "\n", the key is algo + ":" + value.
func readSnapshot(t testing.TB, path string) []entry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var entries []entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := bytes.Clone(sc.Bytes())
		var v struct{ Algo, Value string }
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		entries = append(entries, entry{key: v.Algo + ":" + v.Value, line: line})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return entries
}

// set keeps each bucket's sorted leaves, the way a server maintains them,
// and pushes changed bucket digests into a Tree.
type set struct {
	tree    *setroot.Tree
	buckets map[uint16][]setroot.Hash
	lines   map[string][]byte
}

func newSet() *set {
	return &set{tree: setroot.NewTree(), buckets: map[uint16][]setroot.Hash{}, lines: map[string][]byte{}}
}

// put adds an entry or replaces its line.
func (s *set) put(key string, line []byte) {
	s.remove(key)
	b := setroot.Bucket(key)
	leaf := setroot.LeafHash(line)
	leaves := s.buckets[b]
	i, _ := slices.BinarySearchFunc(leaves, leaf, cmpHash)
	s.buckets[b] = slices.Insert(leaves, i, leaf)
	s.lines[key] = line
	s.tree.SetBucket(b, setroot.BucketDigest(s.buckets[b]))
}

func (s *set) remove(key string) {
	old, ok := s.lines[key]
	if !ok {
		return
	}
	delete(s.lines, key)
	b := setroot.Bucket(key)
	leaves := s.buckets[b]
	i, found := slices.BinarySearchFunc(leaves, setroot.LeafHash(old), cmpHash)
	if !found {
		panic("leaf missing")
	}
	s.buckets[b] = slices.Delete(leaves, i, i+1)
	s.tree.SetBucket(b, setroot.BucketDigest(s.buckets[b]))
}

func (s *set) entries() []entry {
	var out []entry
	for k, l := range s.lines {
		out = append(out, entry{k, l})
	}
	return out
}

func (s *set) proof(key string) setroot.Proof {
	b := setroot.Bucket(key)
	return setroot.Proof{Bucket: b, Leaves: slices.Clone(s.buckets[b]), Path: s.tree.Path(b)}
}

func cmpHash(a, b setroot.Hash) int { return bytes.Compare(a[:], b[:]) }

// naiveRoot is RFC 6962's recursive MTH over bucket digests, written
// directly from the RFC with crypto/sha256 so that it shares no code with
// the package it checks.
func naiveRoot(digests []setroot.Hash) setroot.Hash {
	if len(digests) == 1 {
		return sha256.Sum256(append([]byte{0}, digests[0][:]...))
	}
	k := len(digests) / 2 // a power of two, as len is one
	l, r := naiveRoot(digests[:k]), naiveRoot(digests[k:])
	return sha256.Sum256(slices.Concat([]byte{1}, l[:], r[:]))
}

func hexRoot(h setroot.Hash) string { return fmt.Sprintf("%x", h[:]) }
