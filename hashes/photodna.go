package hashes

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"
)

// photoDNASize is the size of a PhotoDNA hash in bytes.
const photoDNASize = 144

// photoDNA is Microsoft's PhotoDNA: 144 bytes, exchanged as base64.
// Different tools emit standard or URL-safe base64, with or without
// padding, so all are accepted and re-encoded to one canonical form.
type photoDNA struct{}

func init() { Register(photoDNA{}) }

func (photoDNA) Name() string { return "photodna" }

// Match is Exact because PhotoDNA's near-match distance is not a Hamming
// distance and MatchKind has no kind for it yet.
func (photoDNA) Match() MatchKind { return Exact }

// canonicalLen is the length of 144 bytes in padded base64.
func (photoDNA) canonicalLen() int { return (photoDNASize + 2) / 3 * 4 }

// Canonical decodes value as base64 and re-encodes it as standard padded
// base64, so that equivalent spellings converge on one stored value.
func (photoDNA) Canonical(value string) (string, error) {
	v, err := trimValue(value, func() string { return "photodna needs 144 bytes as base64 (192 characters)" })
	if err != nil {
		return "", err
	}

	// Check the alphabet ourselves rather than leaving it to the decoder:
	// encoding/base64 silently skips line breaks, and its errors do not
	// tell a submitter which dialect went wrong.
	data := strings.TrimRight(v, "=")
	pad := len(v) - len(data)
	std, url := false, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '+' || c == '/':
			std = true
		case c == '-' || c == '_':
			url = true
		default:
			_, size := utf8.DecodeRuneInString(data[i:])
			return "", valueError(fmt.Sprintf("photodna needs base64; character %q at position %d is not base64", data[i:i+size], i+1))
		}
	}
	if std && url {
		return "", valueError("photodna value mixes standard (+/) and URL-safe (-_) base64 alphabets")
	}
	if pad > 2 || (pad > 0 && (len(data)+pad)%4 != 0) {
		return "", valueError("photodna value has incorrect base64 padding")
	}

	enc := base64.RawStdEncoding
	if url {
		enc = base64.RawURLEncoding
	}
	raw, err := enc.DecodeString(data)
	if err != nil {
		// Only a length of 1 modulo 4 gets here: the alphabet was checked.
		return "", valueError(fmt.Sprintf("photodna value is not valid base64 (%d characters cannot be a whole number of bytes)", len(data)))
	}
	if len(raw) != photoDNASize {
		return "", valueError(fmt.Sprintf("photodna needs %d bytes, got %d", photoDNASize, len(raw)))
	}
	return base64.StdEncoding.EncodeToString(raw), nil
}
