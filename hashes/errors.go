package hashes

import "errors"

// Sentinel errors. Every validation error in this package is a *FieldError
// that unwraps to one of these, so callers can branch with errors.Is while
// still showing the specific reason to the submitter.
var (
	ErrUnknownAlgorithm = errors.New("unknown hash algorithm")
	ErrInvalidValue     = errors.New("invalid hash value")
	ErrInvalidQuality   = errors.New("invalid quality")
)

// FieldError names the offending input field ("algo", "value", "quality",
// or "key" for [ParseKey]) and a human-readable reason. The reason is meant
// to be returned to API clients verbatim, so it never contains more than a
// short, quoted excerpt of the input.
type FieldError struct {
	Field  string
	Reason string
	Err    error // one of the sentinel errors above
}

// Error formats the error as "field: reason", e.g.
// `value: sha256 needs 64 hex characters, got 63`.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Unwrap returns the sentinel error, so errors.Is(err, ErrInvalidValue)
// and friends work on wrapped FieldErrors.
func (e *FieldError) Unwrap() error { return e.Err }

// valueError is shorthand for the most common error in this package.
func valueError(reason string) *FieldError {
	return &FieldError{Field: "value", Reason: reason, Err: ErrInvalidValue}
}
