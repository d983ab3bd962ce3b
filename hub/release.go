package hub

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/translog"
)

// Release defaults, exported so flag help can show them.
const (
	// DefaultExpiry is how long a manifest stays current. A node refreshes
	// its lists well before (see ReleaseDue), so a client that sees an
	// expired manifest knows the node has stopped publishing.
	DefaultExpiry = 7 * 24 * time.Hour
	// DefaultRetention is how many versions' deltas a node keeps; a client
	// further behind is sent to the snapshot.
	DefaultRetention = 1000
	// DefaultOverlayLimit is how many member writes, and DefaultOverlayRuns
	// how many runs (one per build), a list's overlay takes before it is
	// folded into the base (store.ListState): a build writes only a run
	// of its own, so its writes grow neither with the list nor with the
	// overlay, and the fold rewrites the base pages it touches once for
	// many builds. The node folds in the background after the build that
	// reaches a limit (FoldDue), FoldChunk keys per transaction so that
	// other writers wait for one chunk at most; a build folds first only
	// if it finds the overlay at four times a limit (nothing folded it). A
	// build with more writes than the limit goes to the base directly.
	DefaultOverlayLimit = 1 << 16
	DefaultOverlayRuns  = 32
	// FoldChunk is how many overlay keys one fold transaction moves.
	FoldChunk = 8192
)

// Errors of releases.
var (
	ErrNoRelease       = errors.New("no release")
	ErrVersionGone     = errors.New("version outside the retention window")
	ErrVersionTooNew   = errors.New("version newer than the latest release")
	ErrNotReleaseState = errors.New("list has no releases yet")
)

// Publisher holds what a node needs to publish releases.
type Publisher struct {
	Signer    *release.Signer
	Log       *translog.Signer
	Expiry    time.Duration
	Retention uint64
	// OverlayLimit and OverlayRuns: see DefaultOverlayLimit.
	OverlayLimit uint64
	OverlayRuns  int
	// BuildChunk: see DefaultBuildChunk (0: DefaultBuildChunk; below 0:
	// every version in one transaction).
	BuildChunk int
}

// SetOverlayLimit changes the overlay's limit of writes (see
// DefaultOverlayLimit).
func (s *Service) SetOverlayLimit(n uint64) { s.pub.OverlayLimit = n }

// SetPublisher enables releases.
func (s *Service) SetPublisher(p *Publisher) {
	if p.Expiry == 0 {
		p.Expiry = DefaultExpiry
	}
	if p.Retention == 0 {
		p.Retention = DefaultRetention
	}
	if p.OverlayLimit == 0 {
		p.OverlayLimit = DefaultOverlayLimit
	}
	if p.OverlayRuns == 0 {
		p.OverlayRuns = DefaultOverlayRuns
	}
	if p.BuildChunk == 0 {
		p.BuildChunk = DefaultBuildChunk
	}
	s.pub = p
}

// list state counters
const (
	cVersion      = "version"
	cEntryCursor  = "entry_cursor"
	cChangeCursor = "change_cursor"
	cCount        = "count"
	cOldestDelta  = "oldest_delta"
	blobTree      = "tree"
	blobPrevious  = "previous"
)

// memberChange is one entry's change on a list. An entry's set-root
// bucket is fixed by its key, so its old and new members share it.
type memberChange struct {
	key     string // algo:value
	bucket  uint16
	fp      keyFP        // key fingerprint (release_cache.go)
	had     bool         // a member before
	oldLeaf setroot.Hash // its leaf hash then
	newLeaf setroot.Hash // leaf hash after (unset if removed)
	line    []byte       // new line (nil if removed)
	op      string
}

// memberKey is a member's stored key: bucket(2) | leaf hash(32).
func memberKey(b uint16, leaf *setroot.Hash) []byte {
	k := make([]byte, store.MemberKeyLen)
	k[0], k[1] = byte(b>>8), byte(b)
	copy(k[2:], leaf[:])
	return k
}

// cmpMember orders member keys: by bucket, then leaf hash.
func cmpMember(b1 uint16, l1 *setroot.Hash, b2 uint16, l2 *setroot.Hash) int {
	return cmp.Or(cmp.Compare(b1, b2), bytes.Compare(l1[:], l2[:]))
}

// BuildRelease publishes version N+1 of a list from the entries that
// qualify now. The work is proportional to what changed since version N:
// only entries created or rewritten since then are evaluated, only the
// set-root buckets they touch are rehashed. Everything — members, delta,
// manifest, signature, log leaf, audit event — commits in one transaction.
// A list with no change still gets a new version (an empty delta) so that
// its expiry moves forward.
func (s *Service) BuildRelease(a Actor, name string) (*release.Manifest, error) {
	return s.build(a, name, false)
}

// build publishes the next version. A scheduled build of a list none of
// whose entries changed (the change was to entries off the list) only
// moves the list's cursors on, unless a heartbeat is due: it returns nil.
func (s *Service) build(a Actor, name string, scheduled bool) (*release.Manifest, error) {
	if s.pub == nil {
		return nil, errors.New("releases are not configured on this node")
	}
	cache := s.releaseCache(name)
	cache.mu.Lock()
	defer cache.mu.Unlock()
	// The node folds an overlay past its limit in the background; one at
	// four times the limit (no node loop, or folds failing) is folded
	// here first, so that the overlay stays bounded.
	if _, overdue, err := s.foldDue(name); err != nil {
		return nil, err
	} else if overdue {
		if _, err := s.CompactMembers(context.Background(), name); err != nil {
			return nil, fmt.Errorf("list %q members: %w", name, err)
		}
	}
	// A first version of many entries is built in steps (release_staged.go).
	if m, handled, err := s.buildStaged(a, name, cache); handled || err != nil {
		if err != nil {
			return nil, err
		}
		s.dropMappedPages()
		s.released.broadcast()
		if s.onRelease != nil {
			s.onRelease()
		}
		return m, nil
	}
	var out *release.Manifest
	err := s.update(a, func(tx *store.Tx) error {
		l, err := tx.List(name)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: %q", lists.ErrNotFound, name)
			}
			return err
		}
		ls, err := tx.ListState(name, true)
		if err != nil {
			return err
		}
		if _, err := ls.DropByEntry(); err != nil {
			return err
		}
		if err := cache.ensure(ls); err != nil {
			return fmt.Errorf("list %q members: %w", name, err)
		}
		refs := map[store.RecordRef]struct{}{}
		changes, err := s.collectChanges(tx, ls, l, cache, refs)
		if err != nil {
			return err
		}
		if scheduled && len(changes) == 0 && len(refs) == 0 && ls.Counter(cVersion) > 0 && !s.heartbeatDue(ls) {
			return nil // cursors moved on; nothing to publish
		}
		out, err = s.publish(tx, ls, l, changes, cache, a)
		if err != nil || len(refs) == 0 {
			return err
		}
		return ls.PutVersionRecords(out.Version, sortedRefs(refs))
	}, func() any { return out })
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, nil // a scheduled build with nothing to publish
	}
	s.dropMappedPages()
	cache.published(out.Version, release.Digest(out.Encode()))
	s.released.broadcast()
	if s.onRelease != nil {
		s.onRelease()
	}
	return out, nil
}

// OverlayWrites is the number of member writes in a list's overlay since
// its last fold (0 for a list with no releases).
func (s *Service) OverlayWrites(name string) (uint64, error) {
	n, _, err := s.overlay(name)
	return n, err
}

// overlay returns the member writes and runs in a list's overlay.
func (s *Service) overlay(name string) (writes uint64, runs int, err error) {
	err = s.db.View(func(tx *store.Tx) error {
		ls, err := tx.ListState(name, false)
		if err == nil {
			writes, runs = ls.OverlayOps(), ls.OverlayRuns()
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	return writes, runs, err
}

// foldDue reports whether a list's overlay has reached the limits, or
// (overdue) four times them.
func (s *Service) foldDue(name string) (due, overdue bool, err error) {
	writes, runs, err := s.overlay(name)
	lw, lr := s.pub.OverlayLimit, s.pub.OverlayRuns
	return writes >= lw || runs >= lr, writes >= 4*lw || runs >= 4*lr, err
}

// CompactMembers folds a list's member overlay into its base, FoldChunk
// keys per transaction, and returns the number of overlay keys folded.
// The members as read, and so every snapshot, delta, proof and set root,
// are the same before, during and after; builds may run between chunks.
// It stops between chunks when ctx is done.
func (s *Service) CompactMembers(ctx context.Context, name string) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var n int
		var left uint64
		err := s.db.Update(func(tx *store.Tx) error {
			ls, err := tx.ListState(name, false)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: list %q", ErrNotReleaseState, name)
			}
			if err != nil {
				return err
			}
			n, err = ls.FoldMembers(FoldChunk)
			left = ls.OverlayOps()
			return err
		})
		total += n
		if err != nil || left == 0 {
			return total, err
		}
	}
}

// FoldDue folds the member overlay of every list that has reached the
// limit (see DefaultOverlayLimit) and returns the number of keys folded.
func (s *Service) FoldDue(ctx context.Context) (int, error) {
	ls, err := s.Lists()
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, l := range ls {
		due, _, err := s.foldDue(l.Name)
		if err == nil && !due {
			continue
		}
		if err == nil {
			var k int
			k, err = s.CompactMembers(ctx, l.Name)
			total += k
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("list %q members: %w", l.Name, err))
		}
	}
	return total, errors.Join(errs...)
}

// collectChanges evaluates every entry created or rewritten since the last
// release against the list's policy and returns the member changes. It
// adds to refs the records of every such entry that is or was on the list:
// what a peer importing the release needs to know who said what.
func (s *Service) collectChanges(tx *store.Tx, ls *store.ListState, l *lists.List, cache *listCache, refs map[store.RecordRef]struct{}) ([]memberChange, error) {
	var changes []memberChange
	// consider evaluates one entry. An entry created since the last
	// release was on no earlier version (entries are never deleted, and
	// every build moves the cursor past what it evaluated): it needs no
	// lookup.
	consider := func(e *entries.Entry, created bool) {
		key := e.Key()
		b, fp := keyBucket(key)
		var oldLeaf setroot.Hash
		var had bool
		if !created {
			oldLeaf, had = cache.find(b, fp)
		}
		var it *release.Item
		if l.Policy.Evaluate(e).Qualifies() {
			it = &release.Item{Algo: e.Algo, Value: e.Value, Quality: e.Quality, Severity: maxSeverity(e)}
		}
		if it != nil || had {
			recordRefs(e, refs)
		}
		switch {
		case it == nil && !had:
			return
		case it == nil:
			// An entry's algorithm and value never change: they are its key.
			changes = append(changes, memberChange{key: key, bucket: b, fp: fp, had: true, oldLeaf: oldLeaf, op: release.OpRemove})
		default:
			line := it.Line()
			leaf := setroot.LeafHash(line)
			if had && leaf == oldLeaf {
				return
			}
			op := release.OpAdd
			if had {
				op = release.OpUpdate
			}
			changes = append(changes, memberChange{key: key, bucket: b, fp: fp, had: had, oldLeaf: oldLeaf, newLeaf: leaf,
				line: line, op: op})
		}
	}
	// Entries rewritten since the last release (the change feed)…
	// An entry rewritten several times appears once per rewrite. They are
	// read in sequence order: neighbours in the entries tree share pages.
	lastChange := tx.LastChangeSeq()
	entryCursor := ls.Counter(cEntryCursor)
	var rewritten []uint64
	err := tx.ChangesAfter(ls.Counter(cChangeCursor), func(_, seq uint64) (bool, error) {
		if seq <= entryCursor { // (entries created since are visited below)
			rewritten = append(rewritten, seq)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(rewritten)
	es, err := s.readEntries(slices.Compact(rewritten))
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		consider(e, false)
	}
	// …and entries created since (the entries bucket's tail).
	lastEntry := tx.LastEntrySeq()
	err = tx.EntriesByCreated(entryCursor, func(e *entries.Entry) (bool, error) {
		consider(e, true)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if err := ls.SetCounter(cChangeCursor, lastChange); err != nil {
		return nil, err
	}
	return changes, ls.SetCounter(cEntryCursor, lastEntry)
}

// readEntries reads and decodes the entries at seqs on every core, each
// share in a read transaction of its own. Called inside a build's write
// transaction before it writes any entry, they see the entries it sees:
// the last commit, since the build holds the only writer. (They close
// before the build commits, so bbolt can still grow its map.)
func (s *Service) readEntries(seqs []uint64) ([]*entries.Entry, error) {
	out := make([]*entries.Entry, len(seqs))
	workers := min(runtime.GOMAXPROCS(0), len(seqs)/256+1)
	per := (len(seqs) + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := min(w*per, len(seqs)), min((w+1)*per, len(seqs))
		wg.Go(func() {
			errs[w] = s.db.View(func(tx *store.Tx) error {
				for i := lo; i < hi; i++ {
					e, err := tx.EntryAt(seqs[i])
					if err != nil {
						return err
					}
					out[i] = e
				}
				return nil
			})
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func (s *Service) publish(tx *store.Tx, ls *store.ListState, l *lists.List, changes []memberChange, cache *listCache, a Actor) (*release.Manifest, error) {
	// Members: the removed old keys and the written new ones, merged into
	// one pass in key order (bbolt's fast path), as a new run of the
	// overlay — or, for a build larger than the overlay may grow (version
	// 1), straight into the base. Each side is sorted through pointers:
	// moving the structs themselves costs more than comparing.
	var removed, written []*memberChange
	for i := range changes {
		if changes[i].had {
			removed = append(removed, &changes[i])
		}
		if changes[i].line != nil {
			written = append(written, &changes[i])
		}
	}
	slices.SortFunc(removed, func(x, y *memberChange) int { return cmpMember(x.bucket, &x.oldLeaf, y.bucket, &y.oldLeaf) })
	slices.SortFunc(written, func(x, y *memberChange) int { return cmpMember(x.bucket, &x.newLeaf, y.bucket, &y.newLeaf) })
	count := ls.Counter(cCount) - uint64(len(removed)) + uint64(len(written))
	gone := make([]bucketLeaf, len(removed))
	for i, c := range removed {
		gone[i] = bucketLeaf{c.bucket, c.oldLeaf}
	}
	gained := make([]bucketMember, len(written))
	for i, c := range written {
		gained[i] = bucketMember{c.bucket, memberRec{leaf: c.newLeaf, fp: c.fp}}
	}
	ops := func(yield func(store.MemberOp) bool) {
		i, j := 0, 0
		for i < len(removed) || j < len(written) {
			var op store.MemberOp
			if j == len(written) || (i < len(removed) &&
				cmpMember(removed[i].bucket, &removed[i].oldLeaf, written[j].bucket, &written[j].newLeaf) < 0) {
				op = store.MemberOp{Key: memberKey(removed[i].bucket, &removed[i].oldLeaf)}
				i++
			} else {
				op = store.MemberOp{Key: memberKey(written[j].bucket, &written[j].newLeaf), Line: written[j].line}
				j++
			}
			if !yield(op) {
				return
			}
		}
	}
	overlay := uint64(len(removed)+len(written)) < s.pub.OverlayLimit
	if !overlay {
		if _, err := ls.CompactMembers(); err != nil {
			return nil, err
		}
	}
	if _, err := ls.WriteMembers(ops, overlay); err != nil {
		return nil, err
	}
	// Set root: rehash the touched buckets only, from memory.
	// The tree comes from the cache, or else from its stored copy (kept
	// for proofs and restarts).
	tree := cache.tree
	if tree == nil {
		tree = setroot.NewTree()
		if blob := ls.Blob(blobTree); blob != nil {
			if err := tree.UnmarshalBinary(blob); err != nil {
				return nil, fmt.Errorf("list %q set-root tree: %w", l.Name, err)
			}
		}
	}
	// The buckets and the tree change in place: until the build commits,
	// the cache describes no version (a failed build leaves it to be
	// rebuilt).
	cache.valid, cache.tree = false, tree
	bs, ds, err := cache.apply(gone, gained)
	if err != nil {
		return nil, fmt.Errorf("list %q set-root buckets: %w", l.Name, err)
	}
	for i, b := range bs {
		tree.SetBucket(b, ds[i])
	}
	root := tree.Root()
	treeBlob, err := tree.MarshalBinary()
	if err != nil {
		return nil, err
	}
	// Delta: one canonical line per change, in key order.
	order := make([]*memberChange, len(changes))
	for i := range changes {
		order[i] = &changes[i]
	}
	slices.SortFunc(order, func(x, y *memberChange) int { return strings.Compare(x.key, y.key) })
	// An add's or update's line is spliced from its snapshot line; a
	// remove's is made from its key (an entry's algorithm and value are
	// its key). The buffer is sized once: a first version's delta is about
	// a gigabyte at 10M entries.
	size := 0
	for _, mc := range order {
		size += len(mc.line) + len(mc.key) + 32
	}
	delta := make([]byte, 0, size)
	var d release.Delta
	for _, mc := range order {
		switch mc.op {
		case release.OpRemove:
			algo, value, _ := strings.Cut(mc.key, ":")
			c := release.Change{Op: mc.op, Item: release.Item{Algo: algo, Value: value}}
			delta = append(delta, c.Line()...)
			d.Removes++
		default:
			delta = release.AppendChangeLine(delta, mc.op, mc.line)
			if mc.op == release.OpAdd {
				d.Adds++
			} else {
				d.Updates++
			}
		}
		delta = append(delta, '\n')
	}
	version := ls.Counter(cVersion) + 1
	d.From = version - 1
	d.SHA256 = release.Digest(delta)
	d.Bytes = int64(len(delta))
	put := func(raw, sig []byte) error { return ls.PutRelease(version, raw, sig, delta) }
	return s.seal(tx, ls, l, a, sealed{version: version, count: count, root: root, tree: treeBlob, delta: d, now: s.now().UTC()}, put)
}

// sealed is what a built version adds up to before it is signed.
type sealed struct {
	version, count uint64
	root           setroot.Hash
	tree           []byte // the set-root tree's binary form
	delta          release.Delta
	now            time.Time
}

// seal makes, logs and signs version v's manifest and stores it through
// put (with the delta bytes, or beside those stored already), with the
// list's counters, tree and head, the retention window and the audit
// event.
func (s *Service) seal(tx *store.Tx, ls *store.ListState, l *lists.List, a Actor, v sealed, put func(raw, sig []byte) error) (*release.Manifest, error) {
	version, count, root, treeBlob, d, now := v.version, v.count, v.root, v.tree, v.delta, v.now
	logStore := tx.Log()
	logIndex, err := logStore.TreeSize()
	if err != nil {
		return nil, err
	}
	// Versions never go back in time, even if the node's clock does: a
	// client refuses a manifest created before its predecessor.
	if version > 1 {
		if prevRaw, _, err := ls.Manifest(version - 1); err == nil {
			if prev, err := release.ParseManifest(prevRaw); err == nil && prev.CreatedTime().After(now) {
				now = prev.CreatedTime()
			}
		}
	}
	m := &release.Manifest{
		Format: release.Format, Node: s.nodeID, List: l.Name, Version: version,
		Previous: string(ls.Blob(blobPrevious)),
		Created:  release.FormatTime(now), Expires: release.FormatTime(now.Add(s.pub.Expiry)),
		KeyID: s.pub.Signer.KeyID(), Entries: count, SetRoot: hex.EncodeToString(root[:]),
		Delta: d, LogIndex: logIndex,
	}
	raw := m.Encode()
	idx, err := translog.Append(logStore, raw)
	if err != nil {
		return nil, fmt.Errorf("log append: %w", err)
	}
	if idx != logIndex {
		return nil, fmt.Errorf("log append at %d, manifest says %d", idx, logIndex)
	}
	sig, err := s.pub.Signer.Sign(raw)
	if err != nil {
		return nil, err
	}
	if err := put(raw, sig); err != nil {
		return nil, err
	}
	for _, kv := range []struct {
		k string
		v uint64
	}{{cVersion, version}, {cCount, count}} {
		if err := ls.SetCounter(kv.k, kv.v); err != nil {
			return nil, err
		}
	}
	if err := ls.SetBlob(blobTree, treeBlob); err != nil {
		return nil, err
	}
	if err := ls.SetBlob(blobPrevious, []byte(release.Digest(raw))); err != nil {
		return nil, err
	}
	// Retention: drop the delta that fell out of the window.
	if version > s.pub.Retention {
		old := version - s.pub.Retention
		if err := ls.DeleteDelta(old); err != nil {
			return nil, err
		}
		if err := ls.SetCounter(cOldestDelta, old+1); err != nil {
			return nil, err
		}
	}
	if err := record(tx, a.audit(), now, "release.build", fmt.Sprintf("%s@%d", l.Name, version), m); err != nil {
		return nil, err
	}
	return m, nil
}

// ReleaseDue reports whether a list should get a new version now: entries
// changed since its last release, or its latest manifest is past half its
// lifetime (so that clients never see it expire while the node is up).
func (s *Service) ReleaseDue(name string) (bool, error) {
	if s.pub == nil {
		return false, nil
	}
	var due bool
	err := s.db.View(func(tx *store.Tx) error {
		ls, err := tx.ListState(name, false)
		if errors.Is(err, store.ErrNotFound) {
			due = true
			return nil
		}
		if err != nil {
			return err
		}
		v := ls.Counter(cVersion)
		if v == 0 || tx.LastChangeSeq() > ls.Counter(cChangeCursor) || tx.LastEntrySeq() > ls.Counter(cEntryCursor) {
			due = true
			return nil
		}
		due = s.heartbeatDue(ls)
		return nil
	})
	return due, err
}

// heartbeatDue reports whether the list's latest manifest is past half its
// lifetime (or cannot be read, which a new version repairs).
func (s *Service) heartbeatDue(ls *store.ListState) bool {
	raw, _, err := ls.Manifest(ls.Counter(cVersion))
	if err != nil {
		return true
	}
	m, err := release.ParseManifest(raw)
	if err != nil {
		return true
	}
	return s.now().After(m.CreatedTime().Add(s.pub.Expiry / 2))
}

// ScheduledReleases builds a release of every list that is due, as the
// node itself (audited as the system), and returns the manifests built.
func (s *Service) ScheduledReleases() ([]*release.Manifest, error) {
	ls, err := s.Lists()
	if err != nil {
		return nil, err
	}
	var out []*release.Manifest
	var errs []error
	for _, l := range ls {
		due, err := s.ReleaseDue(l.Name)
		if err != nil || !due {
			errs = append(errs, err)
			continue
		}
		m, err := s.build(Actor{User: "system", Org: "system", Role: "system"}, l.Name, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("list %q: %w", l.Name, err))
			continue
		}
		if m != nil {
			out = append(out, m)
		}
	}
	return out, errors.Join(errs...)
}

// dropMappedPages lets go of the store's pages that a release's
// transaction read. A release rehashes the set-root buckets its changes
// touch, and its commit reads the old page of every node it rewrites;
// the kernel maps the neighbouring cached pages with each (64 KB and
// more), so at 10M a release of 10,000 changes left ~1.75 GB of the file
// in the node's resident set until the next long read let it go
// (docs/PERFORMANCE.md). The pages stay in the page cache. A failure
// costs memory, not correctness.
func (s *Service) dropMappedPages() {
	_ = s.db.View(func(tx *store.Tx) error { return tx.DropMappedPages() })
}
