// Package text checks the names and free text people type into hashhub,
// in one place for every domain package. A name (of an organisation, user,
// list or peer) is shown to other organisations and in audit trails, so it
// must read as what it is: no control characters, which terminals and logs
// interpret, and no bidirectional overrides or isolates, which can make
// "Hotline NL" display as something else. Notes and reasons are free text:
// line breaks are fine, NUL and bytes that are not UTF-8 are not.
package text

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// ErrInvalid is the error every *Error wraps.
var ErrInvalid = errors.New("text not allowed")

// Error names the field whose text was refused and why.
type Error struct{ Field, Reason string }

func (e *Error) Error() string { return e.Field + ": " + e.Reason }

// Unwrap makes every Error an ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// Name checks a name: valid UTF-8 with no NUL, no control character and
// no bidirectional formatting character (U+202A–U+202E, U+2066–U+2069,
// and the marks U+200E, U+200F, U+061C). Each domain then applies its own
// rule for which characters make a name.
func Name(field, s string) error {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			return &Error{field, fmt.Sprintf("not valid UTF-8 (byte %d)", i)}
		case r == 0:
			return &Error{field, "contains NUL (U+0000)"}
		case unicode.IsControl(r):
			return &Error{field, fmt.Sprintf("contains the control character %U; a name is one line of text", r)}
		case bidi(r):
			return &Error{field, fmt.Sprintf("contains the bidirectional formatting character %U, which makes a name display differently from what it is", r)}
		}
	}
	return nil
}

// Note checks free text (a note, a reason): valid UTF-8 with no NUL.
func Note(field, s string) error {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			return &Error{field, fmt.Sprintf("not valid UTF-8 (byte %d)", i)}
		case r == 0:
			return &Error{field, "contains NUL (U+0000)"}
		}
	}
	return nil
}

// validAt reports whether the U+FFFD at byte i of s is really there (three
// bytes) rather than a byte that is not UTF-8.
func validAt(s string, i int) bool {
	_, n := utf8.DecodeRuneInString(s[i:])
	return n == 3
}

// bidi reports whether r is an explicit bidirectional formatting character:
// the embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069,
// and the marks LRM, RLM and ALM.
func bidi(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}
