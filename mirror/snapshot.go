package mirror

import (
	"bytes"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
)

// A snapshot is verified while it downloads, never held in memory whole:
// the node writes its members in set-root order (bucket, then leaf hash,
// both ascending), so each bucket's digest is complete when the next
// bucket starts, and the whole check —
// line syntax, order (which also refuses a line given twice), one line per
// key, the entry count and finally the set root — holds one bucket's
// leaves at a time. A body longer than the manifest's entries can be, or
// than the mirror's cap, is refused as soon as it passes the bound, and
// one line more than the manifest's count is refused at that line. The
// checked lines are staged meanwhile (stage.go), and only a snapshot that
// matches the signed manifest is swapped in.

// DefaultMaxBytes is the largest delta or snapshot a mirror downloads,
// whatever its signed manifest says: a bound on the disk a hostile node
// (or one with a stolen key) can make a client spool. A snapshot is also
// bounded by its manifest's entry count (see release.MaxItemLine).
const DefaultMaxBytes = 4 << 30

func (m *Mirror) maxBytes() int64 {
	if m.MaxBytes > 0 {
		return m.MaxBytes
	}
	return DefaultMaxBytes
}

// snapshotLimit is the most bytes a snapshot of entries entries can have
// (each line at most release.MaxItemLine plus its newline), and whether
// that bound or the mirror's cap is the tighter.
func (m *Mirror) snapshotLimit(entries uint64) (limit int64, capped bool) {
	per := uint64(release.MaxItemLine() + 1)
	cap := m.maxBytes()
	if entries > uint64(cap)/per {
		return cap, true
	}
	return int64(entries * per), false
}

// counter counts the bytes read through it (by parseSnapshot's
// goroutine, while the caller may look).
type counter struct {
	r io.Reader
	n atomic.Int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// snapshotCheck recomputes a snapshot's set root line by line.
type snapshotCheck struct {
	want   uint64 // the manifest's entry count
	count  uint64
	tree   *setroot.Tree
	bucket int // the bucket being read; -1 before the first line
	leaves []setroot.Hash
	keys   map[string]struct{}
}

func newSnapshotCheck(entries uint64) *snapshotCheck {
	return &snapshotCheck{want: entries, tree: setroot.NewTree(), bucket: -1, keys: map[string]struct{}{}}
}

// line checks the next line in order.
func (c *snapshotCheck) line(l *snapLine) error {
	c.count++
	if c.count > c.want {
		return fmt.Errorf("%w: the snapshot has more than the manifest's %d entries", ErrSetRoot, c.want)
	}
	switch {
	case int(l.b) < c.bucket:
		return fmt.Errorf("%w: not in set-root order", ErrBadLine)
	case int(l.b) > c.bucket:
		c.endBucket()
		c.bucket = int(l.b)
	case bytes.Compare(l.leaf[:], c.leaves[len(c.leaves)-1][:]) <= 0:
		return fmt.Errorf("%w: not in set-root order, or the line is there twice", ErrBadLine)
	}
	if _, ok := c.keys[l.key]; ok {
		return fmt.Errorf("%w: the entry is in the snapshot twice", ErrBadLine)
	}
	c.keys[l.key] = struct{}{}
	c.leaves = append(c.leaves, l.leaf)
	return nil
}

func (c *snapshotCheck) endBucket() {
	if c.bucket >= 0 {
		c.tree.SetBucket(uint16(c.bucket), setroot.BucketDigest(c.leaves))
	}
	c.leaves = c.leaves[:0]
	clear(c.keys)
}

// loadSnapshot downloads and verifies the snapshot of manifest man (see
// above), staging it as it goes (stage.go): digest is the manifest's
// SHA-256, the stage's name. It returns the verified set-root tree, and
// the snapshot spooled when the mirror has an Importer to give it to (nil
// otherwise). On an error the stage keeps what was written for a resume,
// unless the snapshot was refused: then it is dropped.
func (m *Mirror) loadSnapshot(body io.Reader, man *release.Manifest, digest string, progress func(string)) (*spool, *setroot.Tree, error) {
	limit, capped := m.snapshotLimit(man.Entries)
	too := func() error {
		if capped {
			return fmt.Errorf("%w: the snapshot is longer than the mirror's cap of %d bytes (the manifest says %d entries)", ErrTooLarge, limit, man.Entries)
		}
		return fmt.Errorf("%w: the snapshot is longer than the %d bytes its manifest's %d entries can be", ErrTooLarge, limit, man.Entries)
	}
	done, err := m.stagedLines(digest, man.Entries)
	if err != nil {
		return nil, nil, err
	}
	if done > 0 {
		progress(fmt.Sprintf("version %d: resuming the snapshot load at line %d of %d", man.Version, done, man.Entries))
	}
	var sp *spool
	if m.Importer != nil {
		sp = newSpool()
	}
	cr := &counter{r: io.LimitReader(body, limit+1)}
	chk := newSnapshotCheck(man.Entries)
	stg := m.startStager(digest, done, man.Entries, man.Version, progress)
	var lineErr error // a line's own fault, as opposed to a cut body
	err = parseSnapshot(cr, func(l *snapLine) error {
		if lineErr = chk.line(l); lineErr != nil {
			return lineErr
		}
		if sp != nil {
			if err := sp.writeLine(l.line); err != nil {
				return err
			}
		}
		if chk.count <= done {
			return nil // staged by the pull this one resumes
		}
		return stg.add(l.b, l.fp, &l.leaf, l.line)
	})
	if cr.n.Load() > limit && lineErr == nil {
		err = too()
	}
	if err == nil {
		chk.endBucket()
		want, _ := setroot.ParseRoot(man.SetRoot) // checked in check
		if got := chk.tree.Root(); got != want || chk.count != man.Entries {
			err = fmt.Errorf("%w: the snapshot has set root %s and %d entries; the manifest says %s and %d",
				ErrSetRoot, hexRoot(got), chk.count, man.SetRoot, man.Entries)
		}
	}
	if err == nil {
		err = stg.finish()
	} else if serr := stg.stop(isRefusal(err) && (stg.wrote || done > 0)); serr != nil {
		err = fmt.Errorf("%w (and dropping the stage: %v)", err, serr)
	}
	if err != nil {
		if sp != nil {
			sp.Close()
		}
		return nil, nil, err
	}
	return sp, chk.tree, nil
}
