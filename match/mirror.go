package match

import (
	"bufio"
	"fmt"
	"io"
	"runtime"

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
	if err := ix.loadSnapshot(st.List, st.Version, pr, st.Entries); err != nil {
		return nil, fmt.Errorf("mirror %s: %w", dir, err)
	}
	return st, nil
}

// LoadSnapshot adds the canonical snapshot lines read from r (one item
// per line, as a node's GET …/snapshot or a mirror's export) as list's
// entries at version, then rebuilds the PDQ tables once.
//
// Parsing and checking the lines is most of a load's work, and it needs
// no lock, so it runs on every core the process may use (GOMAXPROCS):
// one goroutine reads batches of lines, workers parse them, and this
// goroutine adds the batches in their order under the write lock, one
// batch at a time, so lookups keep being answered during a long load.
func (ix *Index) LoadSnapshot(list string, version uint64, r io.Reader) error {
	return ix.loadSnapshot(list, version, r, 0)
}

// loadSnapshot is LoadSnapshot with room made first for sizeHint more
// PDQ entries (a mirror's entry count: at most that many are PDQ), so the
// arrays do not grow by copying while 10M lines are added.
func (ix *Index) loadSnapshot(list string, version uint64, r io.Reader, sizeHint uint64) error {
	ix.mu.Lock()
	id, err := ix.list(list)
	ix.bulk, ix.pdq.bulk = true, true
	ix.pdq.reserve(int(min(sizeHint, 1<<30)))
	ix.mu.Unlock()
	defer func() {
		ix.rebuildMu.Lock() // no rebuild under way while compact replaces the slots
		ix.mu.Lock()
		ix.bulk, ix.pdq.bulk = false, false
		ix.pdq.compact()
		ix.mu.Unlock()
		ix.rebuildMu.Unlock()
	}()
	if err != nil {
		return err
	}

	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *loadBatch, 2*workers)
	order := make(chan *loadBatch, 2*workers)
	done := make(chan struct{})
	defer close(done)
	go readBatches(r, jobs, order, done)
	for range workers {
		go func() {
			for b := range jobs {
				b.parse(version)
				close(b.ready)
			}
		}()
	}
	for b := range order {
		<-b.ready
		if b.err != nil {
			return b.err
		}
		ix.mu.Lock()
		for i := range b.entries {
			ix.insert(id, &b.entries[i])
		}
		ix.mu.Unlock()
	}
	return nil
}

// loadBatch is a run of snapshot lines: read, then parsed by a worker,
// then added; ready is closed once it is parsed.
type loadBatch struct {
	first   int // line number of the first line
	text    []byte
	ends    []int
	entries []prepared
	err     error
	ready   chan struct{}
}

const loadBatchLines = 4096

// readBatches reads r into batches, handing each to the workers (jobs)
// and, in order, to the adder (order); it stops early when done closes.
// A read error travels as a batch whose err is set.
func readBatches(r io.Reader, jobs, order chan<- *loadBatch, done <-chan struct{}) {
	defer close(jobs)
	defer close(order)
	br := bufio.NewReaderSize(r, release.MaxLine+1)
	send := func(b *loadBatch) bool {
		select {
		case order <- b:
		case <-done:
			return false
		}
		select {
		case jobs <- b:
			return true
		case <-done:
			return false
		}
	}
	n := 1
	for {
		b := &loadBatch{first: n, ready: make(chan struct{})}
		for len(b.ends) < loadBatchLines {
			line, err := br.ReadSlice('\n')
			if err == io.EOF && len(line) == 0 {
				break
			}
			if err != nil {
				b.err = fmt.Errorf("%w: line %d: %w", ErrBadEntry, n, err)
				break
			}
			b.text = append(b.text, line[:len(line)-1]...)
			b.ends = append(b.ends, len(b.text))
			n++
		}
		// Decided before the send: once sent, b is the worker's.
		last := b.err != nil || len(b.ends) < loadBatchLines
		if !send(b) || last {
			return
		}
	}
}

// parse checks each line of b and prepares its entry; it stops at the
// first bad line.
func (b *loadBatch) parse(version uint64) {
	if b.err != nil {
		return
	}
	b.entries = make([]prepared, 0, len(b.ends))
	start := 0
	for i, end := range b.ends {
		it, err := release.ParseItem(b.text[start:end])
		if err == nil {
			var pe prepared
			if pe, err = prepareItem(&it, version); err == nil {
				b.entries = append(b.entries, pe)
			}
		}
		if err != nil {
			b.err = fmt.Errorf("%w: line %d: %w", ErrBadEntry, b.first+i, err)
			return
		}
		start = end
	}
	b.text, b.ends = nil, nil
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
