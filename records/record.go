// Package records holds origin-signed statements: what a node's analysts
// said about hashes (an assessment) and when they withdrew it (a
// retraction). The node where a statement was made signs its canonical
// bytes with its Ed25519 node key; relays pass the bytes and signature on
// unchanged, and an importer checks them against the origin's published key
// however many nodes the record went through. Release signatures prove what
// a node served; record signatures prove who said it.
package records

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/jurisdiction"
)

// Format names version 1 of the record format.
const Format = "hashhub.record.v1"

// Kinds of record.
const (
	KindAssessment = "assessment"
	KindRetraction = "retraction"
)

// Limits. A record names at most MaxKeys hashes (an import batch is split
// into records of at most this many), and a wire line is at most MaxLine.
const (
	MaxKeys = 25_000
	MaxLine = 8 << 20
)

// ErrInvalid is wrapped by every refused record.
var ErrInvalid = errors.New("invalid record")

// ErrSignature is wrapped when a record's signature does not verify.
var ErrSignature = errors.New("record signature does not verify")

// Record is one statement by one user of one organisation on the origin
// node, about one or more hashes (keys "algo:value", sorted, unique).
type Record struct {
	Format string `json:"format"`
	Origin string `json:"origin"`
	// Seq numbers the origin's records 1, 2, 3…; with Origin it identifies
	// the record, and a later record of the same origin supersedes an
	// earlier one.
	Seq  uint64 `json:"seq"`
	Kind string `json:"kind"`
	// Time is when the statement was made (RFC 3339, UTC, nanoseconds).
	Time string `json:"time"`
	// Org, OrgJurisdiction and User are the origin's organisation id, its
	// jurisdiction and the user who made the statement.
	Org             string `json:"org"`
	OrgJurisdiction string `json:"org_jurisdiction"`
	User            string `json:"user"`
	// Assessment fields (empty in a retraction).
	Verdict       entries.Verdict  `json:"verdict,omitempty"`
	Category      entries.Category `json:"category,omitempty"`
	Jurisdictions []string         `json:"jurisdictions,omitempty"`
	Severity      entries.Severity `json:"severity,omitempty"`
	// Reason says why (retractions only).
	Reason string   `json:"reason,omitempty"`
	Keys   []string `json:"keys"`
}

var nodeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,62}$`)

// Encode returns the canonical bytes of r: encoding/json's encoding of
// Record, HTML escaping off, no trailing newline.
func (r *Record) Encode() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		panic(err) // a Record always encodes
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// TimeValue is Time parsed.
func (r *Record) TimeValue() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, r.Time)
	return t
}

// FormatTime is how a record writes its time.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// Validate checks every field.
func (r *Record) Validate() error {
	if r.Format != Format {
		return invalid("format %q", r.Format)
	}
	if !nodeRE.MatchString(r.Origin) {
		return invalid("origin %q is not a node id", r.Origin)
	}
	if r.Seq == 0 {
		return invalid("seq must be positive")
	}
	t, err := time.Parse(time.RFC3339Nano, r.Time)
	if err != nil || FormatTime(t) != r.Time {
		return invalid("time %q is not RFC 3339 UTC", r.Time)
	}
	if r.Org == "" || len(r.Org) > 64 || r.User == "" || len(r.User) > 64 {
		return invalid("org and user are 1–64 bytes")
	}
	if j, err := jurisdiction.Normalize(r.OrgJurisdiction); err != nil || j != r.OrgJurisdiction {
		return invalid("org_jurisdiction %q", r.OrgJurisdiction)
	}
	switch r.Kind {
	case KindAssessment:
		in, err := entries.Input{Verdict: r.Verdict, Category: r.Category, Jurisdictions: r.Jurisdictions, Severity: r.Severity}.Normalize()
		if err != nil {
			return invalid("%v", err)
		}
		if in.Verdict != r.Verdict || in.Category != r.Category || !slices.Equal(in.Jurisdictions, r.Jurisdictions) {
			return invalid("assessment fields are not canonical")
		}
		if r.Reason != "" {
			return invalid("an assessment has no reason")
		}
	case KindRetraction:
		if r.Verdict != "" || r.Category != "" || r.Jurisdictions != nil || r.Severity != "" {
			return invalid("a retraction carries no verdict")
		}
		if r.Reason == "" || len(r.Reason) > entries.MaxReasonLen {
			return invalid("a retraction has a reason of 1–%d bytes", entries.MaxReasonLen)
		}
	default:
		return invalid("kind %q is not one of assessment, retraction", r.Kind)
	}
	if len(r.Keys) == 0 || len(r.Keys) > MaxKeys {
		return invalid("1–%d keys", MaxKeys)
	}
	for i, k := range r.Keys {
		h, err := hashes.ParseKey(k)
		if err != nil || h.Key() != k {
			return invalid("key %q is not a canonical hash key", k)
		}
		if i > 0 && r.Keys[i-1] >= k {
			return invalid("keys are not sorted and unique")
		}
	}
	return nil
}

// Parse reads a record's canonical bytes: anything else — unknown fields,
// other order, whitespace, a value out of canonical form — is refused.
func Parse(raw []byte) (*Record, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return nil, invalid("%v", err)
	}
	if dec.More() {
		return nil, invalid("trailing data")
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if !bytes.Equal(r.Encode(), raw) {
		return nil, invalid("not in canonical form")
	}
	return &r, nil
}

// Signed is a record's canonical bytes and the origin's Ed25519 signature
// over them: the unit relays pass on byte for byte.
type Signed struct {
	Raw []byte
	Sig []byte
}

// Sign signs a record with the origin's node key.
func Sign(r *Record, key ed25519.PrivateKey) Signed {
	raw := r.Encode()
	return Signed{Raw: raw, Sig: ed25519.Sign(key, raw)}
}

// Verify parses s and checks its signature with the origin's key.
func (s Signed) Verify(key ed25519.PublicKey) (*Record, error) {
	r, err := Parse(s.Raw)
	if err != nil {
		return nil, err
	}
	return r, s.VerifyParsed(r, key)
}

// VerifyParsed checks the signature of a record already parsed from s.Raw
// (an importer parses first to learn the origin whose key to use).
func (s Signed) VerifyParsed(r *Record, key ed25519.PublicKey) error {
	if len(key) != ed25519.PublicKeySize || !ed25519.Verify(key, s.Raw, s.Sig) {
		return fmt.Errorf("%w: %s#%d", ErrSignature, r.Origin, r.Seq)
	}
	return nil
}

// wireLine is one line of a records stream.
type wireLine struct {
	Record string `json:"record"`
	Sig    string `json:"sig"`
}

// Line is s as one line of a records stream (without the newline):
// {"record":"<base64 of the bytes>","sig":"<base64 of the signature>"}.
func (s Signed) Line() []byte {
	b, _ := json.Marshal(wireLine{base64.StdEncoding.EncodeToString(s.Raw), base64.StdEncoding.EncodeToString(s.Sig)})
	return b
}

// ParseLine reads one line of a records stream. It checks the form only;
// Verify checks the record and its signature.
func ParseLine(line []byte) (Signed, error) {
	if len(line) > MaxLine {
		return Signed{}, invalid("line longer than %d bytes", MaxLine)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var w wireLine
	if err := dec.Decode(&w); err != nil {
		return Signed{}, invalid("%v", err)
	}
	if dec.More() {
		return Signed{}, invalid("trailing data")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(w.Record)
	if err != nil || len(raw) == 0 {
		return Signed{}, invalid("record: not base64")
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(w.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Signed{}, invalid("sig: not a base64 Ed25519 signature")
	}
	return Signed{Raw: raw, Sig: sig}, nil
}
