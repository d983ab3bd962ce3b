package mirror

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
)

// Delta and snapshot bytes are untrusted until checked, and may be large
// (a first release, a snapshot of millions of entries). They are read to a
// spool first — memory for small ones, an unlinked temporary file beyond
// memSpool — so that a delta's digest is checked before any line is parsed
// (a snapshot, which has no digest, is checked line by line on its way in:
// snapshot.go), and no network read ever happens inside a bbolt write
// transaction.

// memSpool is the largest download kept in memory.
const memSpool = 8 << 20

// spool is a downloaded body with its length and SHA-256.
type spool struct {
	mem  bytes.Buffer
	file *os.File
	// w buffers the writes to file: a snapshot is spooled a line and a
	// newline at a time, two system calls each without it.
	w *bufio.Writer
	n int64
	h hash.Hash
}

// download reads r to a spool, at most limit+1 bytes: a caller that sees
// n > limit knows the body was longer than allowed without reading it all.
func download(r io.Reader, limit int64) (*spool, error) {
	s := newSpool()
	n, err := io.Copy(io.MultiWriter(s.h, s), io.LimitReader(r, limit+1))
	s.n = n
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func newSpool() *spool { return &spool{h: sha256.New()} }

// writeLine appends line and a newline, hashing them.
func (s *spool) writeLine(line []byte) error {
	for _, p := range [][]byte{line, {'\n'}} {
		s.h.Write(p)
		if _, err := s.Write(p); err != nil {
			return err
		}
		s.n += int64(len(p))
	}
	return nil
}

func (s *spool) Write(p []byte) (int, error) {
	if s.file == nil && s.mem.Len()+len(p) <= memSpool {
		return s.mem.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "hashhub-mirror-*")
		if err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
		// Unlinked at once: the data is reachable only through f, and
		// nothing is left behind whatever happens to the process.
		os.Remove(f.Name())
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			f.Close()
			return 0, fmt.Errorf("spool: %w", err)
		}
		s.file, s.w, s.mem = f, bufio.NewWriterSize(f, 1<<20), bytes.Buffer{}
	}
	return s.w.Write(p)
}

// sum is the spooled bytes' SHA-256, hex.
func (s *spool) sum() string { return fmt.Sprintf("%x", s.h.Sum(nil)) }

// reader reads the spooled bytes from the start.
func (s *spool) reader() (io.Reader, error) {
	if s.file == nil {
		return bytes.NewReader(s.mem.Bytes()), nil
	}
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return s.file, nil
}

func (s *spool) Close() {
	if s.file != nil {
		s.file.Close()
	}
}

// readLines calls fn with each line of r, without its newline. Every line
// must end in '\n' (so a body cut at a line boundary is still noticed) and
// be at most release.MaxLine bytes. The slice passed to fn is reused.
func readLines(r io.Reader, fn func(n int, line []byte) error) error {
	br := bufio.NewReaderSize(r, release.MaxLine+1)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return fmt.Errorf("%w: line %d is longer than %d bytes", ErrBadLine, n, release.MaxLine)
		case err == io.EOF && len(line) == 0:
			return nil
		case err == io.EOF:
			return fmt.Errorf("%w: line %d does not end in a newline", ErrBadLine, n)
		case err != nil:
			return err
		}
		if err := fn(n, line[:len(line)-1]); err != nil {
			return err
		}
	}
}

// parseDelta reads delta lines strictly: each a canonical change line
// (release.ParseChange), in strictly increasing key order, which is how a
// node writes them and what makes "one change per entry" checkable
// without remembering every key.
func parseDelta(r io.Reader, fn func(release.Change) error) error {
	prev := ""
	return readLines(r, func(n int, line []byte) error {
		c, err := release.ParseChange(line)
		if err != nil {
			return fmt.Errorf("%w: line %d: %s", ErrBadLine, n, detail(err, release.ErrBadLine))
		}
		key := c.Key()
		if n > 1 && release.CompareKeys(prev, key) >= 0 {
			return fmt.Errorf("%w: line %d: not in strictly increasing key order", ErrBadLine, n)
		}
		prev = key
		return fn(c)
	})
}

// snapLine is one snapshot line, parsed and hashed: what checking it in
// order and staging it need.
type snapLine struct {
	line []byte // without its newline
	it   release.Item
	key  string
	b    uint16 // the key's set-root bucket and fingerprint (keyBucket)
	fp   uint64
	leaf setroot.Hash
}

// snapChunk is a run of lines parsed ahead of the caller.
type snapChunk struct {
	buf   []byte // the lines, back to back
	lines []snapLine
	first int   // the number of the first line
	err   error // what ended the reading after these lines, if it ended
}

// chunkLines is how many lines the reading goroutine hands over at a time.
const chunkLines = 256

func (c *snapChunk) reset(first int) {
	c.buf, c.lines, c.first, c.err = c.buf[:0], c.lines[:0], first, nil
}

func (c *snapChunk) add(it release.Item, line []byte) {
	start := len(c.buf)
	c.buf = append(c.buf, line...)
	key := it.Key()
	b, fp := keyBucket(key)
	c.lines = append(c.lines, snapLine{line: c.buf[start:len(c.buf):len(c.buf)], it: it, key: key, b: b, fp: fp, leaf: setroot.LeafHash(line)})
}

// errStopped ends the reading goroutine when the caller has stopped.
var errStopped = errors.New("stopped")

// parseSnapshot reads snapshot lines strictly: each a canonical item line
// (release.ParseItem), passed to fn parsed and hashed (l is reused after
// fn returns). A snapshot is in set-root order, not key order, so order
// and duplicates are the caller's to check (snapshotCheck).
//
// The reading, parsing and hashing — the work a line needs without
// looking at any other — run on a goroutine of their own, a few chunks of
// lines ahead of fn, so that they take the second core while fn checks
// and stages. After an error it is not waited for: it stops at its next
// chunk, or when the caller closes r's body.
func parseSnapshot(r io.Reader, fn func(l *snapLine) error) error {
	chunks := make(chan *snapChunk, 2)
	free := make(chan *snapChunk, 4)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(chunks)
		ch := &snapChunk{first: 1}
		send := func() bool {
			select {
			case chunks <- ch:
				return true
			case <-stop:
				return false
			}
		}
		ch.err = readLines(r, func(n int, line []byte) error {
			it, err := release.ParseItem(line)
			if err != nil {
				return fmt.Errorf("%w: line %d: %s", ErrBadLine, n, detail(err, release.ErrBadLine))
			}
			ch.add(it, line)
			if len(ch.lines) < chunkLines {
				return nil
			}
			if !send() {
				return errStopped
			}
			select {
			case ch = <-free:
				ch.reset(n + 1)
			default:
				ch = &snapChunk{first: n + 1}
			}
			return nil
		})
		if ch.err != errStopped {
			send()
		}
	}()
	for ch := range chunks {
		for i := range ch.lines {
			if err := fn(&ch.lines[i]); err != nil {
				return fmt.Errorf("line %d: %w", ch.first+i, err)
			}
		}
		if ch.err != nil {
			return ch.err
		}
		select {
		case free <- ch:
		default:
		}
	}
	return nil
}
