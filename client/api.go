package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
)

// The request and response shapes below mirror the server's (server/*,
// hub/*); records that belong to a domain package (organisations, lists,
// entries, disputes) are that package's own types.

// Me is who the token belongs to.
type Me struct {
	User         string `json:"user"`
	Org          string `json:"org"`
	Role         string `json:"role"`
	Jurisdiction string `json:"jurisdiction"`
}

// Me reads who the client's credentials belong to. It is the first call
// that fetches a token, so it is how to check credentials.
func (c *Client) Me(ctx context.Context) (*Me, error) {
	var out Me
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/me"}, &out)
	return ptr(&out, err)
}

// CreateOrgRequest creates an organisation.
type CreateOrgRequest struct {
	Name         string    `json:"name"`
	Kind         orgs.Role `json:"kind"`
	Jurisdiction string    `json:"jurisdiction"`
}

// OrgPage is a page of organisations.
type OrgPage struct {
	Orgs       []orgs.Org `json:"orgs"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// CreateOrg adds an organisation (admin).
func (c *Client) CreateOrg(ctx context.Context, req CreateOrgRequest) (*orgs.Org, error) {
	var out orgs.Org
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/orgs", body: req, creates: true}, &out)
	return ptr(&out, err)
}

// Orgs reads a page of organisations after cursor (limit 0: the node's default).
func (c *Client) Orgs(ctx context.Context, cursor string, limit int) (*OrgPage, error) {
	var out OrgPage
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/orgs", query: page(cursor, limit)}, &out)
	return ptr(&out, err)
}

// Org reads one organisation.
func (c *Client) Org(ctx context.Context, id string) (*orgs.Org, error) {
	var out orgs.Org
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/orgs/" + segment(id)}, &out)
	return ptr(&out, err)
}

// User is a user as listed (never with a secret).
type User struct {
	ID       string `json:"id"`
	Org      string `json:"org"`
	Name     string `json:"name"`
	ClientID string `json:"client_id"`
	Created  string `json:"created"`
	// Person marks someone who signs in to the web console (no client id).
	Person   bool `json:"person,omitempty"`
	Disabled bool `json:"disabled,omitempty"`
}

// Invite is a one-time link for a person to set up their console sign-in.
type Invite struct {
	User User `json:"user"`
	// Path is the link's path on the node; URL is the server's address
	// joined with it.
	Path    string    `json:"path"`
	Expires time.Time `json:"expires"`
}

// InviteUser creates a person in an organisation and a one-time invite
// link to the console, valid 24 hours.
func (c *Client) InviteUser(ctx context.Context, org, name string) (*Invite, error) {
	var out Invite
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/orgs/" + segment(org) + "/invites",
		body: struct {
			Name string `json:"name"`
		}{name}, creates: true}, &out)
	return ptr(&out, err)
}

// DisableUser stops a user from signing in or getting tokens and ends
// their console sessions.
func (c *Client) DisableUser(ctx context.Context, org, user string) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/orgs/" + segment(org) + "/users/" + segment(user) + "/disable"}, nil)
	return err
}

// NewUser is a created user with their client secret, which the node
// returns this once and keeps only as a hash.
type NewUser struct {
	User         User   `json:"user"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// CreateUser adds a user to an organisation and issues client credentials.
func (c *Client) CreateUser(ctx context.Context, org, name string) (*NewUser, error) {
	var out NewUser
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/orgs/" + segment(org) + "/users",
		body: struct {
			Name string `json:"name"`
		}{name}, creates: true}, &out)
	return ptr(&out, err)
}

// Users lists an organisation's users.
func (c *Client) Users(ctx context.Context, org string) ([]User, error) {
	var out struct {
		Users []User `json:"users"`
	}
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/orgs/" + segment(org) + "/users"}, &out)
	return out.Users, err
}

// CreateListRequest creates a list: its policy and readers.
type CreateListRequest struct {
	Name        string        `json:"name"`
	Description string        `json:"description,omitempty"`
	Policy      lists.Policy  `json:"policy"`
	Readers     lists.Readers `json:"readers"`
}

// CreateList adds a list (admin).
func (c *Client) CreateList(ctx context.Context, req CreateListRequest) (*lists.List, error) {
	var out lists.List
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/lists", body: req, creates: true}, &out)
	return ptr(&out, err)
}

// Lists reads the lists the caller may read.
func (c *Client) Lists(ctx context.Context) ([]lists.List, error) {
	var out struct {
		Lists []lists.List `json:"lists"`
	}
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/lists"}, &out)
	return out.Lists, err
}

// List reads one list.
func (c *Client) List(ctx context.Context, name string) (*lists.List, error) {
	var out lists.List
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/lists/" + segment(name)}, &out)
	return ptr(&out, err)
}

// Qualifying is one page of the entries that qualify for a list now.
type Qualifying struct {
	List       string          `json:"list"`
	Entries    []QualifiedHash `json:"entries"`
	NextCursor string          `json:"next_cursor,omitempty"`
	Scanned    int             `json:"scanned"`
}

// QualifiedHash is a hash as a list reader sees it.
type QualifiedHash struct {
	Algo     string `json:"algo"`
	Value    string `json:"value"`
	Quality  *int   `json:"quality,omitempty"`
	Severity string `json:"severity,omitempty"`
}

// ListEntries reads a page of the entries qualifying for a list. A page
// may hold fewer than limit entries and still have a NextCursor.
func (c *Client) ListEntries(ctx context.Context, name, cursor string, limit int) (*Qualifying, error) {
	var out Qualifying
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/lists/" + segment(name) + "/entries",
		query: page(cursor, limit)}, &out)
	return ptr(&out, err)
}

// SubmitRequest submits one hash with the submitter's assessment.
type SubmitRequest struct {
	Algo          string   `json:"algo"`
	Value         string   `json:"value"`
	Quality       *int     `json:"quality,omitempty"`
	Category      string   `json:"category,omitempty"`
	Jurisdictions []string `json:"jurisdictions,omitempty"`
	Severity      string   `json:"severity,omitempty"`
	Note          string   `json:"note,omitempty"`
}

// Entry is an entry with its key and status (active, disputed,
// not_illegal or retracted), as analysts see it.
type Entry struct {
	entries.Entry
	Key    string `json:"key"`
	Status string `json:"status"`
}

// Submit records a hash and the caller's assessment. created is false when
// the entry existed already.
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (e *Entry, created bool, err error) {
	var out Entry
	status, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/hashes", body: req, creates: true}, &out)
	if err != nil {
		return nil, false, err
	}
	return &out, status == http.StatusCreated, nil
}

// Import formats and their content types.
const (
	FormatNDJSON = "ndjson"
	FormatCSV    = "csv"
)

// ContentType returns the media type of an import format, or "".
func ContentType(format string) string {
	switch format {
	case FormatNDJSON:
		return "application/x-ndjson"
	case FormatCSV:
		return "text/csv"
	}
	return ""
}

// ImportResult summarises a bulk import.
type ImportResult struct {
	Lines           int         `json:"lines"`
	Accepted        int         `json:"accepted"`
	Created         int         `json:"created"`
	Updated         int         `json:"updated"`
	Unchanged       int         `json:"unchanged"`
	Rejected        int         `json:"rejected"`
	Errors          []LineError `json:"errors"`
	ErrorsTruncated bool        `json:"errors_truncated,omitempty"`
	Batches         int         `json:"batches"`
}

// Import streams body (NDJSON or CSV, see FormatNDJSON, FormatCSV) to the
// node, which commits it in batches as it reads. size is the body's length
// in bytes, or -1 if unknown. The body is read once and the call is never
// retried; re-running an import is safe (recorded assessments are left
// unchanged). If every line is rejected the error is a *Problem of kind
// KindImportRejected listing the line errors.
func (c *Client) Import(ctx context.Context, body io.Reader, format string, size int64) (*ImportResult, error) {
	ct := ContentType(format)
	if ct == "" {
		return nil, fmt.Errorf("import format %q: use %s or %s", format, FormatNDJSON, FormatCSV)
	}
	var out ImportResult
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/hashes/import", creates: true,
		stream: body, contentType: ct, size: size}, &out)
	return ptr(&out, err)
}

// segment escapes one path segment. Beyond url.PathEscape it encodes '+'
// as %2B: the node's router unescapes path values as query strings, where
// '+' means a space, and PhotoDNA values are base64 with '+' (and '/').
// %2B means '+' to every decoder.
func segment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "+", "%2B")
}

func hashPath(algo, value string) string {
	return "/v1/hashes/" + segment(algo) + "/" + segment(value)
}

// Entry reads an entry with its assessments.
func (c *Client) Entry(ctx context.Context, algo, value string) (*Entry, error) {
	var out Entry
	_, err := c.do(ctx, call{method: http.MethodGet, path: hashPath(algo, value)}, &out)
	return ptr(&out, err)
}

// History is everything recorded about an entry.
type History struct {
	Entry    *entries.Entry     `json:"entry"`
	Status   string             `json:"status"`
	Feedback []entries.Feedback `json:"feedback"`
	Disputes []entries.Dispute  `json:"disputes"`
}

// History reads an entry's assessments, feedback, disputes and resolutions.
func (c *Client) History(ctx context.Context, algo, value string) (*History, error) {
	var out History
	_, err := c.do(ctx, call{method: http.MethodGet, path: hashPath(algo, value) + "/history"}, &out)
	return ptr(&out, err)
}

// AssessRequest is an analyst's verdict.
type AssessRequest struct {
	Verdict       string   `json:"verdict"`
	Category      string   `json:"category,omitempty"`
	Jurisdictions []string `json:"jurisdictions,omitempty"`
	Severity      string   `json:"severity,omitempty"`
	Note          string   `json:"note,omitempty"`
}

// AssessResponse is the entry after an assessment, and the dispute a
// not_illegal verdict opened.
type AssessResponse struct {
	Entry   Entry            `json:"entry"`
	Dispute *entries.Dispute `json:"dispute,omitempty"`
}

// Assess adds (or replaces) the caller's verdict on an entry.
func (c *Client) Assess(ctx context.Context, algo, value string, req AssessRequest) (*AssessResponse, error) {
	var out AssessResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: hashPath(algo, value) + "/assessments", body: req, creates: true}, &out)
	return ptr(&out, err)
}

// Retract withdraws the caller's organisation's assessments of an entry.
// It is not retried after the request may have reached the node (the
// node keeps no idempotency record for it; a repeat would answer 409).
func (c *Client) Retract(ctx context.Context, algo, value, reason string) (*Entry, error) {
	var out Entry
	_, err := c.do(ctx, call{method: http.MethodPost, path: hashPath(algo, value) + "/retract",
		body: struct {
			Reason string `json:"reason"`
		}{reason}}, &out)
	return ptr(&out, err)
}

// FeedbackRequest is a platform's feedback on a matched entry.
type FeedbackRequest struct {
	Kind string `json:"kind"` // confirmed_match or false_positive
	Note string `json:"note,omitempty"`
}

// Feedback records a platform's feedback; false_positive opens a dispute.
func (c *Client) Feedback(ctx context.Context, algo, value string, req FeedbackRequest) (*entries.Feedback, error) {
	var out entries.Feedback
	_, err := c.do(ctx, call{method: http.MethodPost, path: hashPath(algo, value) + "/feedback", body: req, creates: true}, &out)
	return ptr(&out, err)
}

// DisputePage is a page of disputes.
type DisputePage struct {
	Disputes   []entries.Dispute `json:"disputes"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

// Disputes lists disputes oldest first; status "" means all.
func (c *Client) Disputes(ctx context.Context, status, cursor string, limit int) (*DisputePage, error) {
	q := page(cursor, limit)
	if status != "" {
		q.Set("status", status)
	}
	var out DisputePage
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/disputes", query: q}, &out)
	return ptr(&out, err)
}

// ResolveRequest resolves a dispute.
type ResolveRequest struct {
	Outcome string `json:"outcome"` // upheld or overturned
	Reason  string `json:"reason"`
}

// ResolveDispute closes a dispute (an analyst of another organisation).
func (c *Client) ResolveDispute(ctx context.Context, id string, req ResolveRequest) (*entries.Dispute, error) {
	var out entries.Dispute
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/disputes/" + segment(id) + "/resolve", body: req}, &out)
	return ptr(&out, err)
}

// Review is an analyst's queue.
type Review struct {
	Disputes   []entries.Dispute `json:"disputes"`
	Entries    []ReviewItem      `json:"entries"`
	NextCursor string            `json:"next_cursor,omitempty"`
	Scanned    int               `json:"scanned"`
}

// ReviewItem is an entry a list is waiting on.
type ReviewItem struct {
	Key     string     `json:"key"`
	Algo    string     `json:"algo"`
	Value   string     `json:"value"`
	Created string     `json:"created"`
	Lists   []ListNeed `json:"lists"`
}

// ListNeed says what one list still needs from an entry.
type ListNeed struct {
	List      string          `json:"list"`
	Shortfall lists.Shortfall `json:"shortfall"`
}

// Review reads the caller's review queue: open disputes their organisation
// may resolve, and entries one assessment short of a list's policy.
func (c *Client) Review(ctx context.Context, cursor string, limit int) (*Review, error) {
	var out Review
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/review", query: page(cursor, limit)}, &out)
	return ptr(&out, err)
}

func page(cursor string, limit int) url.Values {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

func ptr[T any](v *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
