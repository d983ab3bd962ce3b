// Package reports describes reports of URLs where child sexual abuse
// material is found, how each is routed, and the takedown notices sent to
// hosting providers. It holds types and rules only: the hub applies them in
// the store, the outbox delivers. A report carries URLs, hashes and text,
// never media; the node never fetches a reported URL.
package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/jurisdiction"
)

// Errors callers map to responses.
var (
	ErrInvalid     = errors.New("invalid report")
	ErrNotFound    = errors.New("report not found")
	ErrHopLimit    = errors.New("hop limit reached")
	ErrTransition  = errors.New("status change not allowed")
	ErrNoticeGone  = errors.New("notice not found")
	ErrHoldTooLong = errors.New("hold longer than allowed")
)

// FieldError names the field at fault.
type FieldError struct{ Field, Reason string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap makes every FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Limits of a report. They bound what one request can make the node store
// and send on; a real report names a handful of URLs.
const (
	MaxURLs         = 50
	MaxURLLen       = 2048
	MaxHashes       = 50
	MaxExplanation  = 4000
	MaxReporterRef  = 200
	DefaultHopLimit = 4
	MaxHopLimit     = 8
	MaxBody         = 256 << 10
)

// Detection methods, the XARF v4 csam type's own values so that the export
// needs no mapping.
var Detections = []string{"hash_match", "ai_detection", "manual_review", "user_report", "automated_scan"}

// Classification says why the material is illegal: by INTERPOL's baseline
// (everywhere), or under the law of named jurisdictions; with an optional
// severity (A most severe).
type Classification struct {
	Category      string   `json:"category" example:"baseline" enums:"baseline,national"`
	Jurisdictions []string `json:"jurisdictions,omitempty"`
	Severity      string   `json:"severity,omitempty" example:"A" enums:"A,B,C"`
}

// Submission is a report as a reporter (or a forwarding peer) sends it.
type Submission struct {
	// ID is set only by a peer forwarding a report: the id stays the same
	// on every node the report passes.
	ID             string         `json:"id,omitempty"`
	URLs           []string       `json:"urls"`
	Hashes         []HashRef      `json:"hashes,omitempty"`
	Classification Classification `json:"classification"`
	Detection      string         `json:"detection" example:"hash_match"`
	Explanation    string         `json:"explanation"`
	ReporterRef    string         `json:"reporter_ref,omitempty"`
	Urgent         bool           `json:"urgent,omitempty"`
	ObservedAt     time.Time      `json:"observed_at"`
	// HostingJurisdiction is the reporter's own view of where the URLs are
	// hosted, used when the node cannot resolve a URL itself.
	HostingJurisdiction string `json:"hosting_jurisdiction,omitempty"`
	// Hops and HopLimit are set by forwarding peers: the node ids the
	// report passed, origin first, and how many it may pass at most.
	Hops     []string `json:"hops,omitempty"`
	HopLimit int      `json:"hop_limit,omitempty"`
	// Reporter names the original reporting organisation when a peer
	// forwards the report.
	Reporter *Reporter `json:"reporter,omitempty"`
}

// HashRef is a hash of the reported material.
type HashRef struct {
	Algo  string `json:"algo" example:"sha256"`
	Value string `json:"value"`
}

// Reporter is who submitted a report.
type Reporter struct {
	Org          string `json:"org"`
	OrgName      string `json:"org_name"`
	Role         string `json:"role"`
	Jurisdiction string `json:"jurisdiction"`
	Node         string `json:"node"`
}

// Report is a stored report.
type Report struct {
	ID                  string         `json:"id"`
	URLs                []string       `json:"urls"`
	Hashes              []HashRef      `json:"hashes,omitempty"`
	Classification      Classification `json:"classification"`
	Detection           string         `json:"detection"`
	Explanation         string         `json:"explanation"`
	ReporterRef         string         `json:"reporter_ref,omitempty"`
	Urgent              bool           `json:"urgent"`
	ObservedAt          time.Time      `json:"observed_at"`
	HostingJurisdiction string         `json:"hosting_jurisdiction,omitempty"`
	Received            time.Time      `json:"received"`
	Reporter            Reporter       `json:"reporter"`
	Hops                []string       `json:"hops"`
	HopLimit            int            `json:"hop_limit"`
	// Status is received until routing has run; then routed when every
	// URL went somewhere, or unrouted when a URL found no destination (no
	// peer takes its jurisdiction and no fallback is set; its route says
	// which): the node's administrators then see the report.
	Status   string    `json:"status" example:"routed" enums:"received,routed,unrouted"`
	Routes   []Route   `json:"routes,omitempty"`
	Forwards []Forward `json:"forwards,omitempty"`
	Hold     *Hold     `json:"hold,omitempty"`
}

// Report statuses.
const (
	Received = "received"
	Routed   = "routed"
	Unrouted = "unrouted"
)

// Route is where one URL went and why.
type Route struct {
	URL          string `json:"url"`
	Host         string `json:"host"`
	Jurisdiction string `json:"jurisdiction,omitempty"`
	// Destination is local (this node's law enforcement and a notice to
	// the provider), peer, fallback or unrouted.
	Destination string    `json:"destination" example:"local"`
	Peer        string    `json:"peer,omitempty"`
	Notice      string    `json:"notice,omitempty"`
	Evidence    *Evidence `json:"evidence,omitempty"`
	Note        string    `json:"note,omitempty"`
}

// Route destinations.
const (
	DestLocal    = "local"
	DestPeer     = "peer"
	DestFallback = "fallback"
	DestUnrouted = "unrouted"
	DestSeen     = "already_seen" // the peer it would go to has handled it
)

// Forward records one hand-over of a report: to whom, when, and when the
// recipient acknowledged it (CSA proposal Art. 45/48).
type Forward struct {
	To      string     `json:"to"`
	Kind    string     `json:"kind" example:"law_enforcement"` // law_enforcement, fallback, peer
	Name    string     `json:"name,omitempty"`
	At      time.Time  `json:"at"`
	AckedAt *time.Time `json:"acked_at,omitempty"`
	AckedBy string     `json:"acked_by,omitempty"`
}

// Hold is law enforcement's hold on a report's takedown.
type Hold struct {
	By     string    `json:"by"`
	Org    string    `json:"org"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
}

// Evidence is why a URL was judged to be hosted where it went: kept on the
// notice so that a disputed notice can show it.
type Evidence struct {
	Method       string    `json:"method" example:"registered_domain"` // registered_domain, registered_range, rdap, reporter
	Host         string    `json:"host"`
	Addresses    []string  `json:"addresses,omitempty"`
	Range        string    `json:"range,omitempty"`
	Handle       string    `json:"handle,omitempty"`
	Country      string    `json:"country,omitempty"`
	AbuseEmail   string    `json:"abuse_email,omitempty"`
	Provider     string    `json:"provider,omitempty"`
	RDAPServer   string    `json:"rdap_server,omitempty"`
	ResolvedAt   time.Time `json:"resolved_at"`
	Jurisdiction string    `json:"jurisdiction,omitempty"`
}

// Parse decodes a submission strictly: one JSON object, known fields only,
// valid UTF-8. It does not validate the values (see Validate).
func Parse(body []byte) (*Submission, error) {
	if !utf8.Valid(body) {
		return nil, &FieldError{"body", "not UTF-8 text"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var s Submission
	if err := dec.Decode(&s); err != nil {
		return nil, &FieldError{"body", jsonReason(err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &FieldError{"body", "more than one JSON value"}
	}
	return &s, nil
}

// jsonReason turns a decoder error into a short reason that does not echo
// the input.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type (want %s)", te.Field, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "empty or truncated JSON"
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return "observed_at: not an RFC 3339 time"
	}
	return "malformed JSON"
}

var idRE = regexp.MustCompile(`^rep_[0-9a-f]{32}$`)

// ValidID reports whether s has the shape of a report id.
func ValidID(s string) bool { return idRE.MatchString(s) }

var refRE = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} ._:/#()-]*$`)

// Validate checks a submission and normalises it. fromPeer says whether
// the sender is a peer node (only peers set id, hops, hop_limit and
// reporter). now bounds observed_at.
func (s *Submission) Validate(fromPeer bool, now time.Time) error {
	if !fromPeer {
		switch {
		case s.ID != "":
			return &FieldError{"id", "set by the node; only a forwarding peer sends one"}
		case len(s.Hops) > 0:
			return &FieldError{"hops", "set by forwarding nodes only"}
		case s.HopLimit != 0:
			return &FieldError{"hop_limit", "set by forwarding nodes only"}
		case s.Reporter != nil:
			return &FieldError{"reporter", "set by forwarding nodes only"}
		}
	} else {
		if !ValidID(s.ID) {
			return &FieldError{"id", "a forwarded report keeps its id: rep_ and 32 lower-case hex characters"}
		}
		if len(s.Hops) == 0 || len(s.Hops) > MaxHopLimit {
			return &FieldError{"hops", fmt.Sprintf("1–%d node ids, origin first", MaxHopLimit)}
		}
		for _, h := range s.Hops {
			if !nodeRE.MatchString(h) {
				return &FieldError{"hops", fmt.Sprintf("%q is not a node id", h)}
			}
		}
		if s.HopLimit < 1 || s.HopLimit > MaxHopLimit {
			return &FieldError{"hop_limit", fmt.Sprintf("1–%d", MaxHopLimit)}
		}
		if s.Reporter == nil {
			return &FieldError{"reporter", "a forwarded report names its original reporter"}
		}
		if err := checkText("reporter.org_name", s.Reporter.OrgName, 200, false); err != nil {
			return err
		}
	}
	if len(s.URLs) == 0 || len(s.URLs) > MaxURLs {
		return &FieldError{"urls", fmt.Sprintf("1–%d URLs", MaxURLs)}
	}
	seen := map[string]bool{}
	for i, raw := range s.URLs {
		u, err := NormalizeURL(raw)
		if err != nil {
			return &FieldError{fmt.Sprintf("urls[%d]", i), err.Error()}
		}
		if seen[u] {
			return &FieldError{fmt.Sprintf("urls[%d]", i), "listed twice"}
		}
		seen[u] = true
		s.URLs[i] = u
	}
	if len(s.Hashes) > MaxHashes {
		return &FieldError{"hashes", fmt.Sprintf("at most %d", MaxHashes)}
	}
	for i, h := range s.Hashes {
		p, err := hashes.Parse(h.Algo, h.Value, nil)
		if err != nil {
			return &FieldError{fmt.Sprintf("hashes[%d]", i), err.Error()}
		}
		s.Hashes[i] = HashRef{Algo: p.Algo, Value: p.Value}
	}
	if err := s.Classification.validate(); err != nil {
		return err
	}
	if !slices.Contains(Detections, s.Detection) {
		return &FieldError{"detection", fmt.Sprintf("%q is not one of %s", s.Detection, strings.Join(Detections, ", "))}
	}
	s.Explanation = strings.TrimSpace(s.Explanation)
	if s.Explanation == "" {
		return &FieldError{"explanation", "required: why the material is illegal (DSA Art. 16(2)(a))"}
	}
	if err := checkText("explanation", s.Explanation, MaxExplanation, true); err != nil {
		return err
	}
	if s.ReporterRef != "" && (len(s.ReporterRef) > MaxReporterRef || !refRE.MatchString(s.ReporterRef)) {
		return &FieldError{"reporter_ref", fmt.Sprintf("up to %d letters, digits, spaces and . _ : / # ( ) -", MaxReporterRef)}
	}
	if s.ObservedAt.IsZero() {
		return &FieldError{"observed_at", "required: when the material was seen (RFC 3339)"}
	}
	if s.ObservedAt.After(now.Add(5 * time.Minute)) {
		return &FieldError{"observed_at", "in the future"}
	}
	s.ObservedAt = s.ObservedAt.UTC()
	if s.HostingJurisdiction != "" {
		j, err := jurisdiction.Normalize(s.HostingJurisdiction)
		if err != nil {
			return &FieldError{"hosting_jurisdiction", err.Error()}
		}
		s.HostingJurisdiction = j
	}
	return nil
}

var nodeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,62}$`)

func (c *Classification) validate() error {
	switch c.Category {
	case "baseline":
		if len(c.Jurisdictions) > 0 {
			return &FieldError{"classification.jurisdictions", "only for category national"}
		}
	case "national":
		if len(c.Jurisdictions) == 0 {
			return &FieldError{"classification.jurisdictions", "national: name the jurisdictions whose law it breaks"}
		}
		for i, j := range c.Jurisdictions {
			n, err := jurisdiction.Normalize(j)
			if err != nil {
				return &FieldError{"classification.jurisdictions", err.Error()}
			}
			c.Jurisdictions[i] = n
		}
		slices.Sort(c.Jurisdictions)
		c.Jurisdictions = slices.Compact(c.Jurisdictions)
	default:
		return &FieldError{"classification.category", fmt.Sprintf("%q is not one of baseline, national", c.Category)}
	}
	switch c.Severity {
	case "", "A", "B", "C":
	default:
		return &FieldError{"classification.severity", fmt.Sprintf("%q is not one of A, B, C", c.Severity)}
	}
	return nil
}

// checkText refuses control characters (newlines allowed where multiline)
// and over-long text: reports carry text only.
func checkText(field, s string, max int, multiline bool) error {
	if utf8.RuneCountInString(s) > max {
		return &FieldError{field, fmt.Sprintf("at most %d characters", max)}
	}
	for _, r := range s {
		if r == utf8.RuneError || (unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r'))) {
			return &FieldError{field, "text only: no control characters"}
		}
	}
	return nil
}

// NormalizeURL checks a reported URL: http or https only (never data:,
// file:, javascript: or any scheme that carries content itself), a host,
// no credentials, at most MaxURLLen bytes. It returns the URL with a
// lower-case scheme and host.
func NormalizeURL(raw string) (string, error) {
	if len(raw) > MaxURLLen {
		return "", fmt.Errorf("longer than %d bytes", MaxURLLen)
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f {
			return "", errors.New("contains spaces or control characters")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		if scheme == "" {
			return "", errors.New("no scheme: give the full http(s) URL")
		}
		return "", fmt.Errorf("scheme %q: only http and https URLs are reported (hashhub never accepts content itself)", scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return "", errors.New("no host")
	}
	if u.User != nil {
		return "", errors.New("credentials in a URL are refused")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" || strings.ContainsAny(host, "%_") && net.ParseIP(host) == nil {
		return "", errors.New("bad host")
	}
	// Brackets belong around an IPv6 address only; Go's parser takes
	// "http://]" with host "]".
	if bracketed := strings.HasPrefix(u.Host, "["); strings.ContainsAny(host, "[]") ||
		bracketed && (net.ParseIP(host) == nil || !strings.Contains(host, ":")) {
		return "", errors.New("bad host")
	}
	u.Scheme, u.Host = scheme, strings.ToLower(u.Host)
	return u.String(), nil
}

// Host returns a normalised URL's host name (no port, lower case).
func Host(normalized string) string {
	u, err := url.Parse(normalized)
	if err != nil {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
}
