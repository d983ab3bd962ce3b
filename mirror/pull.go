package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
	"github.com/hashhub/hashhub/translog"
)

// Source is what a pull reads from: a *client.Client, or anything that
// wraps one (tests put tampering in between). Nothing it returns is
// trusted; an error that is a *client.Problem with status 404 (no such
// version) or 410 (delta no longer kept) steers the pull.
type Source interface {
	LatestRelease(ctx context.Context, list string) (*client.LatestRelease, error)
	Checkpoint(ctx context.Context) ([]byte, error)
	ConsistencyProof(ctx context.Context, old, new int64) ([]tlog.Hash, error)
	InclusionProof(ctx context.Context, index, size int64) ([]tlog.Hash, error)
	Manifest(ctx context.Context, list string, version uint64) ([]byte, error)
	ManifestSignature(ctx context.Context, list string, version uint64) ([]byte, error)
	Delta(ctx context.Context, list string, from, to uint64) (io.ReadCloser, error)
	Snapshot(ctx context.Context, list string, version uint64) (io.ReadCloser, uint64, error)
}

var _ Source = (*client.Client)(nil)

// Step is one version a pull applied.
type Step struct {
	Version uint64 `json:"version"`
	Adds    uint64 `json:"adds"`
	Removes uint64 `json:"removes"`
	Updates uint64 `json:"updates"`
	Entries uint64 `json:"entries"`
	// Snapshot marks a version reached by loading the snapshot (a start
	// from scratch, or a catch-up past the node's delta retention).
	Snapshot bool `json:"snapshot,omitempty"`
}

// Result is what a pull did. After a refusal it still says which steps
// were committed before it.
type Result struct {
	List string `json:"list"`
	// From is the version held before the pull, Version the one held now.
	From    uint64 `json:"from"`
	Version uint64 `json:"version"`
	Steps   []Step `json:"steps"`
	// UpToDate: the node had nothing newer.
	UpToDate bool   `json:"up_to_date"`
	Adds     uint64 `json:"adds"`
	Removes  uint64 `json:"removes"`
	Updates  uint64 `json:"updates"`
	Entries  uint64 `json:"entries"`
	SetRoot  string `json:"set_root,omitempty"`
	Expires  string `json:"expires,omitempty"`
	// CheckpointSize is the size of the log checkpoint now trusted.
	CheckpointSize int64 `json:"checkpoint_size"`
}

// verified is a manifest that passed the checks that need no other
// version: canonical form, pinned key, signature, list and node, version
// number, inclusion in the checkpoint (and expiry, for the newest).
type verified struct {
	raw, sig []byte
	m        *release.Manifest
	proof    []tlog.Hash
}

// refusals lists every sentinel that marks a failed check, so a pull can
// tell a refusal (the node's fault, named with the version) from a
// network or local error.
var refusals = []error{ErrSignature, ErrWrongKey, ErrMalformed, ErrWrongList, ErrRollback, ErrGap,
	ErrVersionMismatch, ErrChain, ErrExpired, ErrNotIncluded, ErrBadCheckpoint, ErrInconsistentLog,
	ErrDeltaDigest, ErrBadLine, ErrDeltaCounts, ErrSetRoot, ErrWitnessPolicy, ErrTooLarge}

func isRefusal(err error) bool {
	for _, r := range refusals {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}

// at names the version an error is about: "refused version 3: …" for a
// failed check, "version 3: …" for anything else.
func at(v uint64, err error) error {
	if err == nil {
		return nil
	}
	if isRefusal(err) {
		return fmt.Errorf("refused version %d: %w", v, err)
	}
	return fmt.Errorf("version %d: %w", v, err)
}

// detail is an error's message without the sentinel text it starts with,
// for wrapping it under this package's own sentinel without saying the
// same thing twice.
func detail(err, sentinel error) string {
	return strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
}

func status(err error) int {
	var p *client.Problem
	if errors.As(err, &p) {
		return p.Status
	}
	return 0
}

// Pull brings the mirror up to the node's latest version, verifying every
// step (see the package comment). now is the time manifests' expiry is
// judged at. Each version is committed in its own transaction, so an
// interrupted pull resumes where it stopped, and a refused step leaves the
// mirror exactly as it was after the last good one. progress, if not
// nil, is told what is being done.
//
// Only the newest manifest must be unexpired: older versions on the way
// to it expired long ago when a mirror has been offline for a while, and
// what expiry guards against — a node (or someone in between) keeping
// clients on a frozen list — is about the state the pull ends in.
func (m *Mirror) Pull(ctx context.Context, src Source, now time.Time, progress func(string)) (*Result, error) {
	if progress == nil {
		progress = func(string) {}
	}
	st, err := m.State()
	if err != nil {
		return nil, err
	}
	res := &Result{List: st.List, From: st.Version, Version: st.Version, Steps: []Step{}, Entries: st.Entries,
		SetRoot: st.SetRoot, Expires: st.Expires, CheckpointSize: st.CheckpointSize}

	// The latest version first, the checkpoint after: a checkpoint fetched
	// later includes every manifest published before, so a release built
	// in between cannot make an honest node's manifest look unlogged.
	lr, err := src.LatestRelease(ctx, st.List)
	if err != nil {
		return res, fmt.Errorf("latest release of %q: %w", st.List, err)
	}
	latest := lr.Latest
	switch {
	case latest < st.Version:
		return res, fmt.Errorf("refused version %d: %w: the node says its latest version is %d, the mirror holds %d", latest, ErrRollback, latest, st.Version)
	case latest == 0:
		return res, fmt.Errorf("list %q has no release yet", st.List)
	}
	cp, err := m.checkpoint(ctx, src, progress)
	if err != nil {
		return res, err
	}

	// The newest manifest is checked before anything is applied, so an
	// expired or unlogged head is refused without a partial pull.
	top, err := m.fetchVerified(ctx, src, st, latest, cp, now, true)
	if err != nil {
		return res, at(latest, err)
	}
	if latest == st.Version {
		return res, m.upToDate(st, top, cp, res, progress)
	}

	var prev *verified
	if st.Version > 0 {
		if prev, err = m.stored(st.Version); err != nil {
			return res, err
		}
	}
	// snapshotBase is the version a first pull loads a snapshot of: the
	// latest (a node's) or a published tree's newest.
	snapshotBase := latest
	if s := lr.SnapshotVersion; s > 0 && s < latest {
		snapshotBase = s
	}
	// next verifies version v (the latest is top, already fetched) and
	// chains it to prev.
	next := func(v uint64) (*verified, error) {
		cur := top
		if v < latest {
			var err error
			if cur, err = m.fetchVerified(ctx, src, st, v, cp, now, false); err != nil {
				return nil, err
			}
		}
		return cur, checkChain(prev, cur)
	}
	if st.Version == 0 && latest > m.snapshotAfter() {
		// A node's snapshot is its latest version's; a published tree
		// keeps one every so many versions and says which is newest, and
		// the deltas after it lead on to the latest.
		base := snapshotBase
		progress(fmt.Sprintf("starting from the snapshot of version %d (the list has %d versions; only its manifest is verified, there is no earlier one to chain to)", base, latest))
		if base == latest {
			return res, at(latest, m.catchUp(ctx, src, st, []*verified{top}, cp, res, progress))
		}
		b, err := m.fetchVerified(ctx, src, st, base, cp, now, false)
		if err != nil {
			return res, at(base, err)
		}
		if err := m.catchUp(ctx, src, st, []*verified{b}, cp, res, progress); err != nil {
			return res, at(base, err)
		}
		st.Version, st.Node, prev = base, b.m.Node, b
	}
	if st.Version == 0 && latest > 1 && latest <= m.snapshotAfter() && top.m.Entries > uint64(m.batch()) {
		// A first pull of a list larger than a batch, with few versions:
		// replaying version 1's delta would be one transaction holding the
		// whole list. The manifests from version 1 are verified and
		// chained as a replay would verify them, and the contents load
		// from a snapshot in batches: the latest's from a node, a
		// published tree's newest (then the deltas after it).
		base := snapshotBase
		var chain []*verified
		for v := uint64(1); v <= base; v++ {
			cur, err := next(v)
			if err != nil {
				return res, at(v, err)
			}
			chain, prev = append(chain, cur), cur
		}
		progress(fmt.Sprintf("%d entries: verifying the manifests from version 1 and loading the snapshot of version %d in batches of %d lines", top.m.Entries, base, m.batch()))
		if err := m.catchUp(ctx, src, st, chain, cp, res, progress); err != nil {
			return res, at(base, err)
		}
		st.Version, st.Node = base, prev.m.Node
	}
	for v := st.Version + 1; v <= latest; v++ {
		cur, err := next(v)
		if err != nil {
			return res, at(v, err)
		}
		if v == 1 && latest == 1 && cur.m.Delta.Adds > uint64(m.batch()) {
			// A first version larger than a batch: its snapshot (the
			// latest, so the node keeps it) is the same entries, checked
			// against the same signed set root, and loads in batches
			// where the delta would be one transaction.
			progress(fmt.Sprintf("version 1: %d entries, loading the snapshot in batches of %d lines", cur.m.Entries, m.batch()))
			return res, at(v, m.catchUp(ctx, src, st, []*verified{cur}, cp, res, progress))
		}
		rc, err := src.Delta(ctx, st.List, v-1, v)
		if status(err) == http.StatusGone {
			progress(fmt.Sprintf("version %d: the node no longer keeps the delta from %d; catching up from the snapshot", v, v-1))
			return res, m.catchUpFrom(ctx, src, st, cur, latest, top, cp, now, res, progress)
		}
		if err != nil {
			return res, at(v, fmt.Errorf("fetch delta %d→%d: %w", v-1, v, err))
		}
		step, err := m.applyDelta(st, cur, rc, cp)
		rc.Close()
		if err != nil {
			return res, at(v, err)
		}
		res.record(step, cur, cp)
		progress(fmt.Sprintf("version %d: +%d -%d ~%d, %d entries, set root %s", v, step.Adds, step.Removes, step.Updates, step.Entries, cur.m.SetRoot))
		if st.Node == "" {
			st.Node = cur.m.Node
		}
		prev = cur
	}
	return res, nil
}

func (r *Result) record(s Step, v *verified, cp *translog.Checkpoint) {
	r.Steps = append(r.Steps, s)
	r.Version, r.Entries, r.SetRoot, r.Expires, r.CheckpointSize = s.Version, s.Entries, v.m.SetRoot, v.m.Expires, cp.Size
	r.Adds += s.Adds
	r.Removes += s.Removes
	r.Updates += s.Updates
}

func (m *Mirror) snapshotAfter() uint64 {
	if m.SnapshotAfter > 0 {
		return m.SnapshotAfter
	}
	return DefaultSnapshotAfter
}

// checkpoint fetches the log's checkpoint, verifies its signature with the
// pinned log key, and checks that it extends the one last trusted.
func (m *Mirror) checkpoint(ctx context.Context, src Source, progress func(string)) (*translog.Checkpoint, error) {
	raw, err := src.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch checkpoint: %w", err)
	}
	cp, err := openCheckpoint(raw, m.logKey)
	if err != nil {
		return nil, fmt.Errorf("refused checkpoint: %w", err)
	}
	if m.WitnessPolicy != nil {
		names, err := m.WitnessPolicy.Check(cp.Note)
		if err != nil {
			return nil, fmt.Errorf("refused checkpoint: %w: %w", ErrWitnessPolicy, err)
		}
		progress(fmt.Sprintf("checkpoint: cosigned by %s", strings.Join(names, ", ")))
	}
	var old []byte
	if err := m.db.View(func(tx *bolt.Tx) error {
		old = bytes.Clone(tx.Bucket(bMeta).Get([]byte(mCheckpoint)))
		return nil
	}); err != nil {
		return nil, err
	}
	if old == nil {
		progress(fmt.Sprintf("checkpoint: log size %d (the first this mirror trusts)", cp.Size))
		return cp, nil
	}
	trusted, err := openCheckpoint(old, m.logKey)
	if err != nil {
		return nil, fmt.Errorf("%w: stored checkpoint: %w", ErrCorrupt, err)
	}
	var proof []tlog.Hash
	if cp.Size > trusted.Size && trusted.Size > 0 {
		if proof, err = src.ConsistencyProof(ctx, trusted.Size, cp.Size); err != nil {
			if errors.Is(err, translog.ErrBadProof) {
				return nil, fmt.Errorf("refused checkpoint: %w: %w", ErrInconsistentLog, err)
			}
			return nil, fmt.Errorf("fetch consistency proof %d→%d: %w", trusted.Size, cp.Size, err)
		}
	}
	if err := translog.VerifyConsistency(trusted, cp, proof); err != nil {
		if errors.Is(err, translog.ErrRollback) {
			return nil, fmt.Errorf("refused checkpoint: %w: %s", ErrRollback, detail(err, translog.ErrRollback))
		}
		return nil, fmt.Errorf("refused checkpoint: %w: %s", ErrInconsistentLog, detail(err, translog.ErrInconsistent))
	}
	progress(fmt.Sprintf("checkpoint: log size %d, consistent with the trusted size %d", cp.Size, trusted.Size))
	return cp, nil
}

func openCheckpoint(raw []byte, logKey string) (*translog.Checkpoint, error) {
	cp, err := translog.OpenCheckpoint(raw, logKey)
	if err != nil {
		if errors.Is(err, translog.ErrBadCheckpoint) {
			return nil, fmt.Errorf("%w: %s", ErrBadCheckpoint, detail(err, translog.ErrBadCheckpoint))
		}
		return nil, err
	}
	return cp, nil
}

// fetchVerified fetches version v's manifest and signature and runs the
// checks that need no other version.
func (m *Mirror) fetchVerified(ctx context.Context, src Source, st *State, v uint64, cp *translog.Checkpoint, now time.Time, head bool) (*verified, error) {
	raw, err := src.Manifest(ctx, st.List, v)
	if status(err) == http.StatusNotFound {
		// The node's answer as text, not wrapped: this is a refusal, not
		// an error of the node's to report as such.
		return nil, fmt.Errorf("%w: the node has no manifest for version %d (%v)", ErrGap, v, err)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch manifest: %w", err)
	}
	sig, err := src.ManifestSignature(ctx, st.List, v)
	if status(err) == http.StatusNotFound {
		return nil, fmt.Errorf("%w: the node has no signature for version %d (%v)", ErrGap, v, err)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch signature: %w", err)
	}
	vm, err := m.check(st, v, raw, sig)
	if errors.Is(err, ErrWrongKey) {
		// A rotated key: trust it only through statements signed by a
		// key the mirror already trusts.
		if man, perr := release.ParseManifest(raw); perr == nil {
			if lerr := m.learnRotations(ctx, src, man.KeyID); lerr != nil {
				return nil, lerr
			}
			vm, err = m.check(st, v, raw, sig)
		}
	}
	if err != nil {
		return nil, err
	}
	if head && !now.Before(vm.m.ExpiresTime()) {
		return nil, fmt.Errorf("%w: the newest manifest expired at %s (now %s): the node has stopped publishing, or is being kept from you",
			ErrExpired, vm.m.Expires, release.FormatTime(now))
	}
	if vm.m.LogIndex < 0 || vm.m.LogIndex >= cp.Size {
		return nil, fmt.Errorf("%w: log index %d is outside the checkpoint's %d leaves", ErrNotIncluded, vm.m.LogIndex, cp.Size)
	}
	proof, err := src.InclusionProof(ctx, vm.m.LogIndex, cp.Size)
	if errors.Is(err, translog.ErrBadProof) {
		return nil, fmt.Errorf("%w: %w", ErrNotIncluded, err)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch inclusion proof: %w", err)
	}
	if err := translog.VerifyInclusion(cp, vm.m.LogIndex, raw, proof); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotIncluded, detail(err, translog.ErrNotIncluded))
	}
	vm.proof = proof
	return vm, nil
}

// check verifies one manifest on its own: canonical form, pinned key,
// signature, list, node and version. It is shared by Pull and Verify.
func (m *Mirror) check(st *State, v uint64, raw, sig []byte) (*verified, error) {
	man, err := release.ParseManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, detail(err, release.ErrMalformed))
	}
	key, ok := m.keys[man.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w: key_id %s, pinned %s", ErrWrongKey, man.KeyID, m.verifier.KeyID())
	}
	if err := key.Verify(raw, sig); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrSignature, detail(err, release.ErrBadSignature))
	}
	switch {
	case man.List != st.List:
		return nil, fmt.Errorf("%w: the manifest is of list %q, not %q", ErrWrongList, man.List, st.List)
	case st.Node != "" && man.Node != st.Node:
		return nil, fmt.Errorf("%w: the manifest is from node %q, the mirror follows %q", ErrWrongList, man.Node, st.Node)
	case man.Version > v:
		return nil, fmt.Errorf("%w: the manifest served as version %d is version %d", ErrGap, v, man.Version)
	case man.Version < v:
		return nil, fmt.Errorf("%w: the manifest served as version %d is version %d", ErrVersionMismatch, v, man.Version)
	}
	if _, err := setroot.ParseRoot(man.SetRoot); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return &verified{raw: raw, sig: sig, m: man}, nil
}

// checkChain checks that cur follows prev (nil: cur is the first version
// the mirror holds). A version 1 must start the chain.
func checkChain(prev, cur *verified) error {
	m := cur.m
	if m.Delta.From != m.Version-1 {
		return fmt.Errorf("%w: the delta of version %d is from version %d", ErrChain, m.Version, m.Delta.From)
	}
	if m.Version == 1 && m.Previous != "" {
		return fmt.Errorf("%w: version 1 names a previous manifest", ErrChain)
	}
	if prev == nil {
		return nil
	}
	if m.Node != prev.m.Node {
		return fmt.Errorf("%w: version %d is from node %q, version %d from %q", ErrChain, m.Version, m.Node, prev.m.Version, prev.m.Node)
	}
	if want := release.Digest(prev.raw); m.Previous != want {
		return fmt.Errorf("%w: previous is %q, the manifest of version %d has SHA-256 %s", ErrChain, m.Previous, prev.m.Version, want)
	}
	if m.CreatedTime().Before(prev.m.CreatedTime()) {
		return fmt.Errorf("%w: created %s, before version %d (%s)", ErrChain, m.Created, prev.m.Version, prev.m.Created)
	}
	return nil
}

// stored returns the manifest the mirror holds for version v.
func (m *Mirror) stored(v uint64) (*verified, error) {
	var vm *verified
	err := m.db.View(func(tx *bolt.Tx) error {
		raw := bytes.Clone(tx.Bucket(bManifests).Get(vkey(v)))
		man, err := release.ParseManifest(raw)
		if err != nil {
			return fmt.Errorf("%w: stored manifest %d: %w", ErrCorrupt, v, err)
		}
		vm = &verified{raw: raw, sig: bytes.Clone(tx.Bucket(bSigs).Get(vkey(v))), m: man}
		return nil
	})
	return vm, err
}

// upToDate handles a node with nothing newer: the manifest it serves for
// the version held must be the one held (a node that re-signs history is
// refused), and the newer checkpoint is kept.
func (m *Mirror) upToDate(st *State, top *verified, cp *translog.Checkpoint, res *Result, progress func(string)) error {
	held, err := m.stored(st.Version)
	if err != nil {
		return err
	}
	if !bytes.Equal(held.raw, top.raw) {
		return at(st.Version, fmt.Errorf("%w: the node serves a manifest for version %d that differs from the one held (SHA-256 %s, held %s)",
			ErrChain, st.Version, release.Digest(top.raw), release.Digest(held.raw)))
	}
	res.UpToDate = true
	res.CheckpointSize = cp.Size
	if cp.Size == st.CheckpointSize {
		progress(fmt.Sprintf("up to date at version %d", st.Version))
		return nil
	}
	err = m.db.Update(func(tx *bolt.Tx) error { return putCheckpoint(tx.Bucket(bMeta), cp, top.proof) })
	if err != nil {
		return fmt.Errorf("store checkpoint: %w", err)
	}
	progress(fmt.Sprintf("up to date at version %d; now trusting log size %d", st.Version, cp.Size))
	return nil
}

// putCheckpoint stores the checkpoint with the current manifest's
// inclusion proof in it. It is written with every step, not only the last:
// it was checked consistent before any step, so it is trusted either way,
// and keeping it beside the manifest it includes lets Verify recheck that
// inclusion offline at any time, even after an interrupted pull.
func putCheckpoint(meta *bolt.Bucket, cp *translog.Checkpoint, proof []tlog.Hash) error {
	if err := meta.Put([]byte(mCheckpoint), bytes.Clone(cp.Note)); err != nil {
		return err
	}
	enc := make([]byte, 0, len(proof)*tlog.HashSize)
	for _, h := range proof {
		enc = append(enc, h[:]...)
	}
	return meta.Put([]byte(mInclusion), enc)
}

// putVersion records a verified manifest as the current version.
func (m *Mirror) putVersion(tx *bolt.Tx, st *State, vm *verified, entries uint64, cp *translog.Checkpoint) error {
	meta := tx.Bucket(bMeta)
	v := vm.m.Version
	if err := tx.Bucket(bManifests).Put(vkey(v), bytes.Clone(vm.raw)); err != nil {
		return err
	}
	if err := tx.Bucket(bSigs).Put(vkey(v), bytes.Clone(vm.sig)); err != nil {
		return err
	}
	if getU64(meta, mBase) == 0 {
		if err := putU64(meta, mBase, v); err != nil {
			return err
		}
	}
	if st.Node == "" {
		if err := meta.Put([]byte(mNode), []byte(vm.m.Node)); err != nil {
			return err
		}
	}
	if err := putU64(meta, mVersion, v); err != nil {
		return err
	}
	if err := putU64(meta, mEntries, entries); err != nil {
		return err
	}
	if err := m.putRotations(tx); err != nil {
		return err
	}
	return putCheckpoint(meta, cp, vm.proof)
}

// applyDelta downloads and checks version vm's delta, applies it, and
// commits it with the manifest if the result has the manifest's set root
// and entry count. On any failure nothing is written.
func (m *Mirror) applyDelta(st *State, vm *verified, body io.Reader, cp *translog.Checkpoint) (Step, error) {
	d := vm.m.Delta
	step := Step{Version: vm.m.Version}
	if d.Bytes < 0 {
		return step, fmt.Errorf("%w: delta of %d bytes", ErrMalformed, d.Bytes)
	}
	if d.Bytes > m.maxBytes() {
		return step, fmt.Errorf("%w: the manifest signs a delta of %d bytes, over the mirror's cap of %d", ErrTooLarge, d.Bytes, m.maxBytes())
	}
	sp, err := download(body, d.Bytes)
	if err != nil {
		return step, fmt.Errorf("fetch delta %d→%d: %w", d.From, vm.m.Version, err)
	}
	defer sp.Close()
	switch {
	case sp.n != d.Bytes:
		return step, fmt.Errorf("%w: the delta is %s, the manifest says %d bytes", ErrDeltaDigest, lengthDesc(sp.n, d.Bytes), d.Bytes)
	case sp.sum() != d.SHA256:
		return step, fmt.Errorf("%w: SHA-256 %s, the manifest says %s", ErrDeltaDigest, sp.sum(), d.SHA256)
	}
	r, err := sp.reader()
	if err != nil {
		return step, err
	}
	want, _ := setroot.ParseRoot(vm.m.SetRoot) // checked in check
	undo := map[uint16]setroot.Hash{}
	err = m.db.Update(func(tx *bolt.Tx) error {
		members := tx.Bucket(bMembers)
		count := getU64(tx.Bucket(bMeta), mEntries)
		sets := newLeafSets(tx.Bucket(bLeaves))
		var mw memberWrites
		var imported []release.Change
		err := parseDelta(r, func(c release.Change) error {
			if m.Importer != nil {
				imported = append(imported, c)
			}
			key := c.Key()
			b, fp := keyBucket(key)
			set, err := sets.get(b)
			if err != nil {
				return err
			}
			// Members are written after the whole delta is read, so the
			// lines find reads are the version held's: each key appears
			// once in a delta.
			i, held := set.find(members, key, b, fp)
			if (c.Op == release.OpAdd) == held {
				what := "adds an entry the mirror holds"
				if !held {
					what = c.Op + "s an entry the mirror does not hold"
				}
				return fmt.Errorf("%w: %s", ErrBadLine, what)
			}
			if held {
				mw.del(memberKeyOf(b, (*setroot.Hash)(set.leaf(i))))
				set.remove(i)
			}
			switch c.Op {
			case release.OpAdd:
				step.Adds++
				count++
			case release.OpRemove:
				step.Removes++
				count--
				return nil
			default:
				step.Updates++
			}
			line := c.Item.Line()
			leaf := setroot.LeafHash(line)
			mw.put(memberKeyOf(b, &leaf), line)
			set.insert(&leaf, fp)
			return nil
		})
		if err == nil {
			err = mw.apply(members)
		}
		if err != nil {
			return err
		}
		if step.Adds != d.Adds || step.Removes != d.Removes || step.Updates != d.Updates {
			return fmt.Errorf("%w: the delta has %d adds, %d removes, %d updates; the manifest says %d, %d, %d",
				ErrDeltaCounts, step.Adds, step.Removes, step.Updates, d.Adds, d.Removes, d.Updates)
		}
		err = sets.store(tx.Bucket(bTree), func(b uint16, digest setroot.Hash) {
			if _, ok := undo[b]; !ok {
				undo[b] = m.tree.Bucket(b)
			}
			m.tree.SetBucket(b, digest)
		})
		if err != nil {
			return err
		}
		if got := m.tree.Root(); got != want || count != vm.m.Entries {
			return fmt.Errorf("%w: after the delta the mirror has set root %s and %d entries; the manifest says %s and %d",
				ErrSetRoot, hexRoot(got), count, vm.m.SetRoot, vm.m.Entries)
		}
		step.Entries = count
		if m.Importer != nil {
			if err := m.Importer(&AppliedStep{List: st.List, Version: vm.m.Version, Changes: imported}); err != nil {
				return fmt.Errorf("%w: %w", ErrImport, err)
			}
		}
		return m.putVersion(tx, st, vm, count, cp)
	})
	m.dropMapped()
	if err != nil {
		for b, h := range undo {
			m.tree.SetBucket(b, h)
		}
		return step, err
	}
	return step, nil
}

func lengthDesc(n, want int64) string {
	if n > want {
		return "longer"
	}
	return fmt.Sprintf("%d bytes (truncated?)", n)
}

// catchUpFrom handles a node that no longer keeps the delta from the
// version held: first (already chained to the version held) and the
// manifests after it up to the newest are verified as a chain — a node
// keeps manifests for ever, so the chain stays checkable — and then the
// newest snapshot replaces the contents.
func (m *Mirror) catchUpFrom(ctx context.Context, src Source, st *State, first *verified, latest uint64, top *verified,
	cp *translog.Checkpoint, now time.Time, res *Result, progress func(string)) error {
	chain := []*verified{first}
	for v := first.m.Version + 1; v <= latest; v++ {
		cur := top
		if v < latest {
			var err error
			if cur, err = m.fetchVerified(ctx, src, st, v, cp, now, false); err != nil {
				return at(v, err)
			}
		}
		if err := checkChain(chain[len(chain)-1], cur); err != nil {
			return at(v, err)
		}
		chain = append(chain, cur)
	}
	return at(latest, m.catchUp(ctx, src, st, chain, cp, res, progress))
}

// catchUp loads the snapshot of the last manifest of chain (all verified
// and chained) in place of the mirror's contents: verified and staged in
// batches while it downloads (snapshot.go, stage.go), then swapped in
// with the manifests in one transaction.
func (m *Mirror) catchUp(ctx context.Context, src Source, st *State, chain []*verified, cp *translog.Checkpoint, res *Result, progress func(string)) error {
	top := chain[len(chain)-1]
	v := top.m.Version
	rc, got, err := src.Snapshot(ctx, st.List, v)
	if err != nil {
		return fmt.Errorf("fetch snapshot: %w", err)
	}
	defer rc.Close()
	if got != v {
		return fmt.Errorf("%w: the node sent the snapshot of version %d for version %d", ErrVersionMismatch, got, v)
	}
	digest := release.Digest(top.raw)
	sp, tree, err := m.loadSnapshot(rc, top.m, digest, progress)
	if err != nil {
		return err
	}
	if sp != nil {
		defer sp.Close()
	}
	count := top.m.Entries
	err = m.db.Update(func(tx *bolt.Tx) error {
		// Before the importer takes the entries: a stage that is not the
		// verified snapshot's changes nothing anywhere.
		if err := checkStage(tx, digest, count, tree); err != nil {
			return err
		}
		if m.Importer != nil {
			step := &AppliedStep{List: st.List, Version: v, Snapshot: true, lines: func(fn func(release.Change) error) error {
				r, err := sp.reader()
				if err != nil {
					return err
				}
				return readLines(r, func(n int, line []byte) error {
					it, err := release.ParseItem(line)
					if err != nil {
						return fmt.Errorf("%w: spooled snapshot line %d: %w", ErrCorrupt, n, err)
					}
					return fn(release.Change{Op: release.OpAdd, Item: it})
				})
			}}
			if err := m.Importer(step); err != nil {
				return fmt.Errorf("%w: %w", ErrImport, err)
			}
		}
		if err := swapStage(tx); err != nil {
			return err
		}
		if st.Version == 0 {
			// The verified chain begins with its first manifest: version 1
			// after a catch-up, the newest version on a snapshot start.
			if err := putU64(tx.Bucket(bMeta), mBase, chain[0].m.Version); err != nil {
				return err
			}
		}
		for _, vm := range chain {
			if err := m.putVersion(tx, st, vm, count, cp); err != nil {
				return err
			}
		}
		return nil
	})
	m.dropMapped()
	if errors.Is(err, ErrStageMismatch) {
		if derr := m.dropStage(); derr != nil {
			return fmt.Errorf("%w (and dropping the stage: %v)", err, derr)
		}
		return fmt.Errorf("%w: the stage was dropped; pull again to load the snapshot from its first line", err)
	}
	if err != nil {
		return err
	}
	m.tree = tree
	prevEntries := res.Entries
	step := Step{Version: v, Entries: count, Snapshot: true}
	if st.Version == 0 && chain[0].m.Version == 1 {
		// A whole chain from version 1: every entry is an add.
		step.Adds = count
	}
	res.record(step, top, cp)
	progress(fmt.Sprintf("version %d: loaded from the snapshot, %d entries (was %d), set root %s", v, count, prevEntries, top.m.SetRoot))
	return nil
}

// memberKeyOf is bucket(2) | leaf(32).
func memberKeyOf(b uint16, leaf *setroot.Hash) []byte {
	out := make([]byte, memberKeyLen)
	out[0], out[1] = byte(b>>8), byte(b)
	copy(out[2:], leaf[:])
	return out
}

// memberWrites collects a step's writes to one bucket and applies them in
// key order. bbolt inserts into a node by copying its tail, so a large
// step written in arrival order into a young bucket costs quadratic time;
// in key order every insert is an append.
type memberWrites struct {
	dels [][]byte
	puts []memberKV
}

type memberKV struct{ k, v []byte }

func (w *memberWrites) del(k []byte)    { w.dels = append(w.dels, k) }
func (w *memberWrites) put(k, v []byte) { w.puts = append(w.puts, memberKV{k, v}) }

func (w *memberWrites) apply(b *bolt.Bucket) error {
	slices.SortFunc(w.dels, bytes.Compare)
	for _, k := range w.dels {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	slices.SortFunc(w.puts, func(x, y memberKV) int { return bytes.Compare(x.k, y.k) })
	for _, p := range w.puts {
		if err := b.Put(p.k, p.v); err != nil {
			return err
		}
	}
	return nil
}

// applyUnique is apply for a fresh bucket whose keys must not repeat.
func (w *memberWrites) applyUnique(b *bolt.Bucket, dupReason string) error {
	slices.SortFunc(w.puts, func(x, y memberKV) int { return bytes.Compare(x.k, y.k) })
	for i := 1; i < len(w.puts); i++ {
		if bytes.Equal(w.puts[i-1].k, w.puts[i].k) {
			return fmt.Errorf("%w: %s", ErrBadLine, dupReason)
		}
	}
	return w.apply(b)
}

// NodeCheckpoint fetches src's checkpoint (a node's, or a witness's
// copy) and checks it as a pull would — the pinned log key, the witness
// policy, consistency with the checkpoint trusted — without storing it or
// pulling anything. It returns the checkpoint's size: one larger than
// the trusted checkpoint shows that what the mirror last read was behind.
func (m *Mirror) NodeCheckpoint(ctx context.Context, src Source) (int64, error) {
	cp, err := m.checkpoint(ctx, src, func(string) {})
	if err != nil {
		return 0, err
	}
	return cp.Size, nil
}

// SignedSize checks that raw is a checkpoint signed with the pinned log
// key and returns its size, trusting nothing else and storing nothing.
// It is how a checkpoint shown by someone other than the source of a pull
// — a witness's copy, the node's while a published tree is read — counts
// as evidence that the log has grown: only the log key can sign one, so a
// forged "newer" checkpoint is refused here (ErrBadCheckpoint).
func (m *Mirror) SignedSize(raw []byte) (int64, error) {
	cp, err := openCheckpoint(raw, m.logKey)
	if err != nil {
		return 0, err
	}
	return cp.Size, nil
}

// Entries calls fn with each entry the mirror holds, as an add, in the
// mirror's key order, stopping at the first error fn returns.
func (m *Mirror) Entries(fn func(release.Change) error) error {
	return m.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bMembers).ForEach(func(_, line []byte) error {
			it, err := release.ParseItem(line)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
			return fn(release.Change{Op: release.OpAdd, Item: it})
		})
	})
}
