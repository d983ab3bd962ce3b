// Package people holds what makes a user a person who signs in to the
// console rather than a machine client: a password kept as an argon2id hash,
// a TOTP second factor (RFC 6238) whose codes are single-use, and the
// throttle that slows down guessing. It knows nothing about HTTP or the
// store; hub applies it and records every step in the audit chain.
package people

import "errors"

// Errors callers map to responses.
var (
	// ErrWeakPassword is a password the rules refuse (PasswordError says
	// which rule).
	ErrWeakPassword = errors.New("password refused")
	// ErrBadCode is a TOTP code that is wrong, outside the window, or
	// already used.
	ErrBadCode = errors.New("wrong or already used code")
)
