package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/entries"
)

// A list's published state lives in a bucket of its own under bListState:
//
//	meta      small counters and cursors, and the set-root tree blob
//	members   bucket(2) | leaf hash(32) → snapshot line: the list's contents
//	          as of the last fold (the base), in set-root order, so
//	          one bucket's leaves are one prefix scan and the snapshot one
//	          cursor walk
//	overlay   runs: run id(8) → a bucket of the same keys → snapshot line,
//	          or a tombstone (0x00) for a member removed; one run per
//	          build since the last fold, a later run over an earlier one.
//	          The list's contents are the base with the runs laid over it
//	          (every reader below merges them)
//	manifests version(8) → manifest bytes;  sigs  version(8) → signature
//	deltas    version(8) | chunk(4) → the version's canonical delta bytes
var (
	bListState = []byte("list_state")
	bLogHashes = []byte("log_hashes")
	bLogLeaves = []byte("log_leaves")

	lsMeta    = []byte("meta")
	lsMembers = []byte("members")
	lsOverlay = []byte("overlay")
	// lsByEntry (entry sequence → member key) is no longer kept: a build
	// finds an entry's member through its bucket (package hub keeps the
	// bucket leaves in memory). Stores written before still hold it until
	// the next build drops it (DropByEntry).
	lsByEntry   = []byte("by_entry")
	lsManifests = []byte("manifests")
	lsSigs      = []byte("sigs")
	lsDeltas    = []byte("deltas")

	// tombstone is an overlay value: the base member under the key is
	// removed. A snapshot line starts with '{', so it cannot be one.
	tombstone = []byte{0}
)

// metaOverlayOps (in meta) counts the member writes into the overlay
// since the last fold: an upper bound of its keys.
const metaOverlayOps = "overlay_ops"

// DeltaChunk is the size of the pieces a delta is stored in.
const DeltaChunk = 1 << 20

// ListState is one list's published state inside a transaction.
type ListState struct {
	t *Tx
	b *bolt.Bucket
}

// ListState opens a list's state; with create it is made on first use
// (read-only transactions get ErrNotFound for a list never released).
func (t *Tx) ListState(name string, create bool) (*ListState, error) {
	root := t.b(bListState)
	b := root.Bucket([]byte(name))
	if b == nil {
		if !create {
			return nil, ErrNotFound
		}
		var err error
		if b, err = root.CreateBucket([]byte(name)); err != nil {
			return nil, err
		}
		for _, sub := range [][]byte{lsMeta, lsMembers, lsManifests, lsSigs, lsDeltas} {
			if _, err := b.CreateBucket(sub); err != nil {
				return nil, err
			}
		}
	}
	return &ListState{t: t, b: b}, nil
}

func (ls *ListState) sub(name []byte) *bolt.Bucket { return ls.b.Bucket(name) }

// Counter reads a uint64 from meta (0 when unset).
func (ls *ListState) Counter(key string) uint64 {
	v := ls.sub(lsMeta).Get([]byte(key))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// SetCounter writes a uint64 to meta.
func (ls *ListState) SetCounter(key string, n uint64) error {
	return ls.sub(lsMeta).Put([]byte(key), ls.t.seqKey(n))
}

// Blob reads bytes from meta (nil when unset). The slice is valid only in
// the transaction.
func (ls *ListState) Blob(key string) []byte { return ls.sub(lsMeta).Get([]byte(key)) }

// SetBlob writes bytes to meta.
func (ls *ListState) SetBlob(key string, v []byte) error {
	return ls.sub(lsMeta).Put([]byte(key), ls.t.keep(v))
}

// MemberKeyLen is bucket(2) + leaf hash(32).
const MemberKeyLen = 34

// Why an overlay of runs: a release after k changes writes ~k random
// members. In one big tree every one dirties a leaf page and its branch
// path, so the pages a build writes grow with the list (at 10M entries the
// members tree is 680k leaves under 17k branch pages). Written in key
// order into a run of their own, the same changes fill ~k/35 fresh pages,
// however long the list and however many runs came before;
// FoldMembers moves the runs into the base from time to time, in
// transactions of their own.

// MemberLine returns the line stored under a member key (nil if none).
// The slice is valid only in the transaction.
func (ls *ListState) MemberLine(key []byte) []byte {
	runs := ls.runs()
	for i := len(runs) - 1; i >= 0; i-- {
		if v := runs[i].b.Get(key); v != nil {
			if bytes.Equal(v, tombstone) {
				return nil
			}
			return v
		}
	}
	return ls.sub(lsMembers).Get(key)
}

// run is one run of the overlay.
type run struct {
	name []byte
	b    *bolt.Bucket
}

// runs returns the overlay's runs, earliest first.
func (ls *ListState) runs() []run {
	ov := ls.b.Bucket(lsOverlay)
	if ov == nil {
		return nil
	}
	var out []run
	c := ov.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil { // a nested bucket
			out = append(out, run{name: bytes.Clone(k), b: ov.Bucket(k)})
		}
	}
	return out
}

// DropByEntry deletes the entry → member map that stores written by
// earlier versions kept (a one-time cost on the first build after an
// upgrade); it reports whether there was one.
func (ls *ListState) DropByEntry() (bool, error) {
	if ls.b.Bucket(lsByEntry) == nil {
		return false, nil
	}
	return true, ls.b.DeleteBucket(lsByEntry)
}

// MemberOp is one change to a list's members: the member key's line, or
// its removal (Line nil).
type MemberOp struct {
	Key  []byte // bucket(2) | leaf hash(32)
	Line []byte
}

// WriteMembers applies ops, which must come in strictly ascending key
// order, in one pass (bbolt's fast path), and returns how many there were.
// With overlay they become a new run of the overlay, its pages filled
// full (a removal is a tombstone); without, they go to the base, which
// needs the overlay empty (CompactMembers first): that is for builds so
// large that the overlay would gain nothing, such as version 1.
func (ls *ListState) WriteMembers(ops iter.Seq[MemberOp], overlay bool) (int, error) {
	var b *bolt.Bucket
	if !overlay {
		if n := ls.OverlayOps(); n > 0 {
			return 0, fmt.Errorf("member writes to the base with %d in the overlay", n)
		}
		b = ls.sub(lsMembers)
	}
	// A run is made at the first op: a build with none (a heartbeat)
	// leaves the overlay as it is.
	newRun := func() (*bolt.Bucket, error) {
		ov, err := ls.b.CreateBucketIfNotExists(lsOverlay)
		if err != nil {
			return nil, err
		}
		id, err := ov.NextSequence()
		if err != nil {
			return nil, err
		}
		r, err := ov.CreateBucket(binary.BigEndian.AppendUint64(nil, id))
		if err != nil {
			return nil, err
		}
		r.FillPercent = 1 // written in key order, never changed after
		return r, nil
	}
	n := 0
	var prev []byte
	var err error
	for op := range ops {
		if b == nil {
			if b, err = newRun(); err != nil {
				return 0, err
			}
		}
		switch {
		case len(op.Key) != MemberKeyLen:
			err = fmt.Errorf("member key of %d bytes", len(op.Key))
		case prev != nil && bytes.Compare(prev, op.Key) >= 0:
			err = fmt.Errorf("member key %x after %x", op.Key, prev)
		case op.Line != nil:
			err = b.Put(ls.t.keep(op.Key), ls.t.keep(op.Line))
		case overlay:
			err = b.Put(ls.t.keep(op.Key), tombstone)
		default:
			err = b.Delete(op.Key)
		}
		if err != nil {
			return n, err
		}
		prev = op.Key
		n++
	}
	if !overlay {
		return n, nil
	}
	return n, ls.SetCounter(metaOverlayOps, ls.OverlayOps()+uint64(n))
}

// OverlayRuns is the number of runs in the overlay.
func (ls *ListState) OverlayRuns() int { return len(ls.runs()) }

// OverlayOps is the number of member writes into the overlay since the
// last fold.
func (ls *ListState) OverlayOps() uint64 { return ls.Counter(metaOverlayOps) }

// CompactMembers folds the whole overlay into the base, in key order, and
// empties it; the members as read do not change. It returns the number of
// overlay keys folded.
func (ls *ListState) CompactMembers() (int, error) { return ls.FoldMembers(0) }

// FoldMembers moves the first limit keys of the overlay (all of them when
// limit is 0), in key order and as the latest run has them, into the
// base: a tombstone deletes the base member, a line replaces it. The
// members as read do not change, so a fold may be split over as many
// transactions as its caller likes, between builds. It returns the number
// of keys moved; OverlayOps is 0 once the overlay is empty.
func (ls *ListState) FoldMembers(limit int) (int, error) {
	runs := ls.runs()
	if len(runs) == 0 {
		if ls.b.Bucket(lsOverlay) != nil {
			if err := ls.b.DeleteBucket(lsOverlay); err != nil {
				return 0, err
			}
		}
		return 0, ls.SetCounter(metaOverlayOps, 0)
	}
	base := ls.sub(lsMembers)
	mc := newMemberCursor(nil, runs, true)
	moved := 0
	var last []byte
	k, v := mc.seek(nil)
	for ; k != nil && (limit == 0 || moved < limit); k, v = mc.next() {
		var err error
		// Keep copies: the runs' pages change below.
		if bytes.Equal(v, tombstone) {
			err = base.Delete(k)
		} else {
			err = base.Put(ls.t.keep(k), ls.t.keep(v))
		}
		if err != nil {
			return moved, err
		}
		last = ls.t.keep(k)
		moved++
	}
	if k == nil {
		if err := ls.b.DeleteBucket(lsOverlay); err != nil {
			return moved, err
		}
		return moved, ls.SetCounter(metaOverlayOps, 0)
	}
	// Drop the moved keys (each run's keys up to the last one moved), and
	// the runs left empty.
	ov := ls.b.Bucket(lsOverlay)
	for _, r := range runs {
		var done [][]byte
		c := r.b.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, last) <= 0; k, _ = c.Next() {
			done = append(done, k)
		}
		for _, k := range done {
			if err := r.b.Delete(k); err != nil {
				return moved, err
			}
		}
		if k, _ := r.b.Cursor().First(); k == nil {
			if err := ov.DeleteBucket(r.name); err != nil {
				return moved, err
			}
		}
	}
	// The counter bounds the overlay's keys from above.
	left := ls.OverlayOps() - min(ls.OverlayOps(), uint64(moved))
	return moved, ls.SetCounter(metaOverlayOps, max(left, 1))
}

// memberCursor walks the members as read: the base with the overlay's
// runs laid over it, in key order. A key in several places is read from
// the latest run that has it; a tombstone hides it (or, with tombstones
// set, is returned as its line).
type memberCursor struct {
	base       *bolt.Cursor // nil: the runs alone
	bk, bv     []byte
	runs       []*runCursor // earliest first
	min        int          // the run whose head comes first (the latest on a tie); -1: none
	tombstones bool
}

type runCursor struct {
	c    *bolt.Cursor
	k, v []byte
}

func (ls *ListState) memberCursor() *memberCursor {
	return newMemberCursor(ls.sub(lsMembers), ls.runs(), false)
}

func newMemberCursor(base *bolt.Bucket, runs []run, tombstones bool) *memberCursor {
	mc := &memberCursor{tombstones: tombstones, min: -1}
	if base != nil {
		mc.base = base.Cursor()
	}
	for _, r := range runs {
		mc.runs = append(mc.runs, &runCursor{c: r.b.Cursor()})
	}
	return mc
}

// seek positions the cursor at the first member with key ≥ k (the first
// member when k is nil) and returns it.
func (mc *memberCursor) seek(k []byte) (key, line []byte) {
	if mc.base != nil {
		if k == nil {
			mc.bk, mc.bv = mc.base.First()
		} else {
			mc.bk, mc.bv = mc.base.Seek(k)
		}
	}
	for _, r := range mc.runs {
		if k == nil {
			r.k, r.v = r.c.First()
		} else {
			r.k, r.v = r.c.Seek(k)
		}
	}
	mc.pickMin()
	return mc.next()
}

// pickMin finds the run whose head comes first, the latest on a tie.
func (mc *memberCursor) pickMin() {
	mc.min = -1
	for i, r := range mc.runs {
		if r.k != nil && (mc.min < 0 || bytes.Compare(r.k, mc.runs[mc.min].k) <= 0) {
			mc.min = i
		}
	}
}

// next returns the member at the cursor and moves past it; nil at the end.
func (mc *memberCursor) next() (key, line []byte) {
	for {
		if mc.min < 0 {
			if mc.bk == nil {
				return nil, nil
			}
			key, line = mc.bk, mc.bv
			mc.bk, mc.bv = mc.base.Next()
			return key, line
		}
		head := mc.runs[mc.min]
		c := -1
		if mc.bk != nil {
			c = bytes.Compare(head.k, mc.bk)
		}
		if c > 0 {
			key, line = mc.bk, mc.bv
			mc.bk, mc.bv = mc.base.Next()
			return key, line
		}
		if c == 0 {
			mc.bk, mc.bv = mc.base.Next()
		}
		key, line = head.k, head.v
		// Earlier runs with the same key are hidden by this one.
		for _, r := range mc.runs {
			if r.k != nil && bytes.Equal(r.k, key) {
				r.k, r.v = r.c.Next()
			}
		}
		mc.pickMin()
		if mc.tombstones || !bytes.Equal(line, tombstone) {
			return key, line
		}
	}
}

// BucketLeaves calls fn with the leaf hash of every member in a set-root
// bucket, in ascending order.
func (ls *ListState) BucketLeaves(bucket uint16, fn func(leaf []byte)) {
	ls.BucketMembers(bucket, func(leaf, _ []byte) bool { fn(leaf); return true })
}

// BucketMembers calls fn with the leaf hash and line of every member in a
// set-root bucket, in ascending leaf order, until fn returns false. The
// slices are valid only in the transaction.
func (ls *ListState) BucketMembers(bucket uint16, fn func(leaf, line []byte) bool) {
	var prefix [2]byte
	binary.BigEndian.PutUint16(prefix[:], bucket)
	mc := ls.memberCursor()
	for k, v := mc.seek(prefix[:]); k != nil && bytes.HasPrefix(k, prefix[:]); k, v = mc.next() {
		if !fn(k[2:], v) {
			return
		}
	}
}

// MemberKeys calls fn with every member's key and line in set-root order,
// until fn returns false. The slices are valid only in the transaction.
func (ls *ListState) MemberKeys(fn func(key, line []byte) bool) {
	mc := ls.memberCursor()
	for k, v := mc.seek(nil); k != nil; k, v = mc.next() {
		if !fn(k, v) {
			return
		}
	}
}

// Members calls fn with every member's line in set-root order, until fn
// returns false.
func (ls *ListState) Members(fn func(line []byte) bool) {
	ls.MemberKeys(func(_, line []byte) bool { return fn(line) })
}

// PutRelease stores a version's manifest, signature and delta bytes.
func (ls *ListState) PutRelease(version uint64, manifest, sig, delta []byte) error {
	vk := ls.t.seqKey(version)
	if err := ls.sub(lsManifests).Put(vk, ls.t.keep(manifest)); err != nil {
		return err
	}
	if err := ls.sub(lsSigs).Put(vk, ls.t.keep(sig)); err != nil {
		return err
	}
	db := ls.sub(lsDeltas)
	db.FillPercent = 1.0
	for i := 0; i*DeltaChunk < len(delta) || i == 0; i++ {
		chunk := delta[i*DeltaChunk : min((i+1)*DeltaChunk, len(delta))]
		var k [12]byte
		binary.BigEndian.PutUint64(k[:8], version)
		binary.BigEndian.PutUint32(k[8:], uint32(i))
		// Chunks reference the caller's delta buffer, which outlives the
		// transaction's commit.
		if err := db.Put(ls.t.keep(k[:]), chunk); err != nil {
			return err
		}
	}
	return nil
}

// Manifest returns a version's manifest and signature (copies).
func (ls *ListState) Manifest(version uint64) (manifest, sig []byte, err error) {
	m := ls.sub(lsManifests).Get(seqKey(version))
	if m == nil {
		return nil, nil, ErrNotFound
	}
	s := ls.sub(lsSigs).Get(seqKey(version))
	return bytes.Clone(m), bytes.Clone(s), nil
}

// DeltaChunks calls fn with each stored chunk of a version's delta, in
// order. The slices are valid only in the transaction.
func (ls *ListState) DeltaChunks(version uint64, fn func(chunk []byte) error) error {
	c := ls.sub(lsDeltas).Cursor()
	prefix := seqKey(version)
	found := false
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		found = true
		if err := fn(v); err != nil {
			return err
		}
	}
	if !found {
		return ErrNotFound
	}
	return nil
}

// DeleteDelta drops a version's delta (retention); the manifest stays.
func (ls *ListState) DeleteDelta(version uint64) error {
	c := ls.sub(lsDeltas).Cursor()
	prefix := seqKey(version)
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// EntryAt reads an entry by its sequence number.
func (t *Tx) EntryAt(seq uint64) (*entries.Entry, error) { return t.entryAt(seqKey(seq)) }

// LastEntrySeq is the sequence number of the newest entry.
func (t *Tx) LastEntrySeq() uint64 { return t.b(bEntries).Sequence() }

// LastChangeSeq is the change feed's last number.
func (t *Tx) LastChangeSeq() uint64 { return t.b(bChanges).Sequence() }

// ---- transparency log storage ----

// LogStorage keeps the transparency log's stored hashes and leaves in this
// transaction (see translog.Storage).
type LogStorage struct{ t *Tx }

// Log returns the log storage of the transaction.
func (t *Tx) Log() *LogStorage { return &LogStorage{t} }

const metaLogSize = "log_size"

// ReadHashes returns stored hashes by storage index.
func (l *LogStorage) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	b := l.t.b(bLogHashes)
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		v := b.Get(seqKey(uint64(x)))
		if len(v) != 32 {
			return nil, fmt.Errorf("log hash %d: %w", x, ErrNotFound)
		}
		copy(out[i][:], v)
	}
	return out, nil
}

// WriteHashes stores hashes at consecutive storage indexes.
func (l *LogStorage) WriteHashes(start int64, hashes []tlog.Hash) error {
	b := l.t.b(bLogHashes)
	b.FillPercent = 1.0
	for i := range hashes {
		if err := b.Put(l.t.seqKey(uint64(start)+uint64(i)), l.t.keep(hashes[i][:])); err != nil {
			return err
		}
	}
	return nil
}

// Leaf returns a leaf's data.
func (l *LogStorage) Leaf(index int64) ([]byte, error) {
	v := l.t.b(bLogLeaves).Get(seqKey(uint64(index)))
	if v == nil {
		return nil, ErrNotFound
	}
	return bytes.Clone(v), nil
}

// PutLeaf stores a leaf's data.
func (l *LogStorage) PutLeaf(index int64, data []byte) error {
	b := l.t.b(bLogLeaves)
	b.FillPercent = 1.0
	return b.Put(l.t.seqKey(uint64(index)), l.t.keep(data))
}

// TreeSize is the number of leaves.
func (l *LogStorage) TreeSize() (int64, error) {
	var n int64
	if err := l.t.get(bMeta, metaLogSize, &n); err != nil && err != ErrNotFound {
		return 0, err
	}
	return n, nil
}

// SetTreeSize records the number of leaves.
func (l *LogStorage) SetTreeSize(n int64) error { return l.t.put(bMeta, metaLogSize, n) }
