package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

// Fixtures.
const (
	sha256A = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	sha256B = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	md5A    = "d41d8cd98f00b204e9800998ecf8427e"
)

// outcome is what one call to Next produced: a record or a line error.
type outcome struct {
	rec Record
	err *LineError
}

// drain calls Next until it returns something other than a record or a
// *LineError, and returns the outcomes and that final error. It fails the
// test if line numbers do not strictly increase, if a record lacks algo or
// value, or if Next does not keep returning the final error.
func drain(t testing.TB, r Reader) ([]outcome, error) {
	t.Helper()
	var out []outcome
	last := 0
	for range 10_000_000 { // a bound, so a reader that never ends fails rather than hangs
		rec, err := r.Next()
		var le *LineError
		switch {
		case err == nil:
			if rec.Algo == "" || rec.Value == "" {
				t.Fatalf("record without algo or value: %+v", rec)
			}
			if rec.Line <= last {
				t.Fatalf("record line %d after line %d", rec.Line, last)
			}
			last = rec.Line
			out = append(out, outcome{rec: rec})
		case errors.As(err, &le):
			if le.Line <= last {
				t.Fatalf("error line %d after line %d: %v", le.Line, last, le)
			}
			if le.Reason == "" {
				t.Fatalf("line error without reason: %+v", le)
			}
			if rec.Algo != "" || rec.Value != "" {
				t.Fatalf("record %+v returned with error %v", rec, err)
			}
			last = le.Line
			out = append(out, outcome{err: le})
		default:
			for range 2 {
				if _, again := r.Next(); again != err {
					t.Fatalf("Next after final error %v returned %v", err, again)
				}
			}
			return out, err
		}
	}
	t.Fatal("reader did not end")
	return nil, nil
}

// summary renders outcomes compactly for comparison in table tests:
// "3 sha256" for a record, "4 !field" for a line error.
func summary(out []outcome) string {
	var b strings.Builder
	for i, o := range out {
		if i > 0 {
			b.WriteString(", ")
		}
		if o.err != nil {
			b.WriteString(strconv.Itoa(o.err.Line) + " !" + o.err.Field)
		} else {
			b.WriteString(strconv.Itoa(o.rec.Line) + " " + o.rec.Algo)
		}
	}
	return b.String()
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name string
		in   string
		max  int
		want []string // "!" marks a too-long line
	}{
		{"empty", "", 10, nil},
		{"one unterminated", "abc", 10, []string{"abc"}},
		{"one terminated", "abc\n", 10, []string{"abc"}},
		{"crlf", "a\r\nb\r\n", 10, []string{"a", "b"}},
		{"lone cr kept", "a\rb\n", 10, []string{"a\rb"}},
		{"blank lines", "\n\n\n", 10, []string{"", "", ""}},
		{"bom", "\xef\xbb\xbfabc\n\xef\xbb\xbfdef", 10, []string{"abc", "\xef\xbb\xbfdef"}},
		{"exactly max", "0123456789\n0123456789\r\n0123456789", 10, []string{"0123456789", "0123456789", "0123456789"}},
		{"max plus one", "0123456789a\nok\n", 10, []string{"!", "ok"}},
		{"long in middle", "a\n" + long + "\nb\n", 10, []string{"a", "!", "b"}},
		{"long at end", "a\n" + long, 10, []string{"a", "!"}},
		{"long at end terminated", "a\n" + long + "\n", 10, []string{"a", "!"}},
		{"consecutive long", long + "\n" + long + "\n" + long, 10, []string{"!", "!", "!"}},
		{"bom then max", "\xef\xbb\xbf0123456789\r\n", 10, []string{"0123456789"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := newLineReader(strings.NewReader(tt.in), tt.max)
			var got []string
			for {
				line, long, err := lr.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if lr.n != len(got)+1 {
					t.Fatalf("line number %d, want %d", lr.n, len(got)+1)
				}
				if long {
					got = append(got, "!")
				} else {
					got = append(got, string(line))
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Fatalf("lines = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLineReaderMemory checks that an overlong line is skipped in
// buffer-sized pieces rather than accumulated.
func TestLineReaderMemory(t *testing.T) {
	body := io.MultiReader(strings.NewReader("a\n"), io.LimitReader(repeatReader('x'), 64<<20), strings.NewReader("\nb\n"))
	lr := newLineReader(body, 1024)
	var lines []string
	for {
		line, long, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if long {
			lines = append(lines, "!")
			if len(line) > 1024+5 {
				t.Fatalf("prefix of %d bytes for a 1024-byte limit", len(line))
			}
			continue
		}
		lines = append(lines, string(line))
	}
	if strings.Join(lines, "|") != "a|!|b" {
		t.Fatalf("lines = %q", lines)
	}
	if lr.br.Size() > 1024+5 {
		t.Fatalf("buffer grew to %d bytes", lr.br.Size())
	}
}

// repeatReader is an endless stream of one byte.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestNotText(t *testing.T) {
	tests := []struct {
		in      string
		partial bool
		want    bool // text?
	}{
		{"hello", false, true},
		{"héllo", false, true},
		{"h\x00llo", false, false},
		{"\xff", false, false},
		{"h\xc3", false, false},
		{"h\xc3", true, true},               // é cut in half by the buffer
		{"h\xe2\x82", true, true},           // € cut after two bytes
		{"h\xc3\xc3", true, false},          // invalid before the cut
		{"\x89PNG\r\n\x1a\n", false, false}, // PNG signature (invalid UTF-8)
	}
	for _, tt := range tests {
		if got := notText([]byte(tt.in), tt.partial) == ""; got != tt.want {
			t.Errorf("notText(%q, %v) says text=%v, want %v", tt.in, tt.partial, got, tt.want)
		}
	}
}

func TestLineErrorMessage(t *testing.T) {
	e := &LineError{Line: 7, Field: "quality", Reason: `"quality" must be an integer`}
	if got, want := e.Error(), `line 7: "quality" must be an integer`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestClip(t *testing.T) {
	if got := clip("short"); got != "short" {
		t.Errorf("clip(short) = %q", got)
	}
	long := strings.Repeat("é", 100)
	got := clip(long)
	if len(got) > 64+len("…") || !strings.HasSuffix(got, "…") || !utf8ValidString(got) {
		t.Errorf("clip(long) = %q", got)
	}
}

func utf8ValidString(s string) bool { return notText([]byte(s), false) == "" }

// errAfter is a body that yields data and then a read error, like a
// client that disconnects or an http.MaxBytesReader that trips.
func errAfter(data string, err error) io.Reader {
	return io.MultiReader(strings.NewReader(data), errReader{err})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// Make sure that a caller-supplied bufio.Reader does not confuse the line
// reader (bufio.NewReaderSize may hand it back unchanged).
func TestLineReaderOverBufio(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader("a\n"+strings.Repeat("y", 200)+"\nb"), 1<<20)
	lr := newLineReader(br, 10)
	var got []string
	for {
		line, long, err := lr.next()
		if err != nil {
			break
		}
		if long {
			got = append(got, "!")
		} else {
			got = append(got, string(bytes.Clone(line)))
		}
	}
	if strings.Join(got, "|") != "a|!|b" {
		t.Fatalf("lines = %q", got)
	}
}
