// Package ingest turns the body of a bulk hash import
// (POST /v1/hashes/import) into a stream of records, one line at a time,
// so that a body of millions of lines is never held in memory.
//
// Two formats are supported, newline-delimited JSON ([NewNDJSON]) and CSV
// with a header ([NewCSV]). Both share the same line discipline:
//
//   - Lines end in "\n" or "\r\n"; the last line may lack its terminator.
//   - Line numbers are 1-based physical line numbers in the body, counting
//     blank lines, bad lines and (for CSV) the header.
//   - Lines that are empty or contain only spaces, tabs, carriage returns,
//     vertical tabs or form feeds are skipped.
//   - A UTF-8 byte order mark at the very start of the body is ignored.
//   - A line longer than the maximum (by default [DefaultMaxLine] bytes,
//     not counting its terminator) is reported as a [LineError] and the rest
//     of it is discarded without being buffered, so a hostile line cannot
//     make the reader grow.
//   - A line that is not valid UTF-8, or that contains a NUL byte, is a
//     [LineError] — unless it is the first non-blank line, in which case the
//     body is taken to be binary (an image, an archive) and [ErrNotText]
//     ends the import before anything is stored.
//
// A [LineError] concerns one line only: the caller records it and calls
// Next again. Any other error ends the import.
//
// This package only splits and decodes. It does not validate hash values,
// categories, severities or jurisdictions: the caller does that with
// hashes.Parse and friends, so that the rules live in one place.
package ingest

import (
	"errors"
	"fmt"
)

// Record is one line of an import, not yet validated against the hash
// registry (the caller does that with hashes.Parse).
type Record struct {
	Line          int      `json:"-"` // 1-based physical line number in the body (CSV: counts the header as line 1)
	Algo          string   `json:"algo"`
	Value         string   `json:"value"`
	Quality       *int     `json:"quality,omitempty"`
	Category      string   `json:"category,omitempty"`      // "baseline" | "national" (validated by caller)
	Jurisdictions []string `json:"jurisdictions,omitempty"` // for national
	Severity      string   `json:"severity,omitempty"`      // "A" | "B" | "C" (validated by caller)
	Note          string   `json:"note,omitempty"`
	// File is the local file the hash was computed from, as `hashctl hash`
	// writes it, so that its output imports as is and a matcher can say
	// which file matched. The node ignores it and stores nothing of it.
	File string `json:"file,omitempty"`
}

// LineError is a problem with one line; the import goes on with the next
// line. Field names the offending field or column when there is one.
// Reason is a complete sentence fragment that makes sense on its own, so
// an API can return {line, field, reason} to the submitter as is; it quotes
// at most a short excerpt of the input.
type LineError struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// Error formats the error as "line N: reason".
func (e *LineError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// Reader yields records one at a time.
type Reader interface {
	// Next returns the next record, or a *LineError for a bad line (the
	// caller records it and calls Next again), or io.EOF at the end, or
	// another error (e.g. ErrNotText, a read error from the body) that ends
	// the import. Once Next has returned io.EOF or an error that ends the
	// import, it keeps returning that error.
	Next() (Record, error)
}

// DefaultMaxLine is the longest line, in bytes without its terminator,
// that a reader accepts when given a maxLine of zero or less. It is far
// more than a legitimate line needs (a photodna line with a long note is
// under 3 KiB) and small enough to keep per-import memory trivial.
const DefaultMaxLine = 64 << 10

// Errors that end an import.
var (
	// ErrNotText means the body does not look like text at all: its first
	// non-blank line is not UTF-8 or contains a NUL byte. Callers should
	// refuse the whole request before writing anything.
	ErrNotText = errors.New("body is not UTF-8 text")
	// ErrBadHeader means a CSV body's header line is missing or names
	// unknown, duplicate or too few columns.
	ErrBadHeader = errors.New("bad CSV header")
)

// Field names, shared by the JSON keys and the CSV columns.
const (
	fieldAlgo          = "algo"
	fieldValue         = "value"
	fieldQuality       = "quality"
	fieldCategory      = "category"
	fieldJurisdictions = "jurisdictions"
	fieldSeverity      = "severity"
	fieldNote          = "note"
	fieldFile          = "file"
)

// missing reports the first required field that rec lacks, for the
// "never return a record without algo and value" guarantee.
func missing(rec *Record) string {
	switch {
	case rec.Algo == "":
		return fieldAlgo
	case rec.Value == "":
		return fieldValue
	}
	return ""
}

// clip shortens s for quoting in a reason, so that hostile input cannot
// blow up error responses. It cuts on a UTF-8 boundary when it can.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > max-4 && cut > 0 && s[cut]&0xc0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// intern returns a constant string equal to b for the handful of values
// that repeat on almost every line, so decoding them does not allocate.
// (The compiler turns a switch on string(b) into comparisons without
// converting b.)
func intern(b []byte) string {
	switch string(b) {
	case "sha256":
		return "sha256"
	case "sha1":
		return "sha1"
	case "md5":
		return "md5"
	case "pdq":
		return "pdq"
	case "photodna":
		return "photodna"
	case "baseline":
		return "baseline"
	case "national":
		return "national"
	case "A":
		return "A"
	case "B":
		return "B"
	case "C":
		return "C"
	}
	return string(b)
}
