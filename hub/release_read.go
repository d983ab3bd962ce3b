package hub

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
	"github.com/hashhub/hashhub/store"
)

// ReleaseInfo is what a reader needs to know about a list's releases.
type ReleaseInfo struct {
	List    string `json:"list"`
	Latest  uint64 `json:"latest"`
	Entries uint64 `json:"entries"`
	// OldestDelta is the oldest version whose single-step delta is kept:
	// delta?from=N works for N ≥ OldestDelta-1; earlier clients start from
	// the snapshot.
	OldestDelta uint64 `json:"oldest_delta"`
}

func (s *Service) listState(tx *store.Tx, name string) (*store.ListState, error) {
	if _, err := tx.List(name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: %q", lists.ErrNotFound, name)
		}
		return nil, err
	}
	ls, err := tx.ListState(name, false)
	if errors.Is(err, store.ErrNotFound) || (err == nil && ls.Counter(cVersion) == 0) {
		return nil, fmt.Errorf("%w: list %q", ErrNotReleaseState, name)
	}
	return ls, err
}

// Releases describes a list's releases.
func (s *Service) Releases(name string) (*ReleaseInfo, error) {
	var ri *ReleaseInfo
	err := s.db.View(func(tx *store.Tx) error {
		ls, err := s.listState(tx, name)
		if err != nil {
			return err
		}
		ri = &ReleaseInfo{List: name, Latest: ls.Counter(cVersion), Entries: ls.Counter(cCount), OldestDelta: max(1, ls.Counter(cOldestDelta))}
		return nil
	})
	return ri, err
}

// Manifest returns a version's manifest bytes and signature.
func (s *Service) Manifest(name string, version uint64) (manifest, sig []byte, err error) {
	err = s.db.View(func(tx *store.Tx) error {
		ls, err := s.listState(tx, name)
		if err != nil {
			return err
		}
		if version == 0 || version > ls.Counter(cVersion) {
			return fmt.Errorf("%w: %q has no version %d (latest %d)", ErrVersionTooNew, name, version, ls.Counter(cVersion))
		}
		manifest, sig, err = ls.Manifest(version)
		return err
	})
	return manifest, sig, err
}

// DeltaFormat is how a delta is written.
type DeltaFormat int

// Delta formats.
const (
	NDJSON DeltaFormat = iota
	CSV
)

// CSVHeader is the first line of a CSV delta or snapshot.
const CSVHeader = "op,algo,value,quality,severity\n"

// DeltaRange validates from/to (to 0 = latest) and returns the resolved to.
func (s *Service) DeltaRange(name string, from, to uint64) (uint64, error) {
	var resolved uint64
	err := s.db.View(func(tx *store.Tx) error {
		ls, err := s.listState(tx, name)
		if err != nil {
			return err
		}
		latest := ls.Counter(cVersion)
		if to == 0 {
			to = latest
		}
		switch {
		case from > latest:
			return fmt.Errorf("%w: from=%d but the latest version is %d", ErrVersionTooNew, from, latest)
		case to > latest:
			return fmt.Errorf("%w: to=%d but the latest version is %d", ErrVersionTooNew, to, latest)
		case to < from:
			return fmt.Errorf("%w: to=%d is before from=%d", ErrVersionTooNew, to, from)
		case from+1 < max(1, ls.Counter(cOldestDelta)) && from != 0:
			return fmt.Errorf("%w: deltas before version %d are not kept; start from the snapshot", ErrVersionGone, ls.Counter(cOldestDelta))
		case from == 0 && to != latest && ls.Counter(cOldestDelta) > 1:
			return fmt.Errorf("%w: deltas before version %d are not kept; start from the snapshot", ErrVersionGone, ls.Counter(cOldestDelta))
		}
		resolved = to
		return nil
	})
	return resolved, err
}

// WriteDelta writes the changes from version from to version to (resolved
// by DeltaRange). A single step (to = from+1) is written byte for byte as
// recorded, so its SHA-256 is the manifest's delta.sha256. A longer range
// is compacted — the last change per entry wins, in key order — except
// from=0 to the latest version (when that is more than one step), which is
// the whole list as adds read straight from the members, in the snapshot's
// (set-root) order: sorting 10 million members by key would cost memory
// the stream does not need. docs/release-format.md says the same.
func (s *Service) WriteDelta(w io.Writer, name string, from, to uint64, format DeltaFormat) error {
	return s.db.View(func(tx *store.Tx) error {
		ls, err := s.listState(tx, name)
		if err != nil {
			return err
		}
		out := newLineWriter(w, format)
		drop := pageDropper{tx: tx}
		switch {
		case to == from:
		case to == from+1:
			err = ls.DeltaChunks(to, func(chunk []byte) error {
				drop.tick(len(chunk))
				return out.raw(chunk)
			})
		case from == 0 && to == ls.Counter(cVersion):
			ls.Members(func(line []byte) bool {
				drop.tick(len(line))
				it, perr := release.ParseItem(line)
				if perr != nil {
					err = perr
					return false
				}
				err = out.change(release.Change{Op: release.OpAdd, Item: it})
				return err == nil
			})
		default:
			err = compact(ls, from, to, out)
		}
		if err != nil {
			return err
		}
		return out.flush()
	})
}

// compact merges the single-step deltas from+1..to.
func compact(ls *store.ListState, from, to uint64, out *lineWriter) error {
	type state struct {
		existed bool // in the list at version from
		present bool // in the list at version to
		item    release.Item
	}
	m := map[string]*state{}
	for v := from + 1; v <= to; v++ {
		var rest []byte
		err := ls.DeltaChunks(v, func(chunk []byte) error {
			rest = append(rest, chunk...)
			for {
				i := bytes.IndexByte(rest, '\n')
				if i < 0 {
					return nil
				}
				c, err := release.ParseChange(rest[:i])
				if err != nil {
					return fmt.Errorf("stored delta %d: %w", v, err)
				}
				rest = rest[i+1:]
				st := m[c.Key()]
				if st == nil {
					st = &state{existed: c.Op != release.OpAdd}
					m[c.Key()] = st
				}
				st.present = c.Op != release.OpRemove
				st.item = c.Item
			}
		})
		if err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		st := m[k]
		var op string
		switch {
		case st.existed && st.present:
			op = release.OpUpdate
		case st.existed:
			op = release.OpRemove
			st.item = release.Item{Algo: st.item.Algo, Value: st.item.Value}
		case st.present:
			op = release.OpAdd
		default:
			continue
		}
		if err := out.change(release.Change{Op: op, Item: st.item}); err != nil {
			return err
		}
	}
	return nil
}

// WriteSnapshot writes a list's entries at the latest version, one
// canonical line each (the lines the set root covers). Older versions are
// not kept whole: they answer ErrVersionGone. start, if set, is called
// with the version being written before the first byte, in the same read
// transaction, so a caller's headers always describe the body.
func (s *Service) WriteSnapshot(w io.Writer, name string, version uint64, format DeltaFormat, start func(version uint64)) error {
	return s.db.View(func(tx *store.Tx) error {
		ls, err := s.listState(tx, name)
		if err != nil {
			return err
		}
		latest := ls.Counter(cVersion)
		switch {
		case version > latest:
			return fmt.Errorf("%w: version %d (latest %d)", ErrVersionTooNew, version, latest)
		case version != 0 && version != latest:
			return fmt.Errorf("%w: only the latest snapshot (version %d) is kept", ErrVersionGone, latest)
		}
		if start != nil {
			start(latest)
		}
		out := newLineWriter(w, format)
		if format == CSV {
			out.header = "algo,value,quality,severity\n"
		}
		drop := pageDropper{tx: tx}
		ls.Members(func(line []byte) bool {
			drop.tick(len(line))
			if format == NDJSON {
				// line belongs to bbolt's read-only map: never append to it.
				out.start()
				out.w.Write(line)
				err = out.w.WriteByte('\n')
			} else {
				it, perr := release.ParseItem(line)
				if perr != nil {
					err = perr
					return false
				}
				err = out.item(it)
			}
			return err == nil
		})
		if err != nil {
			return err
		}
		return out.flush()
	})
}

// dropEvery is how many bytes of stored values a long read goes through
// between two pageDropper calls of DropMappedPages.
const dropEvery = 32 << 20

// pageDropper lets go of the store's mapped pages as a long read goes:
// every page a snapshot or a whole-list delta reads through bbolt's map
// would otherwise stay in the node's resident set after the answer, the
// whole file for a list of ten million (docs/PERFORMANCE.md). A failure
// costs memory, never bytes, so it is not an error of the read.
type pageDropper struct {
	tx   *store.Tx
	read int
}

func (d *pageDropper) tick(n int) {
	if d.read += n; d.read >= dropEvery {
		d.read = 0
		_ = d.tx.DropMappedPages()
	}
}

// lineWriter writes delta or snapshot lines as NDJSON or CSV.
type lineWriter struct {
	w      *bufio.Writer
	format DeltaFormat
	header string
	wrote  bool
}

func newLineWriter(w io.Writer, f DeltaFormat) *lineWriter {
	lw := &lineWriter{w: bufio.NewWriterSize(w, 64<<10), format: f}
	if f == CSV {
		lw.header = CSVHeader
	}
	return lw
}

func (lw *lineWriter) start() {
	if !lw.wrote && lw.header != "" {
		lw.w.WriteString(lw.header)
	}
	lw.wrote = true
}

// raw writes recorded NDJSON bytes (converted to CSV if asked).
func (lw *lineWriter) raw(b []byte) error {
	if lw.format == NDJSON {
		_, err := lw.w.Write(b)
		return err
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b)
		}
		c, err := release.ParseChange(b[:i])
		if err != nil {
			return err
		}
		if err := lw.change(c); err != nil {
			return err
		}
		b = b[min(i+1, len(b)):]
	}
	return nil
}

func (lw *lineWriter) change(c release.Change) error {
	lw.start()
	if lw.format == NDJSON {
		lw.w.Write(c.Line())
		return lw.w.WriteByte('\n')
	}
	lw.w.WriteString(c.Op + ",")
	return lw.csvItem(c.Item)
}

func (lw *lineWriter) item(it release.Item) error {
	lw.start()
	return lw.csvItem(it)
}

// csvItem writes algo,value,quality,severity. No field can hold a comma
// or quote (hash values are hex or base64; severity is A–C).
func (lw *lineWriter) csvItem(it release.Item) error {
	q := ""
	if it.Quality != nil {
		q = strconv.Itoa(*it.Quality)
	}
	_, err := lw.w.WriteString(strings.Join([]string{it.Algo, it.Value, q, it.Severity}, ",") + "\n")
	return err
}

func (lw *lineWriter) flush() error {
	lw.start()
	return lw.w.Flush()
}

// EntryProof shows that one entry is in a list's latest version: its
// snapshot line, the bucket's leaf hashes and the bucket's audit path to
// the manifest's set root (setroot.VerifyProof checks it).
type EntryProof struct {
	List    string   `json:"list"`
	Version uint64   `json:"version"`
	SetRoot string   `json:"set_root"`
	Key     string   `json:"key"`
	Line    string   `json:"line"`
	Bucket  uint16   `json:"bucket"`
	Leaves  []string `json:"leaves"`
	Path    []string `json:"path"`
}

// ErrNotInList is returned when the entry is not in the list's latest version.
var ErrNotInList = errors.New("entry not in the list")

// ProveEntry builds the proof that the entry with key is in the list.
func (s *Service) ProveEntry(name, key string) (*EntryProof, error) {
	var p *EntryProof
	err := s.db.View(func(tx *store.Tx) error {
		ls, err := s.listState(tx, name)
		if err != nil {
			return err
		}
		e, err := tx.Entry(key)
		if err != nil {
			return fmt.Errorf("%w: %q", ErrNotInList, key)
		}
		ekey := e.Key()
		b := setroot.Bucket(ekey)
		var line string
		var leaves []string
		ls.BucketMembers(b, func(leaf, l []byte) bool {
			leaves = append(leaves, hex.EncodeToString(leaf))
			if k, ok := release.LineKey(l); ok && k == ekey {
				line = string(l)
			}
			return true
		})
		if line == "" {
			return fmt.Errorf("%w: %q", ErrNotInList, key)
		}
		tree := setroot.NewTree()
		if err := tree.UnmarshalBinary(ls.Blob(blobTree)); err != nil {
			return err
		}
		root := tree.Root()
		p = &EntryProof{List: name, Version: ls.Counter(cVersion), SetRoot: hex.EncodeToString(root[:]), Key: key,
			Line: line, Bucket: b, Leaves: leaves}
		for _, h := range tree.Path(b) {
			p.Path = append(p.Path, hex.EncodeToString(h[:]))
		}
		return nil
	})
	return p, err
}
