package translog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Sentinel errors for the client-side checks. The HTTP and client layers map
// them with errors.Is; the wrapped message says what exactly was wrong.
var (
	// ErrBadCheckpoint: the checkpoint is malformed, too big, or not signed
	// by the pinned log key.
	ErrBadCheckpoint = errors.New("translog: bad checkpoint")
	// ErrRollback: the new checkpoint has fewer leaves than the trusted one.
	ErrRollback = errors.New("translog: checkpoint rolls the log back")
	// ErrInconsistent: the new checkpoint does not extend the trusted one
	// (a fork, a bad proof, or a different log).
	ErrInconsistent = errors.New("translog: checkpoint inconsistent with trusted one")
	// ErrNotIncluded: an inclusion proof does not put the data at the claimed
	// index of the checkpoint's tree.
	ErrNotIncluded = errors.New("translog: entry not included in checkpoint")
)

// MaxCheckpointSize bounds the signed checkpoint bytes OpenCheckpoint will
// look at. A checkpoint is three short lines plus a signature line per
// signer; 16 KiB leaves room for ~100 witness cosignatures (note.Open's own
// limit) while refusing hostile megabytes before any parsing or hashing.
const MaxCheckpointSize = 16 << 10

// algEd25519 is the signed-note algorithm byte for Ed25519 keys.
const algEd25519 = 0x01

// emptyRoot is the RFC 6962 hash of the empty tree, SHA-256 of nothing. A
// size-0 checkpoint must carry it; anything else is a malformed commitment.
var emptyRoot = tlog.Hash(sha256.Sum256(nil))

// Signer signs checkpoints with the node's Ed25519 log key.
//
// The note key name is the checkpoint origin. C2SP does not require that,
// but tying them lets OpenCheckpoint refuse a checkpoint whose origin is not
// the pinned key's log, so one key can never vouch for two logs' histories.
type Signer struct {
	origin string
	signer note.Signer
	vkey   string
}

// NewSigner returns a Signer for the log named origin (use "hashhub/" +
// nodeID). origin must be a valid note key name: non-empty UTF-8 without
// spaces or '+'.
func NewSigner(origin string, key ed25519.PrivateKey) (*Signer, error) {
	if !validOrigin(origin) {
		return nil, fmt.Errorf("translog: origin %q is not a valid note key name (no spaces or '+')", origin)
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("translog: log key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	seed := key.Seed()
	pub := key.Public().(ed25519.PublicKey)
	// An ed25519.PrivateKey carries its public half; a key whose halves
	// disagree would sign with one key and advertise another.
	if !bytes.Equal(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), pub) {
		return nil, errors.New("translog: log key's public half does not match its seed")
	}
	vkey, err := note.NewEd25519VerifierKey(origin, pub)
	if err != nil {
		return nil, fmt.Errorf("translog: verifier key: %w", err)
	}
	ns, err := note.NewSigner(noteSignerKey(origin, seed, pub))
	if err != nil {
		return nil, fmt.Errorf("translog: note signer: %w", err)
	}
	return &Signer{origin: origin, signer: ns, vkey: vkey}, nil
}

// noteSignerKey encodes an Ed25519 key in the only form note.NewSigner
// takes, "PRIVATE+KEY+name+hash+base64(alg||seed)". note.NewSigner
// re-derives the public key from the seed and checks the hash against it,
// so a mistake here fails loudly rather than producing unverifiable notes.
func noteSignerKey(name string, seed []byte, pub ed25519.PublicKey) string {
	return fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, noteKeyHash(name, pub),
		base64.StdEncoding.EncodeToString(append([]byte{algEd25519}, seed...)))
}

// noteKeyHash is the signed-note key ID: the first four bytes, big-endian,
// of SHA-256(name || "\n" || alg || public key).
func noteKeyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', algEd25519})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// Origin returns the log's name, the first line of its checkpoints.
func (s *Signer) Origin() string { return s.origin }

// VerifierKey returns the note verifier key "name+hash+base64(alg||pub)".
// Clients and witnesses pin this string; it is safe to publish.
func (s *Signer) VerifierKey() string { return s.vkey }

// Sign returns a signed note whose body is the C2SP tlog-checkpoint
// "origin\nsize\nbase64(root)\n", followed by the log's signature line.
// Witness cosignatures are added to these bytes later by others.
func (s *Signer) Sign(size int64, root tlog.Hash) ([]byte, error) {
	if size < 0 {
		return nil, fmt.Errorf("translog: sign checkpoint: negative size %d", size)
	}
	if size == 0 && root != emptyRoot {
		return nil, fmt.Errorf("translog: sign checkpoint: size 0 with non-empty root %s", root)
	}
	signed, err := note.Sign(&note.Note{Text: formatCheckpoint(s.origin, size, root)}, s.signer)
	if err != nil {
		return nil, fmt.Errorf("translog: sign checkpoint: %w", err)
	}
	return signed, nil
}

// Checkpoint is a parsed checkpoint whose log signature has been verified.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
	// Note is the full signed note, as received: what a client stores and
	// what it forwards to witnesses, cosignatures included.
	Note []byte
}

// OpenCheckpoint verifies a signed checkpoint against the pinned verifier
// key and parses it. Only that key counts: other signatures, such as witness
// cosignatures, may be present and are ignored here (witness policy is
// checked elsewhere). The origin must equal the key's name.
//
// Every refusal wraps ErrBadCheckpoint with the reason. A verifierKey that
// does not parse is the caller's configuration error and does not wrap it,
// so the peer is not blamed for it.
func OpenCheckpoint(signed []byte, verifierKey string) (*Checkpoint, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return nil, fmt.Errorf("translog: pinned verifier key %q: %w", verifierKey, err)
	}
	if len(signed) > MaxCheckpointSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBadCheckpoint, len(signed), MaxCheckpointSize)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCheckpoint, err)
	}
	// note.Open succeeds when any known verifier signed. Only our key is
	// known, so this cannot fail today; it keeps the check explicit should
	// the verifier list ever grow (say, to include witnesses).
	if !signedBy(n, v) {
		return nil, fmt.Errorf("%w: not signed by log key %s+%08x", ErrBadCheckpoint, v.Name(), v.KeyHash())
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	if cp.Origin != v.Name() {
		return nil, fmt.Errorf("%w: origin %q is not the log key's name %q", ErrBadCheckpoint, clip(cp.Origin), v.Name())
	}
	cp.Note = bytes.Clone(signed)
	return cp, nil
}

// signedBy reports whether n carries a verified signature by v.
func signedBy(n *note.Note, v note.Verifier) bool {
	for _, sig := range n.Sigs {
		if sig.Name == v.Name() && sig.Hash == v.KeyHash() {
			return true
		}
	}
	return false
}

// formatCheckpoint is the checkpoint body. It is the exact inverse of
// parseCheckpoint, so each (origin, size, root) has one signed text.
func formatCheckpoint(origin string, size int64, root tlog.Hash) string {
	return origin + "\n" + strconv.FormatInt(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
}

// parseCheckpoint parses a checkpoint body strictly: exactly the three
// lines formatCheckpoint writes, a decimal size without sign or leading
// zeros, and canonical base64 of 32 bytes. C2SP allows extension lines after
// the root; hashhub writes none, and refusing them means no signed content
// is ever silently ignored.
func parseCheckpoint(text string) (*Checkpoint, error) {
	body, ok := strings.CutSuffix(text, "\n")
	if !ok {
		return nil, fmt.Errorf("%w: body does not end in a newline", ErrBadCheckpoint)
	}
	lines := strings.Split(body, "\n")
	if len(lines) != 3 {
		return nil, fmt.Errorf("%w: body has %d lines, want 3 (origin, size, root)", ErrBadCheckpoint, len(lines))
	}
	origin, sizeLine, rootLine := lines[0], lines[1], lines[2]
	if !validOrigin(origin) {
		return nil, fmt.Errorf("%w: origin %q is not a valid log name", ErrBadCheckpoint, clip(origin))
	}
	size, err := parseSize(sizeLine)
	if err != nil {
		return nil, err
	}
	root, err := parseRoot(rootLine)
	if err != nil {
		return nil, err
	}
	if size == 0 && root != emptyRoot {
		return nil, fmt.Errorf("%w: size 0 with non-empty root %s", ErrBadCheckpoint, root)
	}
	return &Checkpoint{Origin: origin, Size: size, Root: root}, nil
}

// parseSize accepts only the canonical decimal form, so a size has one
// spelling and "+5", "05" or " 5" cannot make two texts for one tree.
func parseSize(s string) (int64, error) {
	if s == "" || len(s) > 19 {
		return 0, fmt.Errorf("%w: size %q has bad length", ErrBadCheckpoint, clip(s))
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%w: size %q has a leading zero", ErrBadCheckpoint, s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: size %q is not a decimal number", ErrBadCheckpoint, s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: size %q: %w", ErrBadCheckpoint, s, err)
	}
	return n, nil
}

// hashB64Len is the length of a 32-byte hash in padded standard base64.
const hashB64Len = 44

// parseRoot decodes a root hash, refusing non-canonical base64 (stray
// padding bits, embedded newlines) for the same one-spelling reason.
func parseRoot(s string) (tlog.Hash, error) {
	var h tlog.Hash
	if len(s) != hashB64Len {
		return h, fmt.Errorf("%w: root %q is not 32 bytes of base64", ErrBadCheckpoint, clip(s))
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		return h, fmt.Errorf("%w: root %q is not 32 bytes of canonical base64", ErrBadCheckpoint, s)
	}
	copy(h[:], b)
	return h, nil
}

// validOrigin mirrors signed-note's rule for key names, which the origin
// also is here: non-empty UTF-8 with no Unicode space and no '+'.
func validOrigin(s string) bool {
	return s != "" && utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsSpace) && !strings.Contains(s, "+")
}

// clip shortens hostile text quoted in error messages, so a peer cannot
// make the node log kilobytes per refusal.
func clip(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}

// VerifyConsistency checks that newer extends older, the checkpoint the
// client last trusted, using a consistency proof from older.Size to
// newer.Size. An older size of 0 has nothing to check; equal sizes need equal
// roots (and an empty proof); a smaller newer size is ErrRollback; anything
// else that fails is ErrInconsistent. Both checkpoints must come from
// OpenCheckpoint with the same pinned key.
func VerifyConsistency(older, newer *Checkpoint, proof tlog.TreeProof) error {
	if older == nil || newer == nil {
		return errors.New("translog: verify consistency: nil checkpoint")
	}
	if older.Origin != newer.Origin {
		return fmt.Errorf("%w: origin %q, trusted %q: different logs", ErrInconsistent, newer.Origin, older.Origin)
	}
	if newer.Size < older.Size {
		return fmt.Errorf("%w: size %d, trusted %d", ErrRollback, newer.Size, older.Size)
	}
	if older.Size == 0 {
		return nil
	}
	if newer.Size == older.Size && newer.Root != older.Root {
		return fmt.Errorf("%w: fork at size %d: root %s, trusted %s", ErrInconsistent, newer.Size, newer.Root, older.Root)
	}
	// Note tlog's argument order: new tree first.
	if err := tlog.CheckTree(proof, newer.Size, newer.Root, older.Size, older.Root); err != nil {
		return fmt.Errorf("%w: size %d does not extend trusted size %d: %w", ErrInconsistent, newer.Size, older.Size, err)
	}
	return nil
}

// VerifyInclusion checks that data is leaf i of the checkpoint's tree. A
// client accepts a release manifest only after this succeeds.
func VerifyInclusion(cp *Checkpoint, i int64, data []byte, proof tlog.RecordProof) error {
	if cp == nil {
		return errors.New("translog: verify inclusion: nil checkpoint")
	}
	if i < 0 || i >= cp.Size {
		return fmt.Errorf("%w: leaf %d outside tree of size %d", ErrNotIncluded, i, cp.Size)
	}
	if err := tlog.CheckRecord(proof, cp.Size, cp.Root, i, tlog.RecordHash(data)); err != nil {
		return fmt.Errorf("%w: leaf %d in tree of size %d: %w", ErrNotIncluded, i, cp.Size, err)
	}
	return nil
}
