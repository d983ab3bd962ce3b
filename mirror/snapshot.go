package mirror

import (
	"bytes"
	"fmt"
	"io"

	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
)

// A snapshot is verified while it downloads, before any of it is kept in
// memory or written to the mirror: the node writes its members in
// set-root order (bucket, then leaf hash, both ascending), so each bucket's
// digest is complete when the next bucket starts, and the whole check —
// line syntax, order (which also refuses a line given twice), one line per
// key, the entry count and finally the set root — holds one bucket's
// leaves at a time. A body longer than the manifest's entries can be, or
// than the mirror's cap, is refused as soon as it passes the bound, and
// one line more than the manifest's count is refused at that line. Only a
// snapshot that matches the signed manifest is then read again from the
// spool and written in one transaction.

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

// counter counts the bytes read through it.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
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

func (c *snapshotCheck) line(it release.Item, line []byte) error {
	c.count++
	if c.count > c.want {
		return fmt.Errorf("%w: the snapshot has more than the manifest's %d entries", ErrSetRoot, c.want)
	}
	key := it.Key()
	b, _ := keyBucket(key)
	leaf := setroot.LeafHash(line)
	switch {
	case int(b) < c.bucket:
		return fmt.Errorf("%w: not in set-root order", ErrBadLine)
	case int(b) > c.bucket:
		c.endBucket()
		c.bucket = int(b)
	case bytes.Compare(leaf[:], c.leaves[len(c.leaves)-1][:]) <= 0:
		return fmt.Errorf("%w: not in set-root order, or the line is there twice", ErrBadLine)
	}
	if _, ok := c.keys[key]; ok {
		return fmt.Errorf("%w: the entry is in the snapshot twice", ErrBadLine)
	}
	c.keys[key] = struct{}{}
	c.leaves = append(c.leaves, leaf)
	return nil
}

func (c *snapshotCheck) endBucket() {
	if c.bucket >= 0 {
		c.tree.SetBucket(uint16(c.bucket), setroot.BucketDigest(c.leaves))
	}
	c.leaves = c.leaves[:0]
	clear(c.keys)
}

// spoolSnapshot downloads and verifies the snapshot of manifest man (see
// above), and returns it spooled with its set-root tree.
func (m *Mirror) spoolSnapshot(body io.Reader, man *release.Manifest) (*spool, *setroot.Tree, error) {
	limit, capped := m.snapshotLimit(man.Entries)
	too := func() error {
		if capped {
			return fmt.Errorf("%w: the snapshot is longer than the mirror's cap of %d bytes (the manifest says %d entries)", ErrTooLarge, limit, man.Entries)
		}
		return fmt.Errorf("%w: the snapshot is longer than the %d bytes its manifest's %d entries can be", ErrTooLarge, limit, man.Entries)
	}
	cr := &counter{r: io.LimitReader(body, limit+1)}
	sp := newSpool()
	chk := newSnapshotCheck(man.Entries)
	var lineErr error // a line's own fault, as opposed to a cut body
	err := parseSnapshot(cr, func(it release.Item, line []byte) error {
		if lineErr = chk.line(it, line); lineErr != nil {
			return lineErr
		}
		return sp.writeLine(line)
	})
	if cr.n > limit && lineErr == nil {
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
	if err != nil {
		sp.Close()
		return nil, nil, err
	}
	return sp, chk.tree, nil
}
