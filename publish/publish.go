// Package publish writes a node's releases to a static tree — a directory
// any web server can serve (an object store later) — so that platforms and
// peers can pull from hosts they need not trust: every file is signed,
// chained or logged, and hashctl pull --from checks it exactly as it
// checks a node's answers. The layout is in docs/publishing.md; its paths
// are client.Static*.
//
// A publish writes the immutable files first and never rewrites one (an
// existing file with other bytes is a conflict, not something to
// overwrite), then the keys, then the log's checkpoint, then each list's
// latest.json, each mutable file atomically. A reader therefore never
// meets a pointer to a file that is not there yet, and a publish that
// was killed resumes where it stopped: a file already there and identical
// is not sent again.
package publish

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/translog"
)

// DefaultSnapshotEvery is how many versions apart a list's published
// snapshots are: a new puller loads the newest and applies the deltas
// after it.
const DefaultSnapshotEvery = 100

// Errors.
var (
	// ErrConflict: the target holds other bytes at the path of an
	// immutable file — another node's tree, or a history that was
	// rewritten. Nothing is overwritten.
	ErrConflict = errors.New("the target holds a different file where an immutable one goes")
	// ErrRestricted: a list whose readers are restricted, asked for by
	// name, and a target not marked private.
	ErrRestricted = errors.New("the list's readers are restricted: publish it only to a --private target")
	// ErrAhead: the target's latest.json names a version the node does
	// not have (another node's tree, or the node's data was restored
	// from an older backup).
	ErrAhead = errors.New("the target is ahead of the node")
)

// Publisher publishes one node's releases to one target.
type Publisher struct {
	Hub    *hub.Service
	Target Target
	// Keys is the node's public keys as GET /v1/keys serves them
	// (rotation statements included).
	Keys any
	// ReleaseKeyPEM is the release key as GET /v1/keys/release.pem.
	ReleaseKeyPEM []byte
	// Private marks a target whose readers are controlled (per-reader
	// credentials or presigned URLs): only then are lists with restricted
	// readers, and the log's entry bundles, published to it.
	Private bool
	// SnapshotEvery: see DefaultSnapshotEvery (0 means it).
	SnapshotEvery uint64
	// Progress, if set, is told what is being done.
	Progress func(string)
}

// ListSummary is what a publish did for one list.
type ListSummary struct {
	List     string `json:"list"`
	From     uint64 `json:"from"` // the version the target's latest.json named before
	Version  uint64 `json:"version"`
	Snapshot uint64 `json:"snapshot,omitempty"` // a snapshot written this time
	Skipped  string `json:"skipped,omitempty"`  // why the list was not published
}

// Summary is what a publish did.
type Summary struct {
	Target       string        `json:"target"`
	Lists        []ListSummary `json:"lists"`
	LogSize      int64         `json:"log_size"`
	FilesWritten int           `json:"files_written"`
	FilesSkipped int           `json:"files_skipped"` // already there, identical
	BytesWritten int64         `json:"bytes_written"`
	Duration     time.Duration `json:"-"`
}

// maxSmall bounds the small files compared byte for byte (manifests,
// signatures, tiles, pointers).
const maxSmall = 1 << 20

// Publish publishes the named lists (none: every list with a release
// that this target may hold).
func (p *Publisher) Publish(ctx context.Context, names ...string) (*Summary, error) {
	start := time.Now()
	sum := &Summary{Target: p.Target.String(), Lists: []ListSummary{}}
	all, err := p.Hub.Lists()
	if err != nil {
		return sum, err
	}
	type job struct {
		l    lists.List
		info *hub.ReleaseInfo
		prev *client.LatestRelease
	}
	var jobs []job
	allPublic := true
	for _, l := range all {
		info, err := p.Hub.Releases(l.Name)
		if errors.Is(err, hub.ErrNotReleaseState) {
			continue
		}
		if err != nil {
			return sum, err
		}
		public := PublicReaders(l.Readers)
		allPublic = allPublic && public
		if len(names) > 0 && !slices.Contains(names, l.Name) {
			continue
		}
		if !public && !p.Private {
			if len(names) > 0 {
				return sum, fmt.Errorf("list %q: %w", l.Name, ErrRestricted)
			}
			sum.Lists = append(sum.Lists, ListSummary{List: l.Name, Skipped: "readers are restricted and the target is not --private"})
			p.say("%s: skipped: its readers are restricted and %s is not marked --private", l.Name, p.Target)
			continue
		}
		prev, err := p.pointer(ctx, l.Name)
		if err != nil {
			return sum, err
		}
		if prev != nil && prev.Latest > info.Latest {
			return sum, fmt.Errorf("list %q: %w: it names version %d, the node's latest is %d", l.Name, ErrAhead, prev.Latest, info.Latest)
		}
		jobs = append(jobs, job{l: l, info: info, prev: prev})
	}
	for _, n := range names {
		if !slices.ContainsFunc(jobs, func(j job) bool { return j.l.Name == n }) {
			if _, err := p.Hub.List(n); err != nil {
				return sum, err
			}
			if !slices.ContainsFunc(sum.Lists, func(s ListSummary) bool { return s.List == n }) {
				return sum, fmt.Errorf("list %q: %w", n, hub.ErrNotReleaseState)
			}
		}
	}
	// The checkpoint is signed after the versions were read, so it
	// covers every manifest published below.
	note, err := p.Hub.Checkpoint()
	if err != nil {
		return sum, err
	}
	cp, err := translog.OpenCheckpoint(note, p.Hub.LogVerifierKey())
	if err != nil {
		return sum, err
	}
	sum.LogSize = cp.Size

	pointers := make([][]byte, len(jobs))
	for i, j := range jobs {
		ls, ptr, err := p.publishList(ctx, sum, j.l.Name, j.info, j.prev)
		sum.Lists = append(sum.Lists, ls)
		if err != nil {
			return sum, fmt.Errorf("list %q: %w", j.l.Name, err)
		}
		pointers[i] = ptr
	}
	if err := p.publishLog(ctx, sum, cp.Size, p.Private || allPublic); err != nil {
		return sum, err
	}
	keys, err := json.Marshal(p.Keys)
	if err != nil {
		return sum, err
	}
	// The mutable files, each atomic: keys (a manifest signed by a new
	// key is reachable only once its rotation is), the checkpoint, then
	// the pointers.
	for _, f := range []struct {
		path string
		b    []byte
	}{{client.StaticKeys, keys}, {client.StaticReleasePEM, p.ReleaseKeyPEM}, {client.StaticCheckpoint, note}} {
		if err := p.mutable(ctx, sum, f.path, f.b); err != nil {
			return sum, err
		}
	}
	for i, j := range jobs {
		if err := p.mutable(ctx, sum, client.StaticLatest(j.l.Name), pointers[i]); err != nil {
			return sum, err
		}
	}
	sum.Duration = time.Since(start)
	return sum, nil
}

// PublicReaders reports whether a list's readers are every role, so that
// anyone with an account on the node may read it: only such a list goes
// to a target not marked private.
func PublicReaders(r lists.Readers) bool {
	for _, role := range orgs.Roles {
		if role != orgs.Admin && !slices.Contains(r.Roles, role) {
			return false
		}
	}
	return true
}

func (p *Publisher) say(format string, a ...any) {
	if p.Progress != nil {
		p.Progress(fmt.Sprintf(format, a...))
	}
}

// pointer reads the list's latest.json on the target (nil: none yet).
func (p *Publisher) pointer(ctx context.Context, list string) (*client.LatestRelease, error) {
	raw, err := p.Target.Get(ctx, client.StaticLatest(list), maxSmall)
	if errors.Is(err, ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var lr client.LatestRelease
	if err := json.Unmarshal(raw, &lr); err != nil {
		return nil, fmt.Errorf("%s on the target: %w", client.StaticLatest(list), err)
	}
	return &lr, nil
}

// publishList writes the list's versions after the one the target's
// pointer names (all of them if the pointer is missing: a killed publish
// left those it finished, which are skipped), and returns its new pointer.
func (p *Publisher) publishList(ctx context.Context, sum *Summary, name string, info *hub.ReleaseInfo, prev *client.LatestRelease) (ListSummary, []byte, error) {
	ls := ListSummary{List: name, Version: info.Latest}
	ptr := client.LatestRelease{List: name, Latest: info.Latest, OldestDelta: info.OldestDelta}
	first := uint64(1)
	if prev != nil {
		ls.From, first = prev.Latest, prev.Latest+1
		ptr.OldestDelta, ptr.SnapshotVersion = prev.OldestDelta, prev.SnapshotVersion
	}
	if ptr.OldestDelta == 0 {
		ptr.OldestDelta = info.OldestDelta
	}
	if first <= info.Latest {
		p.say("%s: versions %d to %d", name, first, info.Latest)
	}
	var latestManifest *release.Manifest
	for v := first; v <= info.Latest; v++ {
		raw, sig, err := p.Hub.Manifest(name, v)
		if err != nil {
			return ls, nil, err
		}
		m, err := release.ParseManifest(raw)
		if err != nil {
			return ls, nil, fmt.Errorf("version %d: %w", v, err)
		}
		bundle, err := release.Bundle(raw, sig, m.KeyID)
		if err != nil {
			return ls, nil, fmt.Errorf("version %d: %w", v, err)
		}
		dir := client.StaticVersion(name, v)
		if v >= info.OldestDelta {
			if err := p.delta(ctx, sum, name, v, dir+"/delta.ndjson", m.Delta.Bytes); err != nil {
				return ls, nil, err
			}
		} else if v == first {
			p.say("%s: the node no longer keeps the deltas before version %d; pullers start from a snapshot", name, info.OldestDelta)
		}
		for _, f := range []struct {
			name string
			b    []byte
		}{{"manifest.json", raw}, {"manifest.sig", sig}, {"manifest.sigstore.json", bundle}} {
			if err := p.immutable(ctx, sum, dir+"/"+f.name, f.b); err != nil {
				return ls, nil, err
			}
		}
		latestManifest = m
	}
	if latestManifest != nil {
		ptr.Entries = latestManifest.Entries
	} else if prev != nil {
		ptr.Entries = prev.Entries
	}
	every := p.SnapshotEvery
	if every == 0 {
		every = DefaultSnapshotEvery
	}
	// A snapshot of the latest version when there is none yet, when the
	// newest is every versions old, or when the deltas do not reach back
	// to it.
	if ptr.SnapshotVersion == 0 || info.Latest >= ptr.SnapshotVersion+every || ptr.SnapshotVersion+1 < ptr.OldestDelta {
		err := p.snapshot(ctx, sum, name, info.Latest, client.StaticVersion(name, info.Latest)+"/snapshot.ndjson")
		switch {
		case errors.Is(err, hub.ErrVersionGone):
			// A release came in between: the next publish takes it.
			p.say("%s: version %d is no longer the latest; its snapshot is left for the next publish", name, info.Latest)
		case err != nil:
			return ls, nil, err
		default:
			ptr.SnapshotVersion, ls.Snapshot = info.Latest, info.Latest
		}
	}
	out, err := json.Marshal(ptr)
	return ls, out, err
}

// immutable writes a small file that never changes, unless it is there
// already with the same bytes.
func (p *Publisher) immutable(ctx context.Context, sum *Summary, path string, b []byte) error {
	ok, _, err := p.Target.Stat(ctx, path)
	if err != nil {
		return err
	}
	if ok {
		have, err := p.Target.Get(ctx, path, maxSmall)
		if err != nil {
			return err
		}
		if !bytes.Equal(have, b) {
			return fmt.Errorf("%w: %s", ErrConflict, path)
		}
		sum.FilesSkipped++
		return nil
	}
	if err := putBytes(ctx, p.Target, path, b, CacheImmutable); err != nil {
		return err
	}
	sum.FilesWritten++
	sum.BytesWritten += int64(len(b))
	return nil
}

// mutable writes a pointer file if it changed.
func (p *Publisher) mutable(ctx context.Context, sum *Summary, path string, b []byte) error {
	have, err := p.Target.Get(ctx, path, maxSmall)
	if err == nil && bytes.Equal(have, b) {
		sum.FilesSkipped++
		return nil
	}
	if err != nil && !errors.Is(err, ErrNotExist) {
		return err
	}
	if err := putBytes(ctx, p.Target, path, b, CacheShort); err != nil {
		return err
	}
	sum.FilesWritten++
	sum.BytesWritten += int64(len(b))
	return nil
}

// delta writes version v's delta, streamed from the store. One already
// there is known whole by its size: files appear only by rename, and
// its digest is checked by every puller against the signed manifest.
func (p *Publisher) delta(ctx context.Context, sum *Summary, list string, v uint64, path string, size int64) error {
	ok, have, err := p.Target.Stat(ctx, path)
	if err != nil {
		return err
	}
	if ok {
		if have != size {
			return fmt.Errorf("%w: %s is %d bytes, the manifest says %d", ErrConflict, path, have, size)
		}
		sum.FilesSkipped++
		return nil
	}
	n, err := p.stream(ctx, path, func(w io.Writer) error { return p.Hub.WriteDelta(w, list, v-1, v, hub.NDJSON) })
	if err != nil {
		return err
	}
	sum.FilesWritten++
	sum.BytesWritten += n
	return nil
}

func (p *Publisher) snapshot(ctx context.Context, sum *Summary, list string, v uint64, path string) error {
	if ok, _, err := p.Target.Stat(ctx, path); err != nil || ok {
		if ok {
			sum.FilesSkipped++
		}
		return err
	}
	p.say("%s: snapshot of version %d", list, v)
	n, err := p.stream(ctx, path, func(w io.Writer) error { return p.Hub.WriteSnapshot(w, list, v, hub.NDJSON, nil) })
	if err != nil {
		return err
	}
	sum.FilesWritten++
	sum.BytesWritten += n
	return nil
}

// stream puts what write writes as path.
func (p *Publisher) stream(ctx context.Context, path string, write func(io.Writer) error) (int64, error) {
	pr, pw := io.Pipe()
	cw := &countWriter{w: pw}
	go func() { pw.CloseWithError(write(cw)) }()
	err := p.Target.Put(ctx, path, pr, CacheImmutable)
	pr.CloseWithError(errors.New("publish: upload stopped"))
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// publishLog writes the hash tiles of the tree of size n (C2SP
// tlog-tiles) and, if entries, its entry bundles: every manifest, of
// every list, so only where every list may go.
func (p *Publisher) publishLog(ctx context.Context, sum *Summary, n int64, entries bool) error {
	// Tiles up to the size already published are complete: the
	// checkpoint is written after them.
	var from int64
	if raw, err := p.Target.Get(ctx, client.StaticCheckpoint, maxSmall); err == nil {
		if old, err := translog.OpenCheckpoint(raw, p.Hub.LogVerifierKey()); err == nil && old.Size <= n {
			from = old.Size
		}
	}
	tiles := tlog.NewTiles(client.TileHeight, from, n)
	if len(tiles) > 0 {
		p.say("log: %d tiles for size %d", len(tiles), n)
	}
	for _, t := range tiles {
		var data []byte
		err := p.Hub.DB().View(func(tx *store.Tx) (err error) {
			data, err = tlog.ReadTileData(t, tx.Log())
			return err
		})
		if err != nil {
			return fmt.Errorf("log tile %s: %w", client.TilePath(t), err)
		}
		if err := p.immutable(ctx, sum, client.TilePath(t), data); err != nil {
			return err
		}
	}
	if !entries {
		return nil
	}
	// Entry bundles are checked from the start: an earlier publish to
	// this target may have left them out (made while it was not private).
	for _, t := range tlog.NewTiles(client.TileHeight, 0, n) {
		if t.L != 0 {
			continue
		}
		t.L = -1
		if ok, _, err := p.Target.Stat(ctx, client.TilePath(t)); err != nil || ok {
			if ok {
				sum.FilesSkipped++
			}
			if err != nil {
				return err
			}
			continue
		}
		var bundle []byte
		err := p.Hub.DB().View(func(tx *store.Tx) error {
			for i := t.N << client.TileHeight; i < t.N<<client.TileHeight+int64(t.W); i++ {
				leaf, err := tx.Log().Leaf(i)
				if err != nil {
					return err
				}
				if len(leaf) > 0xffff {
					return fmt.Errorf("leaf %d: %d bytes, more than an entry bundle's length prefix holds", i, len(leaf))
				}
				bundle = binary.BigEndian.AppendUint16(bundle, uint16(len(leaf)))
				bundle = append(bundle, leaf...)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("entry bundle %s: %w", client.TilePath(t), err)
		}
		if err := p.immutable(ctx, sum, client.TilePath(t), bundle); err != nil {
			return err
		}
	}
	return nil
}
