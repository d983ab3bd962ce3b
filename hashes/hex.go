package hashes

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// hexDigest is an Algorithm whose values are the hex spelling of a
// fixed-size byte string. The cryptographic digests use it directly and
// PDQ builds on it, so the hex rules live in one place.
type hexDigest struct {
	name  string
	size  int // decoded size in bytes
	match MatchKind
}

func (h hexDigest) Name() string      { return h.name }
func (h hexDigest) Match() MatchKind  { return h.match }
func (h hexDigest) canonicalLen() int { return 2 * h.size }

// Canonical trims, checks the characters and the length, and lower-cases.
// Characters are checked before the length so that a pasted value of the
// wrong kind (say, base64) is reported by its first offending character,
// which is more telling than its length.
func (h hexDigest) Canonical(value string) (string, error) {
	v, err := trimValue(value, h.needs)
	if err != nil {
		return "", err
	}
	if len(v) >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X') {
		return "", valueError(fmt.Sprintf("%s needs bare hex; drop the %q prefix", h.name, v[:2]))
	}
	upper, err := scanHex(v, h.name, 2*h.size)
	if err != nil {
		return "", err
	}
	if !upper {
		// Already lower case, as every stored and served value is: the
		// scan above has looked at each character, so ToLower's own scan
		// would only repeat it (a tenth of a snapshot check's time).
		return v, nil
	}
	return strings.ToLower(v), nil
}

// needs describes a valid value, for error messages.
func (h hexDigest) needs() string {
	return fmt.Sprintf("%s needs %d hex characters", h.name, 2*h.size)
}

// checkHex reports the first non-hex character of v, or a length other
// than n, as a value error.
func checkHex(v, name string, n int) error {
	_, err := scanHex(v, name, n)
	return err
}

// scanHex is checkHex that also says whether v has an upper-case digit
// (A–F), so a caller need not scan it again to lower-case it.
func scanHex(v, name string, n int) (upper bool, err error) {
	var up uint8
	for i := 0; i < len(v); i++ {
		// One table read and an or: a test for A–F would branch on
		// random digits, which cost ten times the check.
		k := hexKinds[v[i]]
		if k == notHex {
			// Show the whole (possibly multi-byte) character, not one byte.
			_, size := utf8.DecodeRuneInString(v[i:])
			return false, valueError(fmt.Sprintf("%s needs hex; character %q at position %d is not hex", name, v[i:i+size], i+1))
		}
		up |= k
	}
	if len(v) != n {
		return false, valueError(fmt.Sprintf("%s needs %d hex characters, got %d", name, n, len(v)))
	}
	return up == upperHex, nil
}

// hexKinds sorts bytes for scanHex: lowerHex (0–9, a–f), upperHex (A–F)
// or notHex.
var hexKinds = func() (t [256]uint8) {
	for i := range t {
		t[i] = notHex
	}
	for _, c := range "0123456789abcdef" {
		t[c] = lowerHex
	}
	for _, c := range "ABCDEF" {
		t[c] = upperHex
	}
	return t
}()

const (
	lowerHex uint8 = 0
	upperHex uint8 = 1
	notHex   uint8 = 2
)

// hexValues maps a byte to its value as a hex digit, or -1. A table
// rather than a switch because HammingDistance decodes 128 digits per
// comparison on the near-matching hot path.
var hexValues = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, c := range "0123456789abcdef" {
		t[c] = int8(i)
	}
	for i, c := range "ABCDEF" {
		t[c] = int8(10 + i)
	}
	return t
}()

// fromHexChar returns the value of hex digit c, or -1.
func fromHexChar(c byte) int { return int(hexValues[c]) }
