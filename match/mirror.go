package match

import (
	"bufio"
	"fmt"
	"io"

	"github.com/hashhub/hashhub/mirror"
	"github.com/hashhub/hashhub/release"
)

// LoadMirror adds the entries of the mirror in dir, at the version it
// holds, to the index (replacing any entries of the same list), and
// returns the mirror's state. It reads the mirror's NDJSON export — the
// canonical snapshot lines, release.ParseItem — through a read-only open,
// so it can run beside a process that holds no write lock.
func (ix *Index) LoadMirror(dir, category string) (*mirror.State, error) {
	m, err := mirror.OpenReadOnly(dir)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	st, err := m.State()
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(m.Export(pw, mirror.ExportNDJSON)) }()
	defer pr.Close()

	ix.RemoveList(st.List)
	if err := ix.SetList(ListInfo{Name: st.List, Category: category}); err != nil {
		return nil, err
	}
	if err := ix.LoadSnapshot(st.List, st.Version, pr); err != nil {
		return nil, fmt.Errorf("mirror %s: %w", dir, err)
	}
	return st, nil
}

// LoadSnapshot adds the canonical snapshot lines read from r (one item
// per line, as a node's GET …/snapshot or a mirror's export) as list's
// entries at version. Lines are added under the write lock in batches,
// so lookups keep being answered during a long load.
func (ix *Index) LoadSnapshot(list string, version uint64, r io.Reader) error {
	br := bufio.NewReaderSize(r, release.MaxLine+1)
	const batch = 4096
	ix.mu.Lock()
	ix.bulk, ix.pdq.bulk = true, true
	ix.mu.Unlock()
	defer func() {
		ix.mu.Lock()
		ix.bulk, ix.pdq.bulk = false, false
		ix.pdq.compact()
		ix.mu.Unlock()
	}()
	items := make([]release.Item, 0, batch)
	flush := func() error {
		ix.mu.Lock()
		defer ix.mu.Unlock()
		for i := range items {
			if err := ix.add(itemEntry(list, version, &items[i])); err != nil {
				return err
			}
		}
		items = items[:0]
		return nil
	}
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: line %d: %w", ErrBadEntry, n, err)
		}
		it, err := release.ParseItem(line[:len(line)-1])
		if err != nil {
			return fmt.Errorf("%w: line %d: %w", ErrBadEntry, n, err)
		}
		if items = append(items, it); len(items) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// Importer returns a function for mirror.Mirror.Importer that keeps the
// index in step with the mirror as it pulls: a delta's adds, updates and
// removes are applied in place; a snapshot step replaces the list's
// entries. The index changes before the mirror commits the step, so if
// the commit then fails the caller must rebuild (LoadMirror).
func (ix *Index) Importer(category string) func(*mirror.AppliedStep) error {
	return func(s *mirror.AppliedStep) error {
		if err := ix.SetList(ListInfo{Name: s.List, Category: category}); err != nil {
			return err
		}
		// One lock for the whole step: a reader never sees a list half
		// replaced by a snapshot.
		ix.mu.Lock()
		defer ix.mu.Unlock()
		if s.Snapshot {
			ix.removeList(s.List)
		}
		i := 0
		return s.Range(func(c release.Change) error {
			i++
			if err := ix.applyOne(s.List, s.Version, &c); err != nil {
				return fmt.Errorf("change %d (%s): %w", i, c.Key(), err)
			}
			return nil
		})
	}
}
