package people

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password rules. The minimum follows NIST SP 800-63B's advice for a
// password that is the only secret besides a second factor; the maximum
// only bounds the hashing work an attacker can ask for.
const (
	MinPasswordLen = 12   // characters
	MaxPasswordLen = 1024 // bytes
)

// Argon2Params are the argon2id costs of a password hash. They are written
// into every hash, so raising them later leaves old hashes verifiable.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen int
}

// DefaultArgon2 is OWASP's first argon2id configuration (46 MiB, one pass,
// one lane): about 50 ms on one core here, so a node shared by a few
// hundred people spends little, and a stolen store costs an attacker the
// same per guess.
var DefaultArgon2 = Argon2Params{Memory: 46 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// PasswordError says which rule a password broke; it is an ErrWeakPassword.
type PasswordError struct{ Reason string }

func (e *PasswordError) Error() string { return "password refused: " + e.Reason }

// Unwrap makes every PasswordError an ErrWeakPassword.
func (e *PasswordError) Unwrap() error { return ErrWeakPassword }

//go:embed common-passwords.txt
var commonList string

var (
	commonOnce sync.Once
	common     map[string]bool
)

// Common reports whether pw (compared without case) is on the embedded
// list of passwords that breaches show people choose most often.
func Common(pw string) bool {
	commonOnce.Do(func() {
		common = map[string]bool{}
		sc := bufio.NewScanner(strings.NewReader(commonList))
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
				common[strings.ToLower(l)] = true
			}
		}
	})
	return common[strings.ToLower(pw)]
}

// CheckPassword applies the rules to a new password for the person name.
func CheckPassword(pw, name string) error {
	switch {
	case !utf8.ValidString(pw):
		return &PasswordError{"not valid UTF-8"}
	case len(pw) > MaxPasswordLen:
		return &PasswordError{fmt.Sprintf("longer than %d bytes", MaxPasswordLen)}
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return &PasswordError{fmt.Sprintf("shorter than %d characters", MinPasswordLen)}
	case Common(pw):
		return &PasswordError{"on the list of commonly used passwords"}
	case strings.Count(pw, string([]rune(pw)[:1])) == utf8.RuneCountInString(pw):
		return &PasswordError{"one character repeated"}
	case name != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(name)) && utf8.RuneCountInString(pw)-utf8.RuneCountInString(name) < MinPasswordLen:
		return &PasswordError{"mostly the user's own name"}
	}
	return nil
}

// HashPassword returns the PHC-format argon2id hash of pw with a fresh salt.
func HashPassword(pw string) string { return hashWith(pw, DefaultArgon2) }

func hashWith(pw string, p Argon2Params) string {
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

// dummyHash is verified against when there is no real hash, so a sign-in
// for an unknown name costs the same as one for a known name.
var dummyHash = HashPassword("no one has this password, it is never stored")

// VerifyPassword reports whether pw matches the hash; an empty or malformed
// hash matches nothing, after the same work as a real check.
func VerifyPassword(pw, hash string) bool {
	p, salt, key, err := parseHash(hash)
	if err != nil {
		p, salt, key, _ = parseHash(dummyHash)
		argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

func parseHash(h string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("bad argon2 parameters: %w", err)
	}
	// Bound the work a stored hash can ask for (a corrupted store must not
	// make a sign-in allocate gigabytes).
	if p.Memory < 8 || p.Memory > 1<<20 || p.Time < 1 || p.Time > 16 || p.Threads < 1 {
		return p, nil, nil, fmt.Errorf("argon2 parameters out of range")
	}
	enc := base64.RawStdEncoding
	if salt, err = enc.DecodeString(parts[4]); err != nil {
		return p, nil, nil, err
	}
	if key, err = enc.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, fmt.Errorf("bad argon2 key")
	}
	p.KeyLen = uint32(len(key))
	return p, salt, key, nil
}
