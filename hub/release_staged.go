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
	bkDeltaDone    = "delta_done" // 1: the delta is whole (it may finish in the member phase)
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
	// The collect, member and delta steps after the first of each are read
	// ahead (readAhead): one core reads and sorts the next step while the
	// other writes and commits this one.
	var aheadC <-chan aheadResult[*collected]
	var aheadM <-chan aheadResult[*mergedMembers]
	var aheadD <-chan aheadResult[*deltaStepped]
	var readers sync.WaitGroup
	stop := make(chan struct{})
	defer func() {
		close(stop)
		readers.Wait() // no read transaction outlives the build
	}()
	startDelta := func(st deltaState) <-chan aheadResult[*deltaStepped] {
		return readAhead(s.db, &readers, stop, func(tx *store.Tx) (*deltaStepped, bool, error) {
			_, bs, _, err := stagedState(tx, name)
			if err != nil {
				return nil, false, err
			}
			d, err := mergeDelta(bs, st, chunk)
			if err != nil {
				return nil, false, err
			}
			st = d.to
			return d, d.more, nil
		})
	}
	var lastPhase uint64
	for {
		var phase uint64
		// A step read ahead is used only if it starts where the build
		// stands; on an error the step reads itself and reports it.
		nextC, okC := take(aheadC)
		if !okC {
			aheadC = nil
		}
		nextM, okM := take(aheadM)
		if !okM {
			aheadM = nil
		}
		// Delta steps are merged from the first member step on and
		// written beside the member steps as they come: the merges run
		// while the member steps write.
		var nextD *deltaStepped
		okD := true
		if lastPhase == phaseMembers {
			nextD, okD = tryTake(aheadD)
		} else {
			nextD, okD = take(aheadD)
		}
		if !okD {
			aheadD = nil
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
				c, err := stagedCollect(tx, bs, l, chunk, nextC)
				if err == nil && c != nextC {
					aheadC = nil // read from elsewhere: started again from here
				}
				if err == nil && aheadC == nil && !c.done {
					from, target := c.last, bs.Counter(bkTargetEntry)
					aheadC = readAhead(s.db, &readers, stop, func(tx *store.Tx) (*collected, bool, error) {
						l, err := tx.List(name)
						if err != nil {
							return nil, false, err
						}
						c, err := collectChunk(tx, l, from, target, chunk)
						if err != nil {
							return nil, false, err
						}
						from = c.last
						return c, !c.done, nil
					})
				}
				return err
			case phaseMembers:
				if buckets == nil && bs.Blob(bkMemberLast) == nil {
					buckets = make([][]memberRec, setroot.Buckets)
				}
				if bs.Counter(bkDeltaDone) == 0 {
					if nextD != nil {
						if d, err := stagedDelta(ls, bs, chunk, nextD, false); err != nil {
							return err
						} else if d == nil {
							aheadD = nil // merged from elsewhere: started again next step
						}
					} else if aheadD == nil {
						aheadD = startDelta(readDeltaState(bs))
					}
				}
				m, err := stagedMembers(ls, bs, chunk, buckets, nextM)
				if err == nil && m != nextM {
					aheadM = nil
				}
				if err == nil && aheadM == nil && m.more {
					after := m.last()
					aheadM = readAhead(s.db, &readers, stop, func(tx *store.Tx) (*mergedMembers, bool, error) {
						_, bs, _, err := stagedState(tx, name)
						if err != nil {
							return nil, false, err
						}
						m, err := mergeMembers(bs, after, chunk)
						if err != nil {
							return nil, false, err
						}
						after = m.last()
						return m, m.more, nil
					})
				}
				return err
			case phaseDelta:
				if nextD == nil && aheadD != nil {
					// The first delta step after the member steps waits
					// for the merge under way rather than doing it again.
					if nextD, _ = take(aheadD); nextD == nil {
						aheadD = nil
					}
				}
				d, err := stagedDelta(ls, bs, chunk, nextD, true)
				if err == nil && d != nextD {
					aheadD = nil
				}
				if err == nil && aheadD == nil && d.more {
					aheadD = startDelta(d.to)
				}
				return err
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
		lastPhase = phase
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
// committed on the other (readAhead).
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
	// At its full size at once: grown by appends, the slice was a quarter
	// of the step's evaluation, copying members (and their pointers).
	ms := make([]stagedMember, 0, chunk)
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
	// The two orders are sorted at once, on both cores: the writer is
	// about half as busy as this reader.
	var sorted sync.WaitGroup
	sorted.Go(func() { c.byKey = sortMembers(ms, func(m *stagedMember) string { return m.key }, strings.Compare) })
	c.byMember = sortMembers(ms, func(m *stagedMember) []byte { return m.member }, bytes.Compare)
	sorted.Wait()
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

// readAhead calls step, each time in a read transaction of its own, one
// step ahead of the writer: a result waits in the channel until the writer
// takes it, outside the transaction (bbolt lets readers run beside the
// writer; the store's map is reserved up front, so the writer never waits
// on a reader to remap). It stops after a step that says no more, after an
// error, or when stop is closed.
func readAhead[T any](db *store.DB, wg *sync.WaitGroup, stop <-chan struct{}, step func(*store.Tx) (T, bool, error)) <-chan aheadResult[T] {
	ch := make(chan aheadResult[T])
	wg.Go(func() {
		defer close(ch)
		for {
			var r aheadResult[T]
			more := false
			r.err = db.View(func(tx *store.Tx) error {
				var err error
				r.v, more, err = step(tx)
				return err
			})
			select {
			case ch <- r:
			case <-stop:
				return
			}
			if r.err != nil || !more {
				return
			}
		}
	})
	return ch
}

// tryTake is take without waiting: the zero T if no step is ready yet.
func tryTake[T any](ch <-chan aheadResult[T]) (T, bool) {
	var zero T
	if ch == nil {
		return zero, false
	}
	select {
	case r, ok := <-ch:
		if !ok || r.err != nil {
			return zero, false
		}
		return r.v, true
	default:
		return zero, true
	}
}

type aheadResult[T any] struct {
	v   T
	err error
}

// take returns the next step read ahead, if any (the zero T otherwise);
// false once there will be no more.
func take[T any](ch <-chan aheadResult[T]) (T, bool) {
	var zero T
	if ch == nil {
		return zero, false
	}
	r, ok := <-ch
	if !ok || r.err != nil {
		return zero, false
	}
	return r.v, true
}

// mergedMembers is one member step's share of the runs' merge: about
// chunk members after a key, whole set-root buckets, copied out of the
// transaction that read them (mergeMembers), so that the next step's
// merge can run in a read transaction beside this step's writes.
type mergedMembers struct {
	after []byte // the step starts after this member key (nil: the first)
	ops   []mergedOp
	more  bool // members are left after this step's
}

type mergedOp struct {
	key, line []byte
	fp        keyFP
}

// last is the key the next step starts after.
func (m *mergedMembers) last() []byte {
	if len(m.ops) == 0 {
		return m.after
	}
	return m.ops[len(m.ops)-1].key
}

// mergeMembers merges about chunk more staged members after after.
func mergeMembers(bs *store.BuildState, after []byte, chunk int) (*mergedMembers, error) {
	m := &mergedMembers{after: after}
	var buf []byte // the ops' keys and lines, copied in blocks
	err := bs.MergeRuns(store.RunMembers, after, func(k, v []byte) bool {
		if len(m.ops) >= chunk && !bytes.Equal(k[:2], m.ops[len(m.ops)-1].key[:2]) {
			m.more = true
			return false
		}
		if len(k) != store.MemberKeyLen || len(v) < 16 {
			return true // PutRun wrote none such; WriteMembers refuses the key
		}
		if n := len(k) + len(v) - 16; cap(buf)-len(buf) < n {
			buf = make([]byte, 0, max(n, 1<<20))
		}
		at := len(buf)
		buf = append(buf, k...)
		buf = append(buf, v[16:]...)
		fp := keyFP{binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])}
		m.ops = append(m.ops, mergedOp{key: buf[at : at+len(k) : at+len(k)], line: buf[at+len(k) : len(buf) : len(buf)], fp: fp})
		return true
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// stagedMembers writes about chunk more staged members, whole set-root
// buckets, into the list's members (the base: the list has no version
// yet, so no reader looks at it) and records the buckets' digests: those
// of m when m was merged from where the build stands, otherwise merged
// now. With buckets, it also keeps each bucket's members there.
func stagedMembers(ls *store.ListState, bs *store.BuildState, chunk int, buckets [][]memberRec, m *mergedMembers) (*mergedMembers, error) {
	if after := bs.Blob(bkMemberLast); m == nil || !bytes.Equal(m.after, after) {
		var err error
		if m, err = mergeMembers(bs, after, chunk); err != nil {
			return nil, err
		}
	}
	ops := m.ops
	seq := func(yield func(store.MemberOp) bool) {
		for i := range ops {
			if !yield(store.MemberOp{Key: ops[i].key, Line: ops[i].line}) {
				return
			}
		}
	}
	if _, err := ls.WriteMembers(seq, false); err != nil {
		return nil, err
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
			return nil, err
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
		if err := bs.SetBlob(bkMemberLast, m.last()); err != nil {
			return nil, err
		}
	}
	if m.more {
		return m, nil
	}
	if bs.Counter(bkDeltaDone) == 1 {
		return m, bs.SetCounter(bkPhase, phaseDrop)
	}
	return m, bs.SetCounter(bkPhase, phaseDelta)
}

// deltaState is where a staged build's delta stands between steps.
type deltaState struct {
	after []byte // the last entry key written (nil: none yet)
	tail  []byte // delta bytes not yet in a whole chunk
	idx   uint64 // chunks stored
	size  uint64 // delta bytes so far
	hash  []byte // SHA-256 state of the chunks stored (nil: none yet)
}

// deltaStepped is one delta step: the chunks it completes, from index
// first on, and the state after it. It is computed from the runs in a read
// transaction (mergeDelta), so that the next step's merge, lines and
// hashing run beside this step's writes.
type deltaStepped struct {
	from   []byte // the state's after this step started from
	first  uint64
	chunks [][]byte
	to     deltaState
	more   bool
}

func readDeltaState(bs *store.BuildState) deltaState {
	return deltaState{after: bs.Blob(bkDeltaLast), tail: bs.Blob(bkDeltaTail), idx: bs.Counter(bkDeltaChunk),
		size: bs.Counter(bkDeltaBytes), hash: bs.Blob(bkDeltaHash)}
}

// mergeDelta merges about chunk more delta lines, in key order, after st.
func mergeDelta(bs *store.BuildState, st deltaState, chunk int) (*deltaStepped, error) {
	h := sha256.New()
	if st.hash != nil {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.hash); err != nil {
			return nil, fmt.Errorf("staged delta hash: %w", err)
		}
	}
	d := &deltaStepped{from: st.after, first: st.idx}
	tail, idx, size := bytes.Clone(st.tail), st.idx, st.size
	flush := func(final bool) {
		for len(tail) >= store.DeltaChunk || final && (len(tail) > 0 || idx == 0) {
			n := min(len(tail), store.DeltaChunk)
			d.chunks = append(d.chunks, bytes.Clone(tail[:n]))
			h.Write(tail[:n])
			idx++
			tail = tail[:copy(tail, tail[n:])]
			final = final && len(tail) > 0
		}
	}
	last := st.after
	n := 0
	err := bs.MergeRuns(store.RunDelta, st.after, func(k, v []byte) bool {
		if n >= chunk {
			d.more = true
			return false
		}
		at := len(tail)
		tail = release.AppendChangeLine(tail, release.OpAdd, v)
		tail = append(tail, '\n')
		size += uint64(len(tail) - at)
		last, n = k, n+1
		flush(false)
		return true
	})
	if err != nil {
		return nil, err
	}
	if !d.more {
		flush(true)
	}
	d.to = deltaState{after: bytes.Clone(last), tail: tail, idx: idx, size: size}
	if d.more {
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return nil, err
		}
		d.to.hash = st
	} else {
		d.to.hash = []byte(hex.EncodeToString(h.Sum(nil)))
	}
	return d, nil
}

// stagedDelta writes about chunk more delta lines, in key order, into the
// delta's stored chunks: those of d when d was merged from where the
// build stands, otherwise merged now if inline (nothing is written if
// not). The delta's last step ends the delta phase; in the member phase,
// the member steps go on.
func stagedDelta(ls *store.ListState, bs *store.BuildState, chunk int, d *deltaStepped, inline bool) (*deltaStepped, error) {
	if st := readDeltaState(bs); d == nil || !bytes.Equal(d.from, st.after) || d.first != st.idx {
		if !inline {
			return nil, nil
		}
		var err error
		if d, err = mergeDelta(bs, st, chunk); err != nil {
			return nil, err
		}
	}
	for i, c := range d.chunks {
		if err := ls.PutDeltaChunk(1, uint32(d.first+uint64(i)), c); err != nil {
			return nil, err
		}
	}
	for k, v := range map[string]uint64{bkDeltaChunk: d.to.idx, bkDeltaBytes: d.to.size} {
		if err := bs.SetCounter(k, v); err != nil {
			return nil, err
		}
	}
	if d.to.after != nil {
		if err := bs.SetBlob(bkDeltaLast, d.to.after); err != nil {
			return nil, err
		}
	}
	if err := bs.SetBlob(bkDeltaHash, d.to.hash); err != nil {
		return nil, err
	}
	if d.more {
		return d, bs.SetBlob(bkDeltaTail, d.to.tail)
	}
	if err := bs.SetCounter(bkDeltaDone, 1); err != nil {
		return nil, err
	}
	if bs.Counter(bkPhase) == phaseDelta {
		return d, bs.SetCounter(bkPhase, phaseDrop)
	}
	return d, nil
}
