package hub

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"fmt"
	"hash"
	"runtime"
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
// finds an entry's current member by its key's bucket and fingerprint,
// and rehashes a touched bucket from memory, from a saved SHA-256 state
// (a mark) part-way through it. The stored members stay the source of
// truth: the cache is rebuilt from them (one scan) when it does not
// describe the list's latest version — after a start, or after a build
// that changed it and then failed.
//
// It costs 50 bytes a member (500 MB for a 10-million-entry list): 48 for
// the leaf and fingerprint, 2 for the marks (32 bytes every 16 leaves).
//
// The fingerprint is 128 bits of SHA-256(key) beyond the 16 of the
// bucket, so that it identifies the key without reading the stored line:
// two keys of one bucket with the same fingerprint are a 144-bit SHA-256
// prefix collision, about 2^72 hashes of work even for someone choosing
// the keys (a hash submitted is any value of the algorithm's syntax).

// keyFP is a key's fingerprint: bytes 2–17 of SHA-256(key).
type keyFP [2]uint64

// memberRec is one member in a bucket: its leaf hash and key fingerprint.
type memberRec struct {
	leaf setroot.Hash
	fp   keyFP
}

// keyBucket returns a key's set-root bucket (the first two bytes of
// SHA-256(key)) and its fingerprint (the next sixteen), from one hash.
func keyBucket(key string) (uint16, keyFP) {
	h := sha256.Sum256([]byte(key))
	return binary.BigEndian.Uint16(h[:2]), keyFP{binary.BigEndian.Uint64(h[2:10]), binary.BigEndian.Uint64(h[10:18])}
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
	// tree is the set-root tree of the buckets' digests (nil: read it
	// from the store).
	tree *setroot.Tree
	// marks[b] holds the SHA-256 chaining values of bucket b's digest
	// after every markEvery leaves (nil until the bucket is first hashed):
	// a change rehashes the bucket from the mark before it, not from its
	// first leaf.
	marks [][]setroot.Hash
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
	// The members come in set-root order, a bucket at a time: each
	// bucket is gathered in a scratch slice and kept at its exact size
	// (appending to each bucket's own slice would leave up to half of
	// it spare: ~200 MB at 10M members).
	var cur []memberRec
	curB := -1
	flush := func() {
		if curB >= 0 && len(cur) > 0 {
			buckets[curB] = slices.Clone(cur)
		}
		cur = cur[:0]
	}
	ls.MemberKeys(func(k, line []byte) bool {
		key, ok := release.LineKey(line)
		if !ok || len(k) != store.MemberKeyLen {
			err = fmt.Errorf("stored member %x is not a canonical line", k)
			return false
		}
		b, fp := keyBucket(key)
		if b != binary.BigEndian.Uint16(k) {
			err = fmt.Errorf("stored member %x is in the wrong bucket", k)
			return false
		}
		if int(b) != curB {
			flush()
			curB = int(b)
		}
		cur = append(cur, memberRec{leaf: setroot.Hash(k[2:]), fp: fp})
		return true
	})
	if err != nil {
		return err
	}
	flush()
	c.buckets, c.version, c.head, c.valid = buckets, version, head, true
	c.marks, c.tree = make([][]setroot.Hash, setroot.Buckets), nil
	return nil
}

// find returns the leaf hash of the member whose key has bucket b and
// fingerprint fp.
func (c *listCache) find(b uint16, fp keyFP) (setroot.Hash, bool) {
	for _, r := range c.buckets[b] {
		if r.fp == fp {
			return r.leaf, true
		}
	}
	return setroot.Hash{}, false
}

// A build changes the buckets in place, before its transaction commits:
// copying each touched bucket first would cost more than the build's own
// work at 10M entries. A build that then fails marks the cache invalid
// (release.go), so the next one rebuilds it from the stored members.

func cmpRec(x, y memberRec) int { return bytes.Compare(x.leaf[:], y.leaf[:]) }

// bucketJob is one touched bucket's changes: the leaves it loses and the
// members it gains, each in leaf order.
type bucketJob struct {
	b      uint16
	gone   []setroot.Hash
	gained []memberRec
	digest setroot.Hash
	err    error
}

// apply makes the bucket changes — gone: leaves removed, gained: members
// added, both sorted by (bucket, leaf) — and returns the new digests of
// the touched buckets. Each touched bucket is merged in place and rehashed
// from its last mark before the first change; the buckets are shared out
// over every core. (At 10M entries a build's ~9,300 touched buckets hold
// ~1.4M leaves.) After an error the cache no longer describes any version.
func (c *listCache) apply(gone []bucketLeaf, gained []bucketMember) ([]uint16, []setroot.Hash, error) {
	if c.buckets == nil {
		c.buckets, c.marks = make([][]memberRec, setroot.Buckets), make([][]setroot.Hash, setroot.Buckets)
	}
	var jobs []*bucketJob
	i, j := 0, 0
	for i < len(gone) || j < len(gained) {
		b := uint16(0)
		switch {
		case j == len(gained) || (i < len(gone) && gone[i].b < gained[j].b):
			b = gone[i].b
		default:
			b = gained[j].b
		}
		job := &bucketJob{b: b}
		for ; i < len(gone) && gone[i].b == b; i++ {
			job.gone = append(job.gone, gone[i].leaf)
		}
		for ; j < len(gained) && gained[j].b == b; j++ {
			job.gained = append(job.gained, gained[j].rec)
		}
		jobs = append(jobs, job)
	}
	workers := min(runtime.GOMAXPROCS(0), len(jobs)/512+1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var sc hashScratch
			for k := w; k < len(jobs); k += workers {
				b := jobs[k].b
				jobs[k].run(&c.buckets[b], &c.marks[b], &sc)
			}
		})
	}
	wg.Wait()
	bs := make([]uint16, len(jobs))
	ds := make([]setroot.Hash, len(jobs))
	for k, job := range jobs {
		if job.err != nil {
			return nil, nil, job.err
		}
		bs[k], ds[k] = job.b, job.digest
	}
	return bs, ds, nil
}

// run merges the job's changes into its bucket in place and hashes the
// bucket from the last mark before the first change.
func (j *bucketJob) run(bucket *[]memberRec, marks *[]setroot.Hash, sc *hashScratch) {
	r := *bucket
	first := len(r) // index of the first change
	// Removals: one pass that closes the gaps, from the first gone leaf.
	if len(j.gone) > 0 {
		at, ok := slices.BinarySearchFunc(r, memberRec{leaf: j.gone[0]}, cmpRec)
		if !ok {
			j.err = fmt.Errorf("bucket %d: removed member %x not in memory", j.b, j.gone[0])
			return
		}
		first = at
		w, g := at, 0
		for k := at; k < len(r); k++ {
			if g < len(j.gone) && r[k].leaf == j.gone[g] {
				g++
				continue
			}
			r[w] = r[k]
			w++
		}
		if g < len(j.gone) {
			j.err = fmt.Errorf("bucket %d: removed member %x not in memory", j.b, j.gone[g])
			return
		}
		r = r[:w]
	}
	// Additions: grow, then merge from the back, so that only the members
	// after the first addition move.
	if n := len(j.gained); n > 0 {
		old := len(r)
		r = slices.Grow(r, n)[:old+n]
		k, g := old-1, n-1
		for w := old + n - 1; g >= 0; w-- {
			if k >= 0 && cmpRec(r[k], j.gained[g]) > 0 {
				r[w] = r[k]
				k--
			} else {
				r[w] = j.gained[g]
				g--
				first = min(first, w)
			}
		}
	}
	*bucket = r
	// Rehash from the last mark at or before the first change.
	m := *marks
	from := min(first/markEvery, len(m))
	h, ok := resumeDigest(m, from, sc)
	if !ok {
		h, from = sha256.New(), 0
	}
	m = m[:from]
	for i := from * markEvery; i < len(r); i += markEvery {
		end := min(i+markEvery, len(r))
		sc.leaves = sc.leaves[:0]
		for _, x := range r[i:end] {
			sc.leaves = append(sc.leaves, x.leaf[:]...)
		}
		h.Write(sc.leaves)
		if end-i < markEvery {
			break
		}
		cv, ok := chainValue(h, sc)
		if !ok {
			// No marks from here on: the next build starts earlier.
			for _, x := range r[end:] {
				h.Write(x.leaf[:])
			}
			break
		}
		m = append(m, cv)
	}
	*marks = m
	h.Sum(j.digest[:0])
}

// markEvery is how many leaves lie between two marks: 16 leaves are 512
// bytes, eight SHA-256 blocks, so a mark is a chaining value between
// blocks.
const markEvery = 16

// hashScratch is a worker's reusable buffers.
type hashScratch struct{ leaves, state []byte }

// SHA-256 states are saved and restored through crypto/sha256's binary
// form: "sha\x03", the eight chaining words big-endian, the 64-byte block
// buffer, the length hashed (big-endian uint64). At a mark the buffer is
// empty. TestBucketMarks checks the resumed digests against whole ones.

// resumeDigest returns a SHA-256 that has hashed the first n×markEvery
// leaves of a bucket whose marks are marks (a fresh one for n = 0).
func resumeDigest(marks []setroot.Hash, n int, sc *hashScratch) (hash.Hash, bool) {
	h := sha256.New()
	if n == 0 {
		return h, true
	}
	sc.state = append(sc.state[:0], "sha\x03"...)
	sc.state = append(sc.state, marks[n-1][:]...)
	sc.state = append(sc.state, make([]byte, 64)...)
	sc.state = binary.BigEndian.AppendUint64(sc.state, uint64(n*markEvery*len(setroot.Hash{})))
	return h, h.(encoding.BinaryUnmarshaler).UnmarshalBinary(sc.state) == nil
}

// chainValue returns h's chaining value, h having hashed whole blocks.
func chainValue(h hash.Hash, sc *hashScratch) (setroot.Hash, bool) {
	var err error
	sc.state, err = h.(encoding.BinaryAppender).AppendBinary(sc.state[:0])
	if err != nil || len(sc.state) < 36 || string(sc.state[:4]) != "sha\x03" {
		return setroot.Hash{}, false
	}
	return setroot.Hash(sc.state[4:36]), true
}

// bucketLeaf and bucketMember are a removed leaf and an added member with
// their bucket.
type bucketLeaf struct {
	b    uint16
	leaf setroot.Hash
}

type bucketMember struct {
	b   uint16
	rec memberRec
}

// published records that the buckets now describe version/head.
func (c *listCache) published(version uint64, head string) {
	c.version, c.head, c.valid = version, head, true
}
