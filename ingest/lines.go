package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// bom is the UTF-8 encoding of U+FEFF, which some tools (notably
// spreadsheet exports) put at the start of a text file.
var bom = []byte("\xef\xbb\xbf")

// lineReader reads physical lines of at most max bytes, the one piece of
// line discipline that both formats share. It hands out slices of its
// bufio.Reader's buffer, so reading a line does not allocate; a slice is
// valid only until the next call.
type lineReader struct {
	br    *bufio.Reader
	max   int
	n     int  // physical number of the line most recently returned
	skip  bool // the line most recently returned was cut short: discard its rest first
	first bool // no line returned yet (the BOM may follow)
}

func newLineReader(r io.Reader, max int) *lineReader {
	if max <= 0 {
		max = DefaultMaxLine
	}
	// Room for a BOM, the longest allowed line and "\r\n", so that any
	// line that does not fit is certainly too long.
	return &lineReader{br: bufio.NewReaderSize(r, len(bom)+max+2), max: max, first: true}
}

// next returns the next line without its terminator. If the line is
// longer than max, long is true and line holds only a prefix of it (enough
// to sniff whether the body is text); the rest is discarded by the
// following call without being buffered. At the end of the input next
// returns io.EOF; any other error comes from the underlying reader.
func (lr *lineReader) next() (line []byte, long bool, err error) {
	if lr.skip {
		lr.skip = false
		if err := lr.discard(); err != nil {
			return nil, false, err
		}
	}
	line, err = lr.br.ReadSlice('\n')
	switch {
	case err == nil:
		line = line[:len(line)-1]
	case errors.Is(err, bufio.ErrBufferFull):
		long, lr.skip = true, true
	case err == io.EOF && len(line) > 0:
		// The last line has no terminator; the next call reports io.EOF.
	default:
		return nil, false, err
	}
	lr.n++
	if lr.first {
		lr.first = false
		line = bytes.TrimPrefix(line, bom)
	}
	if !long {
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		long = len(line) > lr.max
	}
	return line, long, nil
}

// discard drops the rest of an overlong line, up to and including its
// "\n", one buffer at a time.
func (lr *lineReader) discard() error {
	for {
		_, err := lr.br.ReadSlice('\n')
		switch {
		case err == nil, err == io.EOF:
			return nil // io.EOF resurfaces on the next read
		case !errors.Is(err, bufio.ErrBufferFull):
			return err
		}
	}
}

// tooLong is the LineError for a line over the limit.
func (lr *lineReader) tooLong() *LineError {
	return &LineError{Line: lr.n, Reason: fmt.Sprintf("line longer than %d bytes", lr.max)}
}

// blank reports whether line has nothing but ASCII white space.
func blank(line []byte) bool {
	for _, c := range line {
		switch c {
		case ' ', '\t', '\r', '\v', '\f':
		default:
			return false
		}
	}
	return true
}

// notText returns why line is not text (invalid UTF-8 or a NUL byte), or
// "" if it is. With partial set, line is a prefix of a longer line, and a
// character cut off at its end is not held against it.
func notText(line []byte, partial bool) string {
	if bytes.IndexByte(line, 0) >= 0 {
		return "line contains a NUL byte"
	}
	if partial {
		// Drop a trailing multi-byte character that the cut split.
		for i := len(line) - 1; i >= 0 && i >= len(line)-utf8.UTFMax; i-- {
			if utf8.RuneStart(line[i]) {
				if !utf8.FullRune(line[i:]) {
					line = line[:i]
				}
				break
			}
		}
	}
	if !utf8.Valid(line) {
		return "line is not valid UTF-8"
	}
	return ""
}
