package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// ndjsonReader implements Reader for newline-delimited JSON.
type ndjsonReader struct {
	lines *lineReader
	text  bool  // a non-blank line has been seen, so the body is text
	err   error // sticky error that ended the import
}

// NewNDJSON returns a Reader for newline-delimited JSON: one JSON object
// per non-blank line, with the keys algo, value, quality, category,
// jurisdictions, severity, note and file (the local file name `hashctl hash`
// writes, which the node ignores). maxLine caps the length of a line in
// bytes (zero or less means DefaultMaxLine); the reader buffers about that
// much.
//
// Each line is decoded on its own, so a bad line never affects its
// neighbours. A line is a LineError when it is not exactly one JSON object
// (trailing data after the object is refused), has a key that is not one
// of the above — keys are matched exactly, case included — or repeats a
// key, has a value of the wrong type (quality must be an integer,
// jurisdictions an array of strings, everything else a string), or lacks
// a non-empty algo or value. A null value counts as absent.
//
// Lines are decoded by a small parser of this flat shape rather than by
// encoding/json, which is several times slower per line and is what the
// parser is tested against; strings with escape sequences are handed to
// encoding/json to unescape.
func NewNDJSON(r io.Reader, maxLine int) Reader {
	return &ndjsonReader{lines: newLineReader(r, maxLine)}
}

// Next implements Reader.
func (r *ndjsonReader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	for {
		line, long, err := r.lines.next()
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("reading line %d: %w", r.lines.n+1, err)
			}
			r.err = err
			return Record{}, err
		}
		if long {
			if err := r.sniff(line, true); err != nil {
				return Record{}, err
			}
			return Record{}, r.lines.tooLong()
		}
		if blank(line) {
			continue
		}
		if err := r.sniff(line, false); err != nil {
			return Record{}, err
		}
		rec := Record{Line: r.lines.n}
		if field, reason := decodeLine(line, &rec); reason != "" {
			return Record{}, &LineError{Line: rec.Line, Field: field, Reason: reason}
		}
		return rec, nil
	}
}

// sniff checks that line is text. On the first non-blank line a failure
// ends the import with ErrNotText; later it is a LineError.
func (r *ndjsonReader) sniff(line []byte, partial bool) error {
	why := notText(line, partial)
	first := !r.text
	r.text = true
	switch {
	case why == "":
		return nil
	case first:
		r.err = fmt.Errorf("line %d: %w", r.lines.n, ErrNotText)
		return r.err
	}
	return &LineError{Line: r.lines.n, Reason: why}
}

// Bits for decodeLine's duplicate-key check.
const (
	seenAlgo = 1 << iota
	seenValue
	seenQuality
	seenCategory
	seenJurisdictions
	seenSeverity
	seenNote
	seenFile
)

// decodeLine decodes one JSON object into rec. On failure it returns the
// field at fault (if any) and a non-empty reason.
func decodeLine(b []byte, rec *Record) (field, reason string) {
	d := decoder{b: b}
	d.space()
	if !d.consume('{') {
		return "", "line is not a JSON object"
	}
	seen := 0
	d.space()
	if !d.consume('}') {
		for {
			if d.peek() != '"' {
				return "", d.syntax("expected a quoted key")
			}
			key, reason := d.str()
			if reason != "" {
				return "", reason
			}
			d.space()
			if !d.consume(':') {
				return "", d.syntax("expected ':' after key")
			}
			d.space()

			// Identify the key first, so that an unknown or repeated key is
			// reported as such whatever its value looks like.
			var name string
			var bit int
			switch string(key) {
			case fieldAlgo:
				name, bit = fieldAlgo, seenAlgo
			case fieldValue:
				name, bit = fieldValue, seenValue
			case fieldQuality:
				name, bit = fieldQuality, seenQuality
			case fieldCategory:
				name, bit = fieldCategory, seenCategory
			case fieldJurisdictions:
				name, bit = fieldJurisdictions, seenJurisdictions
			case fieldSeverity:
				name, bit = fieldSeverity, seenSeverity
			case fieldNote:
				name, bit = fieldNote, seenNote
			case fieldFile:
				name, bit = fieldFile, seenFile
			default:
				k := clip(string(key))
				return k, fmt.Sprintf("unknown field %q", k)
			}
			if seen&bit != 0 {
				return name, fmt.Sprintf("duplicate field %q", name)
			}
			seen |= bit

			switch bit {
			case seenAlgo:
				reason = d.internString(&rec.Algo, name)
			case seenValue:
				reason = d.stringValue(&rec.Value, name)
			case seenQuality:
				reason = d.quality(&rec.Quality)
			case seenCategory:
				reason = d.internString(&rec.Category, name)
			case seenJurisdictions:
				reason = d.stringArray(&rec.Jurisdictions, name)
			case seenSeverity:
				reason = d.internString(&rec.Severity, name)
			case seenNote:
				reason = d.stringValue(&rec.Note, name)
			case seenFile:
				reason = d.stringValue(&rec.File, name)
			}
			if reason != "" {
				return name, reason
			}

			d.space()
			if d.consume('}') {
				break
			}
			if !d.consume(',') {
				return "", d.syntax("expected ',' or '}'")
			}
			d.space()
		}
	}
	d.space()
	if d.i != len(d.b) {
		return "", d.syntax("unexpected data after the JSON object")
	}
	if f := missing(rec); f != "" {
		return f, fmt.Sprintf("%q is required", f)
	}
	return "", ""
}

// decoder is a cursor over one line of JSON. It understands exactly as
// much JSON as a Record needs: one flat object whose values are strings,
// integers, arrays of strings or null.
type decoder struct {
	b []byte
	i int
}

// syntax formats a JSON syntax error at the cursor (1-based byte column).
func (d *decoder) syntax(what string) string {
	return fmt.Sprintf("invalid JSON at column %d: %s", d.i+1, what)
}

// typeError formats a value of the wrong JSON type.
func typeError(field, want string) string {
	return fmt.Sprintf("%q must be %s", field, want)
}

func (d *decoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// consume advances past c if it is next.
func (d *decoder) consume(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// space skips JSON white space.
func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}

// null advances past a null literal if one is next.
func (d *decoder) null() bool {
	if bytes.HasPrefix(d.b[d.i:], []byte("null")) {
		d.i += 4
		return true
	}
	return false
}

// str decodes the JSON string at the cursor. Without escapes the result
// aliases the line; with escapes it is freshly decoded by encoding/json,
// which keeps the rare cases (surrogate pairs and the like) exactly as the
// JSON standard library treats them.
func (d *decoder) str() (s []byte, reason string) {
	start := d.i
	d.i++ // opening quote
	escaped := false
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if !escaped {
				return d.b[start+1 : d.i-1], ""
			}
			var u string
			if err := json.Unmarshal(d.b[start:d.i], &u); err != nil {
				d.i = start
				return nil, d.syntax("invalid string")
			}
			return []byte(u), ""
		case c == '\\':
			escaped = true
			if d.i+1 >= len(d.b) {
				return nil, d.syntax("unterminated string")
			}
			switch d.b[d.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i += 2
			case 'u':
				if d.i+6 > len(d.b) {
					return nil, d.syntax("unterminated string")
				}
				for _, h := range d.b[d.i+2 : d.i+6] {
					if !isHex(h) {
						return nil, d.syntax("invalid \\u escape")
					}
				}
				d.i += 6
			default:
				d.i++
				return nil, d.syntax("invalid escape")
			}
		case c < 0x20:
			return nil, d.syntax("control character in string")
		default:
			d.i++
		}
	}
	return nil, d.syntax("unterminated string")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// stringValue decodes a string or null into *dst.
func (d *decoder) stringValue(dst *string, field string) string {
	switch {
	case d.peek() == '"':
		s, reason := d.str()
		if reason != "" {
			return reason
		}
		*dst = string(s)
	case !d.null():
		return typeError(field, "a string")
	}
	return ""
}

// internString is stringValue for fields whose values repeat line after
// line, which then need no allocation.
func (d *decoder) internString(dst *string, field string) string {
	switch {
	case d.peek() == '"':
		s, reason := d.str()
		if reason != "" {
			return reason
		}
		*dst = intern(s)
	case !d.null():
		return typeError(field, "a string")
	}
	return ""
}

// quality decodes an integer or null into *dst. Like encoding/json
// decoding into an int, it refuses fractions and exponents ("50.0",
// "5e1") and values that overflow int.
func (d *decoder) quality(dst **int) string {
	if d.null() {
		return ""
	}
	start := d.i
	d.consume('-')
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case '1' <= c && c <= '9':
		d.digits()
	default:
		d.i = start
		return typeError(fieldQuality, "an integer")
	}
	end := d.i
	if d.consume('.') {
		if d.digits() == 0 {
			return d.syntax("expected a digit after '.'")
		}
	}
	if d.consume('e') || d.consume('E') {
		if !d.consume('+') {
			d.consume('-')
		}
		if d.digits() == 0 {
			return d.syntax("expected a digit in exponent")
		}
	}
	if d.i != end {
		return typeError(fieldQuality, fmt.Sprintf("an integer, not %s", clip(string(d.b[start:d.i]))))
	}
	q, err := strconv.Atoi(string(d.b[start:end]))
	if err != nil {
		return typeError(fieldQuality, fmt.Sprintf("an integer in range, not %s", clip(string(d.b[start:end]))))
	}
	*dst = &q
	return ""
}

// digits skips decimal digits and returns how many there were.
func (d *decoder) digits() int {
	start := d.i
	for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i - start
}

// stringArray decodes an array of strings, or null, into *dst. An empty
// array counts as absent, like null.
func (d *decoder) stringArray(dst *[]string, field string) string {
	if d.null() {
		return ""
	}
	if !d.consume('[') {
		return typeError(field, "an array of strings")
	}
	var out []string
	d.space()
	if !d.consume(']') {
		for {
			if d.peek() != '"' {
				return typeError(field, "an array of strings")
			}
			s, reason := d.str()
			if reason != "" {
				return reason
			}
			out = append(out, string(s))
			d.space()
			if d.consume(']') {
				break
			}
			if !d.consume(',') {
				return d.syntax("expected ',' or ']'")
			}
			d.space()
		}
	}
	*dst = out
	return ""
}
