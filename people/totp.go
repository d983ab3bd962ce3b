package people

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"hash"
	"net/url"
	"strings"
	"time"
)

// TOTP settings: the defaults every authenticator app understands (SHA-1,
// six digits, 30-second steps). A code is accepted one step either side of
// now, for clocks that drift and people who type slowly.
const (
	TOTPPeriod = 30 * time.Second
	TOTPDigits = 6
	TOTPSkew   = 1 // steps
	// TOTPSecretLen is the secret's length in bytes (RFC 4226 §4
	// recommends 160 bits).
	TOTPSecretLen = 20
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a fresh secret in base32, as authenticator apps
// take it.
func NewTOTPSecret() string {
	k := make([]byte, TOTPSecretLen)
	rand.Read(k)
	return b32.EncodeToString(k)
}

// DecodeSecret decodes a base32 secret (case and spaces ignored).
func DecodeSecret(s string) ([]byte, error) {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	k, err := b32.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(k) < 10 {
		return nil, fmt.Errorf("bad TOTP secret")
	}
	return k, nil
}

// HOTP is RFC 4226's code for counter c with hash h and the given number
// of digits.
func HOTP(h func() hash.Hash, key []byte, c uint64, digits int) string {
	m := hmac.New(h, key)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], c)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// Step is the RFC 6238 time step of t.
func Step(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// Code is the TOTP code of secret at time t (base32 secret).
func Code(secret string, t time.Time) (string, error) {
	k, err := DecodeSecret(secret)
	if err != nil {
		return "", err
	}
	return HOTP(sha1.New, k, uint64(Step(t)), TOTPDigits), nil
}

// CheckCode checks a code typed at time now against the secret. A code is
// single-use: its step must be after last, the step of the last code
// accepted for this secret (0: none yet). It returns the step the code
// belongs to, which the caller stores as the new last.
func CheckCode(secret, code string, now time.Time, last int64) (int64, error) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != TOTPDigits {
		return 0, ErrBadCode
	}
	k, err := DecodeSecret(secret)
	if err != nil {
		return 0, err
	}
	cur := Step(now)
	var found int64 = -1
	for s := cur - TOTPSkew; s <= cur+TOTPSkew; s++ {
		// Compare every candidate, so timing does not tell which matched.
		if hmac.Equal([]byte(HOTP(sha1.New, k, uint64(s), TOTPDigits)), []byte(code)) && found < 0 {
			found = s
		}
	}
	if found < 0 || found <= last {
		return 0, ErrBadCode
	}
	return found, nil
}

// URI is the otpauth:// URI an authenticator app reads (shown as text and
// typed or pasted; the node never sends it to a QR service).
func URI(issuer, account, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", fmt.Sprint(TOTPDigits))
	v.Set("period", fmt.Sprint(int(TOTPPeriod/time.Second)))
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	return "otpauth://totp/" + label + "?" + v.Encode()
}
