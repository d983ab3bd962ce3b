// Package release defines what a node publishes for each version of a
// list: the manifest (a small canonical JSON document signed with the
// node's ECDSA P-256 release key), the snapshot and delta lines, and the
// checks a client runs before it accepts a release. docs/release-format.md
// specifies every byte.
package release

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Format names the manifest format; a client refuses any other.
const Format = "hashhub.release.v1"

// MaxManifestSize bounds a manifest a client will read.
const MaxManifestSize = 64 << 10

// Manifest describes one version of a list. Its JSON encoding, with the
// fields in this order and no insignificant whitespace, is the signed
// message and the transparency-log leaf.
type Manifest struct {
	Format string `json:"format"`
	// Node is the publishing node's id.
	Node string `json:"node"`
	List string `json:"list"`
	// Version counts from 1 per list and is never reused.
	Version uint64 `json:"version"`
	// Previous is the hex SHA-256 of manifest Version-1's bytes ("" for 1):
	// the hash chain that makes history unrewritable.
	Previous string `json:"previous"`
	// Created and Expires are RFC 3339 UTC times; a client refuses a
	// manifest past Expires (a node that stops publishing cannot keep
	// clients on a frozen list).
	Created string `json:"created"`
	Expires string `json:"expires"`
	// KeyID is the hex SHA-256 of the DER public key that signs it.
	KeyID string `json:"key_id"`
	// Entries is the number of entries at this version.
	Entries uint64 `json:"entries"`
	// SetRoot is the hex set root of the entries (see setroot).
	SetRoot string `json:"set_root"`
	// Delta describes the change from Version-1.
	Delta Delta `json:"delta"`
	// LogIndex is this manifest's leaf index in the node's transparency log.
	LogIndex int64 `json:"log_index"`
}

// Delta summarises the change a version makes to the one before it.
type Delta struct {
	From    uint64 `json:"from"`
	Adds    uint64 `json:"adds"`
	Removes uint64 `json:"removes"`
	Updates uint64 `json:"updates"`
	// SHA256 is the hex digest of the delta's canonical NDJSON bytes, as
	// served by GET .../delta?from=Version-1&to=Version.
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// Encode returns the canonical bytes of m.
func (m *Manifest) Encode() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		panic(err) // a struct of strings and numbers always encodes
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Digest is the hex SHA-256 of manifest bytes: what the next version's
// Previous names.
func Digest(manifest []byte) string {
	s := sha256.Sum256(manifest)
	return hex.EncodeToString(s[:])
}

// TimeFormat is how manifest times are written.
const TimeFormat = "2006-01-02T15:04:05Z"

// FormatTime renders t for a manifest.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// Errors of ParseManifest and the checks; each names a refusal reason a
// client reports.
var (
	ErrMalformed    = errors.New("malformed manifest")
	ErrBadSignature = errors.New("bad signature")
)

// ParseManifest decodes manifest bytes strictly: known fields only, and
// the bytes must be exactly the canonical encoding (so a signature over
// them means one thing).
func ParseManifest(raw []byte) (*Manifest, error) {
	if len(raw) > MaxManifestSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(raw))
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !bytes.Equal(m.Encode(), raw) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrMalformed)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrMalformed, m.Format, Format)
	}
	for name, v := range map[string]string{"created": m.Created, "expires": m.Expires} {
		if _, err := time.Parse(TimeFormat, v); err != nil {
			return nil, fmt.Errorf("%w: %s %q", ErrMalformed, name, v)
		}
	}
	return &m, nil
}

// CreatedTime and ExpiresTime parse the manifest's times (validated by
// ParseManifest).
func (m *Manifest) CreatedTime() time.Time { t, _ := time.Parse(TimeFormat, m.Created); return t }

// ExpiresTime is when clients stop accepting this version as current.
func (m *Manifest) ExpiresTime() time.Time { t, _ := time.Parse(TimeFormat, m.Expires); return t }

// Signer signs manifests with the node's release key through sigstore.
type Signer struct {
	sv    *signature.ECDSASignerVerifier
	keyID string
	pem   []byte
}

// NewSigner wraps the release key.
func NewSigner(key *ecdsa.PrivateKey) (*Signer, error) {
	sv, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(key.Public())
	if err != nil {
		return nil, err
	}
	id, err := KeyID(key.Public())
	if err != nil {
		return nil, err
	}
	return &Signer{sv: sv, keyID: id, pem: pem}, nil
}

// KeyID is the hex SHA-256 of a public key's DER (SubjectPublicKeyInfo).
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := cryptoutils.MarshalPublicKeyToDER(pub)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:]), nil
}

// KeyID names the signing key.
func (s *Signer) KeyID() string { return s.keyID }

// PublicKeyPEM is the release public key, as cosign and openssl read it.
func (s *Signer) PublicKeyPEM() []byte { return s.pem }

// Sign returns the ASN.1 DER ECDSA signature over SHA-256(message), base64
// encoded: the content of a .sig file that `cosign verify-blob` and (after
// base64 -d) `openssl dgst -sha256 -verify` accept.
func (s *Signer) Sign(message []byte) ([]byte, error) {
	der, err := s.sv.SignMessage(bytes.NewReader(message))
	if err != nil {
		return nil, err
	}
	return []byte(base64.StdEncoding.EncodeToString(der)), nil
}

// Verifier checks manifest signatures with a pinned public key.
type Verifier struct {
	v     signature.Verifier
	keyID string
}

// NewVerifier loads a PEM public key (ECDSA P-256).
func NewVerifier(pemBytes []byte) (*Verifier, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("release key: %w", err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve.Params().Name != "P-256" {
		return nil, fmt.Errorf("release key: want an ECDSA P-256 key, got %T", pub)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	return &Verifier{v: v, keyID: id}, nil
}

// KeyID names the pinned key.
func (v *Verifier) KeyID() string { return v.keyID }

// Verify checks a base64 DER signature over message.
func (v *Verifier) Verify(message, sig []byte) error {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
	if err != nil || len(der) > 256 {
		return fmt.Errorf("%w: signature is not base64 DER", ErrBadSignature)
	}
	if err := v.v.VerifySignature(bytes.NewReader(der), bytes.NewReader(message)); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return nil
}
