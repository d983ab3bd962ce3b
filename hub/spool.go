package hub

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/hashhub/hashhub/entries"
)

// spool is the external sort behind Import: valid lines collect in memory
// up to runSize, each full run is sorted and written to a temporary file,
// and merge streams all runs back in index-key order. An import that fits
// in one run never touches the disk.
//
// Run files are unlinked as soon as they are created, so a crash leaves
// nothing behind; they live in the node's data directory, on the same
// disk as the store.
type spool struct {
	dir     string
	runSize int
	mem     []importItem
	runs    []*os.File
	buf     []byte
}

func newSpool(dir string, runSize int) *spool {
	return &spool{dir: dir, runSize: runSize, mem: make([]importItem, 0, min(runSize, 4096))}
}

func (sp *spool) add(it importItem) error {
	sp.mem = append(sp.mem, it)
	if len(sp.mem) >= sp.runSize {
		return sp.spill()
	}
	return nil
}

func (sp *spool) sortMem() {
	slices.SortFunc(sp.mem, func(x, y importItem) int { return compareItems(&x, &y) })
}

// spill writes the in-memory run to a temporary file.
func (sp *spool) spill() error {
	sp.sortMem()
	f, err := os.CreateTemp(sp.dir, "import-*.run")
	if err != nil {
		return err
	}
	sp.runs = append(sp.runs, f)
	if err := os.Remove(f.Name()); err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<18)
	for i := range sp.mem {
		sp.buf = encodeItem(sp.buf[:0], &sp.mem[i])
		if _, err := w.Write(sp.buf); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	clear(sp.mem) // drop references to the strings
	sp.mem = sp.mem[:0]
	return nil
}

// finish ends the input: the last run is sorted, and spilled too when
// there are runs on disk to merge it with.
func (sp *spool) finish() error {
	if len(sp.runs) > 0 && len(sp.mem) > 0 {
		return sp.spill()
	}
	sp.sortMem()
	return nil
}

func (sp *spool) close() {
	for _, f := range sp.runs {
		f.Close()
	}
}

// merge sends the items of every run in index-key order, in batches of
// batchSize, until done or stop is closed.
func (sp *spool) merge(batchSize int, out chan<- []importItem, stop <-chan struct{}) error {
	send := func(b []importItem) bool {
		select {
		case out <- b:
			return true
		case <-stop:
			return false
		}
	}
	if len(sp.runs) == 0 {
		for off := 0; off < len(sp.mem); off += batchSize {
			if !send(sp.mem[off:min(off+batchSize, len(sp.mem))]) {
				return nil
			}
		}
		return nil
	}
	h := &runHeap{}
	for _, f := range sp.runs {
		r := &runReader{r: bufio.NewReaderSize(f, 1<<16)}
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			h.rs = append(h.rs, r)
		}
	}
	heap.Init(h)
	batch := make([]importItem, 0, batchSize)
	for h.Len() > 0 {
		r := h.rs[0]
		batch = append(batch, r.head)
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
		if len(batch) == batchSize {
			if !send(batch) {
				return nil
			}
			batch = make([]importItem, 0, batchSize)
		}
	}
	if len(batch) > 0 {
		send(batch)
	}
	return nil
}

type runReader struct {
	r    *bufio.Reader
	head importItem
}

func (rr *runReader) next() (bool, error) {
	it, err := decodeItem(rr.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	rr.head = it
	return true, nil
}

type runHeap struct{ rs []*runReader }

func (h *runHeap) Len() int           { return len(h.rs) }
func (h *runHeap) Less(i, j int) bool { return compareItems(&h.rs[i].head, &h.rs[j].head) < 0 }
func (h *runHeap) Swap(i, j int)      { h.rs[i], h.rs[j] = h.rs[j], h.rs[i] }
func (h *runHeap) Push(x any)         { h.rs = append(h.rs, x.(*runReader)) }
func (h *runHeap) Pop() any {
	x := h.rs[len(h.rs)-1]
	h.rs = h.rs[:len(h.rs)-1]
	return x
}

// encodeItem appends the run-file form of an item: a length prefix, then
// the fields. The format lives only as long as one import.
func encodeItem(dst []byte, it *importItem) []byte {
	body := make([]byte, 0, 128)
	body = append(body, it.ik[:]...)
	body = binary.AppendUvarint(body, uint64(it.line))
	body = appendStr(body, it.hash.Algo)
	body = appendStr(body, it.hash.Value)
	q := int64(-1)
	if it.hash.Quality != nil {
		q = int64(*it.hash.Quality)
	}
	body = binary.AppendVarint(body, q)
	body = appendStr(body, string(it.in.Verdict))
	body = appendStr(body, string(it.in.Category))
	body = binary.AppendUvarint(body, uint64(len(it.in.Jurisdictions)))
	for _, j := range it.in.Jurisdictions {
		body = appendStr(body, j)
	}
	body = appendStr(body, string(it.in.Severity))
	body = appendStr(body, it.in.Note)
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	return append(dst, body...)
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

var errBadRun = errors.New("corrupt import run file")

func decodeItem(r *bufio.Reader) (importItem, error) {
	var it importItem
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return it, err // io.EOF at a clean end
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return it, fmt.Errorf("%w: %w", errBadRun, err)
	}
	d := body
	bad := false
	uv := func() uint64 {
		v, k := binary.Uvarint(d)
		if k <= 0 {
			bad = true
			return 0
		}
		d = d[k:]
		return v
	}
	str := func() string {
		l := uv()
		if bad || l > uint64(len(d)) {
			bad = true
			return ""
		}
		s := string(d[:l])
		d = d[l:]
		return s
	}
	if len(d) < len(it.ik) {
		return it, errBadRun
	}
	copy(it.ik[:], d)
	d = d[len(it.ik):]
	it.line = int(uv())
	it.hash.Algo = str()
	it.hash.Value = str()
	q, k := binary.Varint(d)
	if k <= 0 {
		return it, errBadRun
	}
	d = d[k:]
	if q >= 0 {
		qi := int(q)
		it.hash.Quality = &qi
	}
	it.in.Verdict = entries.Verdict(str())
	it.in.Category = entries.Category(str())
	if nj := uv(); nj > 0 && nj <= uint64(len(d)) {
		it.in.Jurisdictions = make([]string, nj)
		for i := range it.in.Jurisdictions {
			it.in.Jurisdictions[i] = str()
		}
	}
	it.in.Severity = entries.Severity(str())
	it.in.Note = str()
	if bad || len(d) != 0 {
		return it, errBadRun
	}
	return it, nil
}
