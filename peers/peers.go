// Package peers describes the other nodes a node federates with: where
// they are, the keys that prove what they publish and who they are, which
// of their lists to pull, which jurisdictions' reports route to them, and
// how their analysts' assessments count here.
package peers

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"golang.org/x/mod/sumdb/note"

	"github.com/hashhub/hashhub/jurisdiction"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/text"
	"github.com/hashhub/hashhub/witness"
)

// Errors callers map to responses.
var (
	ErrInvalid  = errors.New("invalid peer")
	ErrNotFound = errors.New("peer not found")
	ErrExists   = errors.New("peer already exists")
)

// FieldError names the field at fault.
type FieldError struct{ Field, Reason string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap makes every FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Peer is another node.
type Peer struct {
	// ID is the peer's node id (its tokens' issuer and its log's origin
	// are derived from it).
	ID string `json:"id"`
	// Name is a human name for the organisation running it.
	Name string `json:"name"`
	// Jurisdiction is where the peer's organisation sits.
	Jurisdiction string `json:"jurisdiction"`
	// BaseURL is where its API answers, e.g. https://hub.example.org.
	BaseURL string `json:"base_url"`
	// MirrorURL, if set, is where a tree the peer publishes (hashhub
	// publish) is served: its lists are read from there, with the same
	// checks, and from the peer itself only when the tree is behind or
	// refused (docs/federation.md, "Syncing through a mirror").
	MirrorURL string `json:"mirror_url,omitempty"`
	// NodeKeyPEM is the peer's Ed25519 node key: it signs the JWT client
	// assertions the peer authenticates with (RFC 7523).
	NodeKeyPEM string `json:"node_key_pem"`
	// ReleaseKeyPEM verifies the peer's release manifests.
	ReleaseKeyPEM string `json:"release_key_pem"`
	// LogKey is the note verifier key of the peer's transparency log.
	LogKey string `json:"log_key"`
	// WitnessKey is the verifier key of the peer's witness cosignatures
	// (witness_verifier_key of its /v1/keys); empty if it does not
	// witness this node's log.
	WitnessKey string `json:"witness_key,omitempty"`
	// Lists are the peer's lists this node pulls.
	Lists []string `json:"lists"`
	// RoutedJurisdictions are the hosting jurisdictions whose reports go
	// to this peer.
	RoutedJurisdictions []string `json:"routed_jurisdictions"`
	// CountAs says how the peer's assessments count toward local list
	// policies: as one organisation in one jurisdiction.
	CountAs CountAs `json:"count_as"`
	// MaxStepBytes and MaxRecordsBytes cap what one pull step from the
	// peer may download — its delta or snapshot (spooled to disk), and the
	// signed records that come with it (held in memory until the step
	// commits) — whatever its signed manifests say. 0 takes the node's
	// defaults (hashhub serve --peer-max-step-bytes and
	// --peer-max-records-bytes).
	MaxStepBytes    int64 `json:"max_step_bytes,omitempty"`
	MaxRecordsBytes int64 `json:"max_records_bytes,omitempty"`
	// Org is the local organisation (kind peer) the peer acts as here.
	Org     string    `json:"org"`
	Paused  bool      `json:"paused"`
	Created time.Time `json:"created"`
	// Sync is how pulling each of the peer's lists is going; the node
	// fills it in when it answers (it is not stored).
	Sync []SyncStatus `json:"sync,omitempty"`
}

// CountAs maps a peer's assessments onto a local organisation and
// jurisdiction (e.g. "assessments from peer X count as organisation X in
// jurisdiction NL").
type CountAs struct {
	Org          string `json:"org"`
	Jurisdiction string `json:"jurisdiction"`
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,62}$`)
var listRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Validate checks a new peer and normalises it.
func (p *Peer) Validate(selfID string) error {
	if err := text.Name("id", p.ID); err != nil {
		return err
	}
	if !idRE.MatchString(p.ID) {
		return &FieldError{"id", "the peer's node id: 1–63 characters of a-z, 0-9, '.' and '-'"}
	}
	if p.ID == selfID {
		return &FieldError{"id", "a node is not its own peer"}
	}
	if err := text.Name("name", p.Name); err != nil {
		return err
	}
	if p.Name == "" || len(p.Name) > 120 {
		return &FieldError{"name", "1–120 characters"}
	}
	j, err := jurisdiction.Normalize(p.Jurisdiction)
	if err != nil {
		return &FieldError{"jurisdiction", err.Error()}
	}
	p.Jurisdiction = j
	u, err := url.Parse(p.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return &FieldError{"base_url", "an http(s) URL with a host and no credentials, query or fragment"}
	}
	p.BaseURL = u.Scheme + "://" + u.Host + trimSlash(u.EscapedPath())
	if p.MirrorURL, err = NormalizeMirrorURL(p.MirrorURL); err != nil {
		return err
	}
	if _, err := p.NodeKey(); err != nil {
		return &FieldError{"node_key_pem", err.Error()}
	}
	if _, err := release.NewVerifier([]byte(p.ReleaseKeyPEM)); err != nil {
		return &FieldError{"release_key_pem", err.Error()}
	}
	v, err := note.NewVerifier(p.LogKey)
	if err != nil {
		return &FieldError{"log_key", "a signed-note verifier key (log_verifier_key of the peer's /v1/keys): " + err.Error()}
	}
	if v.Name() != "hashhub/"+p.ID {
		return &FieldError{"log_key", fmt.Sprintf("the key is named %q; the peer's log is hashhub/%s", v.Name(), p.ID)}
	}
	if p.WitnessKey != "" {
		if _, err := witness.NewCosignatureVerifier(p.WitnessKey); err != nil {
			return &FieldError{"witness_key", "a cosignature verifier key (witness_verifier_key of the peer's /v1/keys): " + err.Error()}
		}
	}
	for _, l := range p.Lists {
		if !listRE.MatchString(l) {
			return &FieldError{"lists", fmt.Sprintf("%q is not a list name", l)}
		}
	}
	p.Lists = sortedUnique(p.Lists)
	if p.MaxStepBytes < 0 {
		return &FieldError{"max_step_bytes", "a number of bytes, or 0 for the node's default"}
	}
	if p.MaxRecordsBytes < 0 {
		return &FieldError{"max_records_bytes", "a number of bytes, or 0 for the node's default"}
	}
	for i, rj := range p.RoutedJurisdictions {
		n, err := jurisdiction.Normalize(rj)
		if err != nil {
			return &FieldError{"routed_jurisdictions", err.Error()}
		}
		p.RoutedJurisdictions[i] = n
	}
	p.RoutedJurisdictions = sortedUnique(p.RoutedJurisdictions)
	if p.CountAs.Org == "" {
		p.CountAs.Org = p.Name
	}
	if p.CountAs.Jurisdiction == "" {
		p.CountAs.Jurisdiction = p.Jurisdiction
	}
	if cj, err := jurisdiction.Normalize(p.CountAs.Jurisdiction); err != nil {
		return &FieldError{"count_as.jurisdiction", err.Error()}
	} else {
		p.CountAs.Jurisdiction = cj
	}
	return nil
}

// NormalizeMirrorURL checks a peer's mirror URL ("" for none) and returns
// it without a trailing slash. Only http(s): a file:// URL would let
// whoever registers peers make the node read its own disk.
func NormalizeMirrorURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", &FieldError{"mirror_url", "the http(s) URL of the root of a tree the peer publishes, with a host and no credentials, query or fragment"}
	}
	return u.Scheme + "://" + u.Host + trimSlash(u.EscapedPath()), nil
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

func sortedUnique(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// NodeKey parses the peer's Ed25519 node key.
func (p *Peer) NodeKey() (ed25519.PublicKey, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(p.NodeKeyPEM))
	if err != nil {
		return nil, fmt.Errorf("a PEM public key: %w", err)
	}
	k, ok := pub.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("an Ed25519 key (the node_key_pem of the peer's /v1/keys), not %T", pub)
	}
	return k, nil
}
