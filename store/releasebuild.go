package store

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"iter"

	bolt "go.etcd.io/bbolt"
)

// A build too large for one transaction (a list's first version at
// millions of entries) is staged under the list state's "build" bucket,
// over as many transactions as it takes, and published by one last
// transaction that reads only what was staged:
//
//	build/meta     counters and blobs of the build's progress
//	build/runs     kind(1) | run id(8) → a bucket of blocks of sorted
//	               records (see runBlock): each transaction's share of
//	               the build, sorted in memory and written in key order;
//	               member runs and delta runs are merged in key order later
//	build/digests  set-root bucket(2) → digest, as the merge completes
//	               each bucket
//	build/refs     run id(8) → the records the run's entries rest on
//
// Nothing under it is read by anything but the build: every reader of a
// list's releases goes by the published version counter, so a half-done
// build is invisible, and a build that finds one resumes it.
var (
	lsBuild      = []byte("build")
	bdMeta       = []byte("meta")
	bdRuns       = []byte("runs")
	bdDigests    = []byte("digests")
	bdRefs       = []byte("refs")
	bdSubBuckets = [][]byte{bdMeta, bdRuns, bdDigests, bdRefs}
)

// Kinds of a staged run: its keys are member keys, or entry keys.
const (
	RunMembers byte = 'm'
	RunDelta   byte = 'd'
)

// BuildState is a list's staged build inside a transaction.
type BuildState struct {
	ls *ListState
	b  *bolt.Bucket
}

// Build returns the list's staged build, or nil if there is none.
func (ls *ListState) Build() *BuildState {
	b := ls.b.Bucket(lsBuild)
	if b == nil {
		return nil
	}
	return &BuildState{ls: ls, b: b}
}

// StartBuild stages a new build; one already staged is an error.
func (ls *ListState) StartBuild() (*BuildState, error) {
	b, err := ls.b.CreateBucket(lsBuild)
	if err != nil {
		return nil, fmt.Errorf("stage build: %w", err)
	}
	for _, sub := range bdSubBuckets {
		if _, err := b.CreateBucket(sub); err != nil {
			return nil, err
		}
	}
	return &BuildState{ls: ls, b: b}, nil
}

// DropBuild deletes the staged build, if any.
func (ls *ListState) DropBuild() error {
	if ls.b.Bucket(lsBuild) == nil {
		return nil
	}
	return ls.b.DeleteBucket(lsBuild)
}

// ClearBase deletes every member of the base (for a first build that
// starts over: its members go to the base before the version exists).
func (ls *ListState) ClearBase() error {
	if err := ls.b.DeleteBucket(lsMembers); err != nil {
		return err
	}
	_, err := ls.b.CreateBucket(lsMembers)
	return err
}

// Counter reads a uint64 of the build (0 when unset).
func (bs *BuildState) Counter(key string) uint64 {
	v := bs.b.Bucket(bdMeta).Get([]byte(key))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// SetCounter writes a uint64 of the build.
func (bs *BuildState) SetCounter(key string, n uint64) error {
	return bs.b.Bucket(bdMeta).Put([]byte(key), bs.ls.t.seqKey(n))
}

// Blob reads bytes of the build (a copy; nil when unset).
func (bs *BuildState) Blob(key string) []byte {
	return bytes.Clone(bs.b.Bucket(bdMeta).Get([]byte(key)))
}

// SetBlob writes bytes of the build.
func (bs *BuildState) SetBlob(key string, v []byte) error {
	return bs.b.Bucket(bdMeta).Put([]byte(key), bs.ls.t.keep(v))
}

// runBlock is about how many bytes of a run go in one stored value. A
// run's records are packed into blocks (uvarint key length, key, uvarint
// value length, value; each block keyed by its first record's key)
// rather than stored one bbolt key each: bbolt's cost is per key (a
// cursor seek, an inode, a node that grows one inode at a time, a split
// at commit), and a run is only ever written whole, in key order, and
// read back in order. A 64 KiB value is a leaf page of its own with its
// overflow, written and freed as one span.
const runBlock = 64 << 10

// PutRun stores one run of the given kind: kvs must come in strictly
// ascending key order. It returns the run's id.
func (bs *BuildState) PutRun(kind byte, kvs iter.Seq2[[]byte, []byte]) (uint64, error) {
	runs := bs.b.Bucket(bdRuns)
	id, err := runs.NextSequence()
	if err != nil {
		return 0, err
	}
	name := append([]byte{kind}, binary.BigEndian.AppendUint64(nil, id)...)
	r, err := runs.CreateBucket(name)
	if err != nil {
		return 0, err
	}
	r.FillPercent = 1 // written in key order, never changed after
	var block, first, prev []byte
	flush := func() error {
		if len(block) == 0 {
			return nil
		}
		// A fresh block each time: bbolt holds the value until commit.
		err := r.Put(bs.ls.t.keep(first), block)
		block = nil
		return err
	}
	for k, v := range kvs {
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return 0, fmt.Errorf("run key %x after %x", k, prev)
		}
		if len(block) >= runBlock {
			if err := flush(); err != nil {
				return 0, err
			}
		}
		if block == nil {
			block = make([]byte, 0, runBlock+len(k)+len(v)+2*binary.MaxVarintLen64)
			first = append(first[:0], k...)
		}
		block = appendBytes(block, k)
		prev = block[len(block)-len(k) : len(block) : len(block)] // the caller may reuse k
		block = appendBytes(block, v)
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return id, nil
}

// DropRuns deletes up to n runs of a kind (all of them when n is 0) and
// reports how many are left.
func (bs *BuildState) DropRuns(kind byte, n int) (left int, err error) {
	runs := bs.b.Bucket(bdRuns)
	var names [][]byte
	c := runs.Cursor()
	for k, _ := c.Seek([]byte{kind}); k != nil && k[0] == kind; k, _ = c.Next() {
		names = append(names, bytes.Clone(k))
	}
	for i, name := range names {
		if n > 0 && i == n {
			return len(names) - n, nil
		}
		if err := runs.DeleteBucket(name); err != nil {
			return len(names) - i, err
		}
	}
	return 0, nil
}

// MergeRuns calls fn with the keys and values of every run of a kind, in
// ascending key order, from the first key after after (from the first key
// when after is nil), until fn returns false. A key in several runs is
// given once, from the latest run. The slices are valid only in the
// transaction.
func (bs *BuildState) MergeRuns(kind byte, after []byte, fn func(k, v []byte) bool) error {
	runs := bs.b.Bucket(bdRuns)
	var h runHeap
	c := runs.Cursor()
	for k, _ := c.Seek([]byte{kind}); k != nil && k[0] == kind; k, _ = c.Next() {
		r := &runHead{c: runs.Bucket(k).Cursor(), order: len(h)}
		ok, err := r.seek(after)
		if err != nil {
			return err
		}
		if ok {
			h = append(h, r)
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		top := h[0]
		k, v := top.k, top.v
		// Earlier runs holding the same key are passed over.
		for h.Len() > 0 && bytes.Equal(h[0].k, k) {
			r := h[0]
			ok, err := r.next()
			if err != nil {
				return err
			}
			if ok {
				heap.Fix(&h, 0)
			} else {
				heap.Pop(&h)
			}
		}
		if !fn(k, v) {
			return nil
		}
	}
	return nil
}

// runHead reads one run's records in order, a block at a time.
type runHead struct {
	c     *bolt.Cursor
	block []byte // what is left of the current block
	k, v  []byte
	order int // later runs win a tie
}

// seek positions r at its first record after after (at its first when
// after is nil); false when there is none.
func (r *runHead) seek(after []byte) (bool, error) {
	var bk, bv []byte
	if after == nil {
		bk, bv = r.c.First()
	} else {
		// The block holding after, if any, is the last one whose first
		// key is not above it.
		if bk, bv = r.c.Seek(after); bk == nil {
			bk, bv = r.c.Last()
		} else if !bytes.Equal(bk, after) {
			if pk, pv := r.c.Prev(); pk != nil {
				bk, bv = pk, pv
			} else {
				bk, bv = r.c.First()
			}
		}
	}
	if bk == nil {
		return false, nil
	}
	r.block = bv
	for {
		ok, err := r.next()
		if !ok || err != nil || after == nil || bytes.Compare(r.k, after) > 0 {
			return ok, err
		}
	}
}

// next moves r to its next record; false at the run's end.
func (r *runHead) next() (bool, error) {
	for len(r.block) == 0 {
		k, v := r.c.Next()
		if k == nil {
			r.k, r.v = nil, nil
			return false, nil
		}
		r.block = v
	}
	d := decoder{b: r.block}
	r.k, r.v = d.bytes(), d.bytes()
	if d.err != nil {
		return false, fmt.Errorf("staged run: %w", d.err)
	}
	r.block = d.b
	return true, nil
}

type runHeap []*runHead

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].k, h[j].k); c != 0 {
		return c < 0
	}
	return h[i].order > h[j].order
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*runHead)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// PutDigest records a set-root bucket's digest.
func (bs *BuildState) PutDigest(bucket uint16, digest []byte) error {
	d := bs.b.Bucket(bdDigests)
	d.FillPercent = 1
	return d.Put(bs.ls.t.keep(binary.BigEndian.AppendUint16(nil, bucket)), bs.ls.t.keep(digest))
}

// Digests calls fn with every recorded bucket digest, in bucket order.
func (bs *BuildState) Digests(fn func(bucket uint16, digest []byte) error) error {
	c := bs.b.Bucket(bdDigests).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 2 {
			return errCorrupt
		}
		if err := fn(binary.BigEndian.Uint16(k), v); err != nil {
			return err
		}
	}
	return nil
}

// PutRefs records the records a run's entries rest on.
func (bs *BuildState) PutRefs(run uint64, refs []RecordRef) error {
	v := appendRefs(nil, refs)
	return bs.b.Bucket(bdRefs).Put(bs.ls.t.seqKey(run), bs.ls.t.keep(v))
}

// Refs calls fn with every recorded record reference (repeats included).
func (bs *BuildState) Refs(fn func(RecordRef)) error {
	c := bs.b.Bucket(bdRefs).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := eachRef(v, func(r RecordRef) error { fn(r); return nil }); err != nil {
			return err
		}
	}
	return nil
}

// PutDeltaChunk stores one chunk of a version's delta (see PutRelease:
// chunk i holds bytes [i·DeltaChunk, (i+1)·DeltaChunk)).
func (ls *ListState) PutDeltaChunk(version uint64, i uint32, chunk []byte) error {
	db := ls.sub(lsDeltas)
	db.FillPercent = 1.0
	var k [12]byte
	binary.BigEndian.PutUint64(k[:8], version)
	binary.BigEndian.PutUint32(k[8:], i)
	return db.Put(ls.t.keep(k[:]), ls.t.keep(chunk))
}

// PutManifest stores a version's manifest and signature, its delta being
// stored already (PutDeltaChunk).
func (ls *ListState) PutManifest(version uint64, manifest, sig []byte) error {
	vk := ls.t.seqKey(version)
	if err := ls.sub(lsManifests).Put(vk, ls.t.keep(manifest)); err != nil {
		return err
	}
	return ls.sub(lsSigs).Put(vk, ls.t.keep(sig))
}
