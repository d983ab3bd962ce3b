package hub

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
	"github.com/hashhub/hashhub/store"
)

// A list's first version holds every qualifying entry: at ten million
// entries, built in one transaction, it held the whole list in memory
// several times over (the changes, the delta, bbolt's dirty pages; 14.6 GB
// at its peak). A first version with more than BuildChunk entries to
// evaluate is therefore staged (store.BuildState) and published in steps,
// each a transaction whose memory depends on BuildChunk, not on the list:
//
//  1. collect: BuildChunk entries at a time, in sequence order, are
//     evaluated; the members they give are sorted in memory and written
//     as a run of their own (and again, by entry key, as a run for the
//     delta), in key order, so no step inserts at random into a large tree;
//  2. members: the runs are merged in key order into the list's members,
//     about BuildChunk at a time and always whole set-root buckets, so
//     each step also records the digests of the buckets it completed;
//  3. delta: the delta runs are merged in key order into the version's
//     delta chunks, the SHA-256 state carried from step to step;
//  4. the runs are dropped, a few per step;
//  5. one last transaction signs and publishes the version from what was
//     staged, exactly as a build in one transaction would have.
//
// Until step 5 commits, the list's version counter says 0, and every
// reader (API, snapshot, proofs, peers) goes by it: nothing of a staged
// build is visible. A node stopped at any point (kill -9 included) finds
// the staged build on its next build of the list and resumes it from the
// last committed step; every step is a function of what was staged and
// of the entries up to the build's fixed targets, and the manifest's
// creation time is fixed when the build starts, so a resumed build
// publishes the same bytes as one never interrupted.
//
// Later versions stay single transactions: a build after k changes holds
// memory for k changes, and a build that finds the list's first version
// staged finishes it first.

// DefaultBuildChunk is how many entries one step of a staged first build
// evaluates, and about how many members or delta lines one merge step
// writes: ~300 bytes of memory each, plus bbolt's pages for them.
const DefaultBuildChunk = 1 << 17

// SetBuildChunk sets how many entries a step of a staged first build
// takes (see DefaultBuildChunk); below 1, every version is built in one
// transaction (a build staged before is still finished in steps).
func (s *Service) SetBuildChunk(n int) { s.pub.BuildChunk = n }

// Build state counters and blobs (store.BuildState).
const (
	bkTargetEntry  = "target_entry"  // entries up to this sequence number are built
	bkTargetChange = "target_change" // the change feed up to here is covered
	bkCreated      = "created"       // the manifest's creation time, Unix seconds
	bkPhase        = "phase"
	bkProgress     = "progress" // collect: the last entry evaluated
	bkCount        = "count"    // members collected
	bkMemberLast   = "member_last"
	bkDeltaLast    = "delta_last"
	bkDeltaTail    = "delta_tail"  // delta bytes not yet in a whole chunk
	bkDeltaChunk   = "delta_chunk" // delta chunks written
	bkDeltaBytes   = "delta_bytes"
	bkDeltaHash    = "delta_hash" // SHA-256 state of the chunks written; then the digest
	bkFormat       = "format"     // stagedFormat of the build's runs
)

// stagedFormat is the layout of a staged build's runs: 2 since runs are
// stored in blocks (store.PutRun). A build staged in another layout by
// an earlier release is started over.
const stagedFormat = 2

// Phases of a staged build.
const (
	phaseCollect = iota + 1
	phaseMembers
	phaseDelta
	phaseDrop
	phaseSeal
)

// dropPerStep is how many runs one step deletes: bbolt reads every page
// of a bucket it deletes, but only the first page of a run's 64 KiB blocks
// (store.PutRun), under 1 MB a run at DefaultBuildChunk, where it was ~20 MB
// when every record was a key of its own. Each step is a commit.
const dropPerStep = 16

// errStagedGone means the staged build vanished under a build that holds
// the list's lock: a bug, or the store was changed behind the node.
var errStagedGone = errors.New("staged build is gone")

// errStagedStopped: a test stopped the build between two steps.
var errStagedStopped = errors.New("staged build stopped between steps")

// buildStaged publishes a list's first version in steps when it is due
// one (see above), or finishes one staged before. handled is false when
// the version is to be built in one transaction.
func (s *Service) buildStaged(a Actor, name string, cache *listCache) (m *release.Manifest, handled bool, err error) {
	chunk := s.pub.BuildChunk
	var staged, start bool
	err = s.db.View(func(tx *store.Tx) error {
		if _, err := tx.List(name); err != nil {
			return nil // the build in one transaction says why
		}
		ls, err := tx.ListState(name, false)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if ls == nil {
			start = chunk > 0 && tx.LastEntrySeq() > uint64(chunk)
			return nil
		}
		if bs := ls.Build(); bs != nil {
			staged = bs.Counter(bkFormat) == stagedFormat
			start = !staged
			return nil
		}
		if ls.Counter(cVersion) > 0 {
			return nil
		}
		start = chunk > 0 && tx.LastEntrySeq() > uint64(chunk)
		return nil
	})
	if err != nil || !staged && !start {
		return nil, false, err
	}
	if chunk <= 0 {
		chunk = DefaultBuildChunk // finishing a build staged under another setting
	}
	cache.valid = false
	if start {
		err = s.db.Update(func(tx *store.Tx) error {
			ls, err := tx.ListState(name, true)
			if err != nil {
				return err
			}
			// A list at version 0 has nothing to keep: members or delta
			// bytes left by an earlier attempt are dropped.
			if err := ls.ClearBase(); err != nil {
				return err
			}
			if err := ls.DeleteDelta(1); err != nil {
				return err
			}
			if err := ls.DropBuild(); err != nil {
				return err
			}
			bs, err := ls.StartBuild()
			if err != nil {
				return err
			}
			for k, v := range map[string]uint64{
				bkTargetEntry: tx.LastEntrySeq(), bkTargetChange: tx.LastChangeSeq(),
				bkCreated: uint64(s.now().Unix()), bkPhase: phaseCollect, bkProgress: ls.Counter(cEntryCursor),
				bkFormat: stagedFormat,
			} {
				if err := bs.SetCounter(k, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, true, err
		}
	}
	// The set-root buckets are kept in memory as the members are merged,
	// if this call merges them all; otherwise the next build rebuilds
	// them from the stored members.
	var buckets [][]memberRec
	// The collect steps after the first are read ahead (collectAhead).
	var ahead <-chan collectResult
	var readers sync.WaitGroup
	stop := make(chan struct{})
	defer func() {
		close(stop)
		readers.Wait() // no read transaction outlives the build
	}()
	for {
		var phase uint64
		var next *collected
		if ahead != nil {
			if r, ok := <-ahead; ok && r.err == nil {
				next = r.c
			} else {
				ahead = nil // read in the step itself, which reports any error
			}
		}
		err := s.db.Update(func(tx *store.Tx) error {
			// What the last step read stays mapped; a step reads ~BuildChunk
			// entries' worth, the build the whole list.
			if err := tx.DropMappedPages(); err != nil {
				return err
			}
			ls, bs, l, err := stagedState(tx, name)
			if err != nil {
				return err
			}
			switch phase = bs.Counter(bkPhase); phase {
			case phaseCollect:
				c, err := stagedCollect(tx, bs, l, chunk, next)
				if err == nil && ahead == nil && !c.done {
					ahead = s.collectAhead(&readers, name, c.last, bs.Counter(bkTargetEntry), chunk, stop)
				}
				return err
			case phaseMembers:
				if buckets == nil && bs.Blob(bkMemberLast) == nil {
					buckets = make([][]memberRec, setroot.Buckets)
				}
				return stagedMembers(ls, bs, chunk, buckets)
			case phaseDelta:
				return stagedDelta(ls, bs, chunk)
			case phaseDrop:
				for _, kind := range []byte{store.RunMembers, store.RunDelta} {
					if left, err := bs.DropRuns(kind, dropPerStep); err != nil || left > 0 {
						return err
					}
				}
				return bs.SetCounter(bkPhase, phaseSeal)
			case phaseSeal:
				return nil
			}
			return fmt.Errorf("list %q: staged build in phase %d", name, phase)
		})
		if err != nil {
			return nil, true, err
		}
		if phase == phaseSeal {
			break
		}
		if s.stagedStop != nil && s.stagedStop() {
			return nil, true, errStagedStopped
		}
	}
	var tree *setroot.Tree
	err = s.update(a, func(tx *store.Tx) error {
		if err := tx.DropMappedPages(); err != nil {
			return err
		}
		ls, bs, l, err := stagedState(tx, name)
		if err != nil {
			return err
		}
		tree = setroot.NewTree()
		err = bs.Digests(func(b uint16, d []byte) error {
			if len(d) != setroot.HashSize {
				return fmt.Errorf("list %q: staged digest of bucket %d is %d bytes", name, b, len(d))
			}
			tree.SetBucket(b, setroot.Hash(d))
			return nil
		})
		if err != nil {
			return err
		}
		treeBlob, err := tree.MarshalBinary()
		if err != nil {
			return err
		}
		count := bs.Counter(bkCount)
		d := release.Delta{From: 0, Adds: count, SHA256: string(bs.Blob(bkDeltaHash)), Bytes: int64(bs.Counter(bkDeltaBytes))}
		refs := map[store.RecordRef]struct{}{}
		if err := bs.Refs(func(r store.RecordRef) { refs[r] = struct{}{} }); err != nil {
			return err
		}
		now := time.Unix(int64(bs.Counter(bkCreated)), 0).UTC()
		put := func(raw, sig []byte) error { return ls.PutManifest(1, raw, sig) }
		m, err = s.seal(tx, ls, l, a, sealed{version: 1, count: count, root: tree.Root(), tree: treeBlob, delta: d, now: now}, put)
		if err != nil {
			return err
		}
		if err := ls.SetCounter(cEntryCursor, bs.Counter(bkTargetEntry)); err != nil {
			return err
		}
		if err := ls.SetCounter(cChangeCursor, bs.Counter(bkTargetChange)); err != nil {
			return err
		}
		if len(refs) > 0 {
			if err := ls.PutVersionRecords(1, sortedRefs(refs)); err != nil {
				return err
			}
		}
		return ls.DropBuild()
	}, func() any { return m })
	if err != nil {
		return nil, true, err
	}
	if buckets != nil {
		cache.buckets, cache.marks, cache.tree = buckets, make([][]setroot.Hash, setroot.Buckets), tree
		cache.published(m.Version, release.Digest(m.Encode()))
	} else {
		cache.buckets, cache.tree = nil, nil // rebuilt by the next build
	}
	return m, true, nil
}

// stagedState opens a list's state, its staged build and the list.
func stagedState(tx *store.Tx, name string) (*store.ListState, *store.BuildState, *lists.List, error) {
	l, err := tx.List(name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil, fmt.Errorf("%w: %q", lists.ErrNotFound, name)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	ls, err := tx.ListState(name, false)
	if err != nil {
		return nil, nil, nil, err
	}
	bs := ls.Build()
	if bs == nil {
		return nil, nil, nil, fmt.Errorf("list %q: %w", name, errStagedGone)
	}
	return ls, bs, l, nil
}

// stagedMember is one member of a collect step.
type stagedMember struct {
	key    string // algo:value
	member []byte // bucket | leaf
	fp     keyFP
	line   []byte
}

// collected is one collect step's work: the members that the entries
// after from, up to last, give, sorted both ways. It is done in a read
// transaction (collectChunk), so that the next step's reading, evaluating
// and sorting run on one core while this step's runs are written and
// committed on the other (collectAhead).
type collected struct {
	from, last uint64 // entries in (from, last] were read
	done       bool   // the last collect step
	byMember   []*stagedMember
	byKey      []*stagedMember
	refs       []store.RecordRef
}

// collectChunk reads and evaluates the next chunk entries after from up
// to target.
func collectChunk(tx *store.Tx, l *lists.List, from, target uint64, chunk int) (*collected, error) {
	c := &collected{from: from, last: from}
	var ms []stagedMember
	refs := map[store.RecordRef]struct{}{}
	read := 0
	err := tx.EntriesByCreated(from, func(e *entries.Entry) (bool, error) {
		if e.Seq > target {
			return false, nil
		}
		c.last = e.Seq
		read++
		if l.Policy.Evaluate(e).Qualifies() {
			it := release.Item{Algo: e.Algo, Value: e.Value, Quality: e.Quality, Severity: maxSeverity(e)}
			line := it.Line()
			key := e.Key()
			b, fp := keyBucket(key)
			leaf := setroot.LeafHash(line)
			ms = append(ms, stagedMember{key: key, member: memberKey(b, &leaf), fp: fp, line: line})
			recordRefs(e, refs)
		}
		return read < chunk, nil
	})
	if err != nil {
		return nil, err
	}
	c.done = read < chunk || c.last >= target
	c.byMember = sortMembers(ms, func(m *stagedMember) []byte { return m.member }, bytes.Compare)
	c.byKey = sortMembers(ms, func(m *stagedMember) string { return m.key }, strings.Compare)
	c.refs = sortedRefs(refs)
	return c, nil
}

// sortMembers orders a step's members by a key of theirs. They are
// sorted as the key's first 16 bytes, as two integers, beside a pointer:
// comparing those needs no visit to the member and settles nearly every
// comparison (a member key's first 16 bytes are a bucket and a hash; an
// entry key's, an algorithm and ~9 characters of its value).
func sortMembers[K []byte | string](ms []stagedMember, key func(*stagedMember) K, cmpKey func(a, b K) int) []*stagedMember {
	type ref struct {
		p0, p1 uint64
		m      *stagedMember
	}
	refs := make([]ref, len(ms))
	for i := range ms {
		var p [16]byte // zero-padded: a shorter key sorts first, as it should
		copy(p[:], key(&ms[i]))
		refs[i] = ref{binary.BigEndian.Uint64(p[:8]), binary.BigEndian.Uint64(p[8:]), &ms[i]}
	}
	slices.SortFunc(refs, func(x, y ref) int {
		if c := cmp.Compare(x.p0, y.p0); c != 0 {
			return c
		}
		if c := cmp.Compare(x.p1, y.p1); c != 0 {
			return c
		}
		return cmpKey(key(x.m), key(y.m))
	})
	out := make([]*stagedMember, len(refs))
	for i := range refs {
		out[i] = refs[i].m
	}
	return out
}

// stagedCollect stages the members of the next chunk entries up to the
// build's target as two runs: those of c when c was read from where the
// build stands, otherwise read now.
func stagedCollect(tx *store.Tx, bs *store.BuildState, l *lists.List, chunk int, c *collected) (*collected, error) {
	if from := bs.Counter(bkProgress); c == nil || c.from != from {
		var err error
		if c, err = collectChunk(tx, l, from, bs.Counter(bkTargetEntry), chunk); err != nil {
			return nil, err
		}
	}
	// A member run's value is the key's fingerprint, then the line: the
	// merge keeps the set-root buckets without hashing every key again.
	id, err := bs.PutRun(store.RunMembers, func(yield func(k, v []byte) bool) {
		var v []byte
		for _, m := range c.byMember {
			v = binary.BigEndian.AppendUint64(v[:0], m.fp[0])
			v = binary.BigEndian.AppendUint64(v, m.fp[1])
			if !yield(m.member, append(v, m.line...)) {
				return
			}
		}
	})
	if err != nil {
		return nil, err
	}
	_, err = bs.PutRun(store.RunDelta, func(yield func(k, v []byte) bool) {
		var k []byte
		for _, m := range c.byKey {
			if k = append(k[:0], m.key...); !yield(k, m.line) {
				return
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if err := bs.PutRefs(id, c.refs); err != nil {
		return nil, err
	}
	if err := bs.SetCounter(bkCount, bs.Counter(bkCount)+uint64(len(c.byMember))); err != nil {
		return nil, err
	}
	if err := bs.SetCounter(bkProgress, c.last); err != nil {
		return nil, err
	}
	if c.done {
		return c, bs.SetCounter(bkPhase, phaseMembers)
	}
	return c, nil
}

// collectAhead reads the collect steps after the one ending at from, each
// in a read transaction of its own, one step ahead of the writer: a step
// waits in the channel until the writer takes it. Closing stop ends it.
func (s *Service) collectAhead(wg *sync.WaitGroup, name string, from, target uint64, chunk int, stop <-chan struct{}) <-chan collectResult {
	ch := make(chan collectResult)
	wg.Go(func() {
		defer close(ch)
		for {
			var c *collected
			err := s.db.View(func(tx *store.Tx) error {
				l, err := tx.List(name)
				if err != nil {
					return err
				}
				c, err = collectChunk(tx, l, from, target, chunk)
				return err
			})
			select {
			case ch <- collectResult{c, err}:
			case <-stop:
				return
			}
			if err != nil || c.done {
				return
			}
			from = c.last
		}
	})
	return ch
}

type collectResult struct {
	c   *collected
	err error
}

// stagedMembers merges about chunk more staged members, whole set-root
// buckets, into the list's members (the base: the list has no version
// yet, so no reader looks at it) and records the buckets' digests. With
// buckets, it also keeps each bucket's members there.
func stagedMembers(ls *store.ListState, bs *store.BuildState, chunk int, buckets [][]memberRec) error {
	type op struct {
		key, line []byte
		fp        keyFP
	}
	var ops []op
	more := false
	err := bs.MergeRuns(store.RunMembers, bs.Blob(bkMemberLast), func(k, v []byte) bool {
		if len(ops) >= chunk && !bytes.Equal(k[:2], ops[len(ops)-1].key[:2]) {
			more = true
			return false
		}
		if len(k) != store.MemberKeyLen || len(v) < 16 {
			return true // PutRun wrote none such; WriteMembers refuses the key
		}
		fp := keyFP{binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])}
		ops = append(ops, op{key: k, line: v[16:], fp: fp})
		return true
	})
	if err != nil {
		return err
	}
	seq := func(yield func(store.MemberOp) bool) {
		for i := range ops {
			if !yield(store.MemberOp{Key: ops[i].key, Line: ops[i].line}) {
				return
			}
		}
	}
	if _, err := ls.WriteMembers(seq, false); err != nil {
		return err
	}
	// The ops hold whole buckets, in key order: bucket, then leaf.
	var leaves []setroot.Hash
	for i := 0; i < len(ops); {
		b := binary.BigEndian.Uint16(ops[i].key)
		j := i
		leaves = leaves[:0]
		for ; j < len(ops) && binary.BigEndian.Uint16(ops[j].key) == b; j++ {
			leaves = append(leaves, setroot.Hash(ops[j].key[2:]))
		}
		d := setroot.BucketDigest(leaves)
		if err := bs.PutDigest(b, d[:]); err != nil {
			return err
		}
		if buckets != nil {
			recs := make([]memberRec, j-i)
			for k := range recs {
				recs[k] = memberRec{leaf: leaves[k], fp: ops[i+k].fp}
			}
			buckets[b] = recs
		}
		i = j
	}
	if len(ops) > 0 {
		if err := bs.SetBlob(bkMemberLast, ops[len(ops)-1].key); err != nil {
			return err
		}
	}
	if more {
		return nil
	}
	return bs.SetCounter(bkPhase, phaseDelta)
}

// stagedDelta writes about chunk more delta lines, in key order, into the
// delta's stored chunks.
func stagedDelta(ls *store.ListState, bs *store.BuildState, chunk int) error {
	h := sha256.New()
	if st := bs.Blob(bkDeltaHash); st != nil {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st); err != nil {
			return fmt.Errorf("staged delta hash: %w", err)
		}
	}
	tail := bs.Blob(bkDeltaTail)
	idx := bs.Counter(bkDeltaChunk)
	size := bs.Counter(bkDeltaBytes)
	flush := func(final bool) error {
		for len(tail) >= store.DeltaChunk || final && (len(tail) > 0 || idx == 0) {
			n := min(len(tail), store.DeltaChunk)
			if err := ls.PutDeltaChunk(1, uint32(idx), tail[:n]); err != nil {
				return err
			}
			h.Write(tail[:n])
			idx++
			tail = tail[:copy(tail, tail[n:])]
			final = final && len(tail) > 0
		}
		return nil
	}
	var last []byte
	n := 0
	more := false
	var err error
	merr := bs.MergeRuns(store.RunDelta, bs.Blob(bkDeltaLast), func(k, v []byte) bool {
		if n >= chunk {
			more = true
			return false
		}
		at := len(tail)
		tail = release.AppendChangeLine(tail, release.OpAdd, v)
		tail = append(tail, '\n')
		size += uint64(len(tail) - at)
		last, n = k, n+1
		err = flush(false)
		return err == nil
	})
	if err = cmp.Or(merr, err); err != nil {
		return err
	}
	if !more {
		if err := flush(true); err != nil {
			return err
		}
	}
	for k, v := range map[string]uint64{bkDeltaChunk: idx, bkDeltaBytes: size} {
		if err := bs.SetCounter(k, v); err != nil {
			return err
		}
	}
	if last != nil {
		if err := bs.SetBlob(bkDeltaLast, last); err != nil {
			return err
		}
	}
	if more {
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return err
		}
		if err := bs.SetBlob(bkDeltaHash, st); err != nil {
			return err
		}
		return bs.SetBlob(bkDeltaTail, tail)
	}
	if err := bs.SetBlob(bkDeltaHash, []byte(hex.EncodeToString(h.Sum(nil)))); err != nil {
		return err
	}
	return bs.SetCounter(bkPhase, phaseDrop)
}
