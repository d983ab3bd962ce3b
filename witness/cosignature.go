package witness

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashhub/hashhub/translog"
)

// algCosignatureV1 is the signed-note signature type of Ed25519
// cosignature/v1 keys (C2SP tlog-cosignature). It differs from plain
// Ed25519 (0x01), so a cosignature key's ID never equals a log key's ID even
// for the same name and public key, and x/mod/sumdb/note refuses these keys
// ("unknown verifier algorithm"): CosignatureVerifier fills that gap.
const algCosignatureV1 = 0x04

// cosignatureHeader is the first line of every cosignature/v1 signed
// message. A log signature covers a checkpoint body, whose first line is the
// origin, so this fixed line keeps the two kinds of signature apart.
const cosignatureHeader = "cosignature/v1\n"

// Sizes of a cosignature/v1 note signature: key ID, big-endian timestamp,
// Ed25519 signature.
const (
	keyIDSize     = 4
	timestampSize = 8
	cosigSize     = keyIDSize + timestampSize + ed25519.SignatureSize
)

// maxCosignatureLine bounds an Ed25519 cosignature line: "— " (4 bytes), a
// key name, a space and the base64 of 76 bytes (104 characters). Names
// longer than 256 bytes are not worth reading. AppendCosignatures takes any
// signature type (an ML-DSA-44 line is ~3.3 KB) and bounds lines only by
// the checkpoint size.
const maxCosignatureLine = 4 + 256 + 1 + 104

// ErrBadCosignature is wrapped by every refusal of a cosignature line:
// malformed, from another key, or not verifying.
var ErrBadCosignature = errors.New("witness: bad cosignature")

// cosignatureMessage is what a cosignature/v1 Ed25519 signature covers:
// "cosignature/v1\ntime <ts>\n" followed by the whole checkpoint body,
// final newline included, signature lines excluded.
func cosignatureMessage(ts uint64, body []byte) []byte {
	msg := make([]byte, 0, len(cosignatureHeader)+len("time \n")+20+len(body))
	msg = append(msg, cosignatureHeader...)
	msg = append(msg, "time "...)
	msg = strconv.AppendUint(msg, ts, 10)
	msg = append(msg, '\n')
	return append(msg, body...)
}

// cosignatureKeyID is the signed-note key ID of an Ed25519 cosignature/v1
// key: SHA-256(name || "\n" || 0x04 || public key)[:4], big-endian.
func cosignatureKeyID(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', algCosignatureV1})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// cosignatureVerifierKey encodes a cosigner's public key as a signed-note
// vkey, "name+hex(key ID)+base64(0x04 || public key)".
func cosignatureVerifierKey(name string, pub ed25519.PublicKey) string {
	return fmt.Sprintf("%s+%08x+%s", name, cosignatureKeyID(name, pub),
		base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, pub...)))
}

// validKeyName is signed-note's rule for key names: non-empty UTF-8 without
// Unicode spaces or '+'.
func validKeyName(s string) bool {
	return s != "" && utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsSpace) && !strings.Contains(s, "+")
}

// CosignatureVerifier verifies Ed25519 cosignature/v1 signatures. It
// implements note.Verifier, so note.Open can check cosignatures alongside
// (or instead of) log signatures; x/mod/sumdb/note only knows plain Ed25519.
type CosignatureVerifier struct {
	name string
	id   uint32
	pub  ed25519.PublicKey
}

// NewCosignatureVerifier parses a cosignature/v1 verifier key, as
// Witness.VerifierKey returns it. Only signature type 0x04 is accepted: a
// plain Ed25519 key (0x01) is a log key, and treating it as a witness key
// would count log signatures and cosignatures as one thing.
func NewCosignatureVerifier(vkey string) (*CosignatureVerifier, error) {
	name, rest, _ := strings.Cut(vkey, "+")
	id16, key64, _ := strings.Cut(rest, "+")
	if !validKeyName(name) || len(id16) != 8 {
		return nil, fmt.Errorf("witness: verifier key %q: want name+hex8+base64", clip(vkey))
	}
	id, err := strconv.ParseUint(id16, 16, 32)
	if err != nil {
		return nil, fmt.Errorf("witness: verifier key %q: key ID: %w", clip(vkey), err)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(key64)
	if err != nil {
		return nil, fmt.Errorf("witness: verifier key %q: %w", clip(vkey), err)
	}
	if len(key) != 1+ed25519.PublicKeySize || key[0] != algCosignatureV1 {
		return nil, fmt.Errorf("witness: verifier key %q is not an Ed25519 cosignature/v1 key (type 0x04)", clip(vkey))
	}
	pub := ed25519.PublicKey(key[1:])
	if uint32(id) != cosignatureKeyID(name, pub) {
		return nil, fmt.Errorf("witness: verifier key %q: key ID does not match the key", clip(vkey))
	}
	return &CosignatureVerifier{name: name, id: uint32(id), pub: pub}, nil
}

// Name implements note.Verifier.
func (v *CosignatureVerifier) Name() string { return v.name }

// KeyHash implements note.Verifier.
func (v *CosignatureVerifier) KeyHash() uint32 { return v.id }

// Verify implements note.Verifier: msg is the note text, sig the signature
// bytes after the key ID (timestamp || Ed25519 signature).
func (v *CosignatureVerifier) Verify(msg, sig []byte) bool {
	_, ok := v.verify(msg, sig)
	return ok
}

// verify checks sig over body and returns the signed timestamp. Timestamps
// above 2⁶³−1 are refused, as the spec says they MUST NOT occur; such a
// value could not be a time.Time anyway.
func (v *CosignatureVerifier) verify(body, sig []byte) (uint64, bool) {
	if len(sig) != timestampSize+ed25519.SignatureSize {
		return 0, false
	}
	ts := binary.BigEndian.Uint64(sig)
	if ts > math.MaxInt64 {
		return 0, false
	}
	return ts, ed25519.Verify(v.pub, cosignatureMessage(ts, body), sig[timestampSize:])
}

// VerifyCosignature checks one cosignature line (with or without its final
// newline) over a checkpoint body (the note text, final newline included,
// no signature lines) with a witness's verifier key, and returns the time
// the witness signed. A line from a different key is an error here: the
// caller asked about this witness. To pick a known witness's line out of
// many, use note.Open with CosignatureVerifiers, which ignores unknown keys.
func VerifyCosignature(checkpointBody []byte, line string, witnessVerifierKey string) (time.Time, error) {
	v, err := NewCosignatureVerifier(witnessVerifierKey)
	if err != nil {
		return time.Time{}, err
	}
	if len(checkpointBody) == 0 || checkpointBody[len(checkpointBody)-1] != '\n' || len(checkpointBody) > translog.MaxCheckpointSize {
		return time.Time{}, fmt.Errorf("%w: checkpoint body is empty, too long or not newline-terminated", ErrBadCosignature)
	}
	name, sig, err := parseSignatureLine(line, maxCosignatureLine)
	if err != nil {
		return time.Time{}, err
	}
	if name != v.name || len(sig) != cosigSize || binary.BigEndian.Uint32(sig) != v.id {
		return time.Time{}, fmt.Errorf("%w: line is not from key %s+%08x", ErrBadCosignature, v.name, v.id)
	}
	ts, ok := v.verify(checkpointBody, sig[keyIDSize:])
	if !ok {
		return time.Time{}, fmt.Errorf("%w: signature by %s does not verify", ErrBadCosignature, v.name)
	}
	return time.Unix(int64(ts), 0).UTC(), nil
}

// parseSignatureLine splits "— name base64\n" (newline optional) into the
// key name and the decoded signature (key ID first). Lines longer than
// limit are refused before decoding.
func parseSignatureLine(line string, limit int) (string, []byte, error) {
	line = strings.TrimSuffix(line, "\n")
	if len(line) > limit {
		return "", nil, fmt.Errorf("%w: line is %d bytes, limit %d", ErrBadCosignature, len(line), limit)
	}
	rest, ok := strings.CutPrefix(line, "— ")
	if !ok {
		return "", nil, fmt.Errorf("%w: line %q does not start with \"— \"", ErrBadCosignature, clip(line))
	}
	name, b64, ok := strings.Cut(rest, " ")
	if !ok || !validKeyName(name) {
		return "", nil, fmt.Errorf("%w: line %q has no valid key name", ErrBadCosignature, clip(line))
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(sig) <= keyIDSize {
		return "", nil, fmt.Errorf("%w: line %q: signature is not base64 of more than %d bytes", ErrBadCosignature, clip(line), keyIDSize)
	}
	return name, sig, nil
}

// AppendCosignatures returns note (a signed checkpoint) with the signature
// lines appended, so the node can serve its checkpoint carrying the
// cosignatures it collected and any client can check its witness policy
// from that one file. Lines are checked for form only (each is one
// "— name base64" line); verify them with VerifyCosignature before
// appending. A line already in the note is skipped; a second, different
// line with the same key name and ID is refused, because note.Open checks
// only the first signature per key and a stale one could hide a good one.
// The result must stay within translog.MaxCheckpointSize, or clients would
// refuse the checkpoint.
func AppendCosignatures(note []byte, lines []string) ([]byte, error) {
	split := bytes.LastIndex(note, []byte("\n\n"))
	if split < 0 || len(note) == 0 || note[len(note)-1] != '\n' {
		return nil, fmt.Errorf("witness: append cosignatures: not a signed note")
	}
	type keyRef struct {
		name string
		id   uint32
	}
	have := map[keyRef]string{}
	present := map[string]bool{}
	for _, l := range strings.SplitAfter(string(note[split+2:]), "\n") {
		if l == "" {
			continue
		}
		name, sig, err := parseSignatureLine(l, translog.MaxCheckpointSize)
		if err != nil {
			return nil, fmt.Errorf("witness: append cosignatures: existing signature: %w", err)
		}
		have[keyRef{name, binary.BigEndian.Uint32(sig)}] = l
		present[l] = true
	}
	out := bytes.Clone(note)
	for _, l := range lines {
		if !strings.HasSuffix(l, "\n") {
			l += "\n"
		}
		if strings.Count(l, "\n") != 1 {
			return nil, fmt.Errorf("%w: line %q spans several lines", ErrBadCosignature, clip(l))
		}
		if present[l] {
			continue
		}
		name, sig, err := parseSignatureLine(l, translog.MaxCheckpointSize)
		if err != nil {
			return nil, fmt.Errorf("witness: append cosignatures: %w", err)
		}
		k := keyRef{name, binary.BigEndian.Uint32(sig)}
		if _, dup := have[k]; dup {
			return nil, fmt.Errorf("%w: note already has a different signature by %s+%08x", ErrBadCosignature, k.name, k.id)
		}
		have[k] = l
		present[l] = true
		out = append(out, l...)
	}
	if len(out) > translog.MaxCheckpointSize {
		return nil, fmt.Errorf("witness: append cosignatures: note would be %d bytes, limit %d", len(out), translog.MaxCheckpointSize)
	}
	return out, nil
}

// clip shortens hostile text quoted in error messages.
func clip(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}
