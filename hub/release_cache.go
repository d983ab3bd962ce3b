package hub

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"
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
// and rehashes a touched bucket from memory. The stored members stay the source of truth: the
// cache is rebuilt from them (one scan) when it does not describe the
// list's latest version — after a start, or a build this process did not
// finish — and replaced only after a build commits.
//
// It costs 48 bytes a member (480 MB for a 10-million-entry list).
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

func cmpRec(x, y memberRec) int { return bytes.Compare(x.leaf[:], y.leaf[:]) }

// bucketJob is one touched bucket's changes: the leaves it loses and the
// members it gains, each in leaf order.
type bucketJob struct {
	b        uint16
	gone     []setroot.Hash
	gained   []memberRec
	members  []memberRec // the bucket after the changes
	digest   setroot.Hash
	notFound int // leaves in gone that the bucket does not hold
}

// apply makes the bucket changes — gone: leaves removed, gained: members
// added, both sorted by (bucket, leaf) — and returns the digests of the
// touched buckets. Each touched bucket is rebuilt and hashed in one merge
// pass, and the buckets are shared out over every core: at 10M entries a
// build's ~9,300 touched buckets hold ~1.4M leaves.
func (e *bucketEdit) apply(gone []bucketLeaf, gained []bucketMember) ([]uint16, []setroot.Hash, error) {
	var jobs []bucketJob
	i, j := 0, 0
	for i < len(gone) || j < len(gained) {
		b := uint16(0)
		switch {
		case j == len(gained) || (i < len(gone) && gone[i].b < gained[j].b):
			b = gone[i].b
		default:
			b = gained[j].b
		}
		job := bucketJob{b: b}
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
			var buf []byte
			for k := w; k < len(jobs); k += workers {
				buf = jobs[k].run(e.base, buf)
			}
		})
	}
	wg.Wait()
	bs := make([]uint16, len(jobs))
	ds := make([]setroot.Hash, len(jobs))
	for k := range jobs {
		if jobs[k].notFound > 0 {
			return nil, nil, fmt.Errorf("bucket %d: %d removed members not in memory", jobs[k].b, jobs[k].notFound)
		}
		e.changed[jobs[k].b] = jobs[k].members
		bs[k], ds[k] = jobs[k].b, jobs[k].digest
	}
	return bs, ds, nil
}

// run merges the job's bucket and hashes it (buf: scratch for the leaves).
func (j *bucketJob) run(base [][]memberRec, buf []byte) []byte {
	var old []memberRec
	if base != nil {
		old = base[j.b]
	}
	out := make([]memberRec, 0, len(old)-min(len(old), len(j.gone))+len(j.gained))
	g, a := 0, 0
	for _, r := range old {
		for ; g < len(j.gone) && bytes.Compare(j.gone[g][:], r.leaf[:]) < 0; g++ {
			j.notFound++
		}
		if g < len(j.gone) && j.gone[g] == r.leaf {
			g++
			continue
		}
		for ; a < len(j.gained) && cmpRec(j.gained[a], r) < 0; a++ {
			out = append(out, j.gained[a])
		}
		out = append(out, r)
	}
	j.notFound += len(j.gone) - g
	out = append(out, j.gained[a:]...)
	buf = buf[:0]
	for _, r := range out {
		buf = append(buf, r.leaf[:]...)
	}
	j.members, j.digest = out, sha256.Sum256(buf)
	return buf
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
