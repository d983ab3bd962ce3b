package hashes

import (
	"fmt"
	"strings"
)

// MaxValueLen is the longest raw value, in bytes, that any algorithm will
// look at. Longer input is refused before trimming or decoding, so a
// hostile client cannot make validation expensive. It comfortably exceeds
// the longest legitimate value (photodna: 192 characters).
const MaxValueLen = 1024

// Hash is a validated, canonical hash value. Build one with [Parse] or
// [ParseKey]; a Hash assembled by hand has not been validated.
type Hash struct {
	Algo    string `json:"algo"`
	Value   string `json:"value"`
	Quality *int   `json:"quality,omitempty"` // PDQ only, 0–100
}

// Parse validates algo, value and quality and returns the canonical Hash.
// quality may be nil; it is refused for algorithms that do not define a
// quality. The returned Hash has its own copy of quality, so the caller's
// variable can be reused. Errors are *FieldError; see the package
// documentation for the rules.
func Parse(algo, value string, quality *int) (Hash, error) {
	a, err := Lookup(algo)
	if err != nil {
		return Hash{}, err
	}
	canon, err := a.Canonical(value)
	if err != nil {
		return Hash{}, err
	}
	h := Hash{Algo: a.Name(), Value: canon}
	if quality != nil {
		qc, ok := a.(qualityChecker)
		if !ok {
			return Hash{}, &FieldError{
				Field:  "quality",
				Reason: fmt.Sprintf("quality applies only to %s, not to %s", qualityNames(), a.Name()),
				Err:    ErrInvalidQuality,
			}
		}
		if err := qc.checkQuality(*quality); err != nil {
			return Hash{}, err
		}
		q := *quality
		h.Quality = &q
	}
	return h, nil
}

// qualityNames lists the algorithms that accept a quality, for messages.
func qualityNames() string {
	reg := snapshot()
	var names []string
	for _, n := range reg.names {
		if _, ok := reg.byName[n].(qualityChecker); ok {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "no algorithm"
	}
	return strings.Join(names, ", ")
}

// Key returns the storage key of h: algo + ":" + value, for example
// "sha256:ab12…". Quality is not part of the key: two submissions of the
// same hash with different quality scores are the same hash.
func (h Hash) Key() string {
	return h.Algo + ":" + h.Value
}

// ParseKey is the inverse of [Hash.Key]. Keys are storage identifiers, so
// unlike [Parse] it only accepts the canonical spelling: "sha256:AB12…" is
// refused rather than normalised, since a non-canonical key means a bug
// somewhere upstream. Errors are *FieldError (Field "key" when there is no
// colon).
func ParseKey(key string) (Hash, error) {
	if len(key) > maxNameLen+1+MaxValueLen {
		return Hash{}, &FieldError{Field: "key", Reason: fmt.Sprintf("key longer than %d bytes", maxNameLen+1+MaxValueLen), Err: ErrInvalidValue}
	}
	algo, value, ok := strings.Cut(key, ":")
	if !ok {
		return Hash{}, &FieldError{Field: "key", Reason: fmt.Sprintf("key %q is not of the form algo:value", key), Err: ErrInvalidValue}
	}
	h, err := Parse(algo, value, nil)
	if err != nil {
		return Hash{}, err
	}
	if h.Value != value {
		return Hash{}, valueError(fmt.Sprintf("key value is not canonical; want %q", h.Value))
	}
	return h, nil
}

// trimValue applies the rules shared by every algorithm: the raw length
// cap, then trimming of surrounding whitespace, then the empty check.
// needs describes the expected value for error messages, e.g. "sha256
// needs 64 hex characters"; it is a function so that the happy path does
// not pay for formatting it.
func trimValue(value string, needs func() string) (string, error) {
	if len(value) > MaxValueLen {
		return "", valueError(fmt.Sprintf("value longer than %d bytes; %s", MaxValueLen, needs()))
	}
	v := strings.TrimSpace(value)
	if v == "" {
		return "", valueError("value is empty; " + needs())
	}
	return v, nil
}
