package server_test

// Shared helpers for the HTTP tests: a real node (bbolt file in a temp
// directory, real keys) served by a real HTTP server on 127.0.0.1, users of
// every role created through the API, and tokens from POST /v1/oauth/token.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/server"
	"github.com/hashhub/hashhub/store"
)

// testNode is one running node.
type testNode struct {
	t   *testing.T
	n   *node.Node
	url string
	// admin is the first administrator, created by node.Init.
	admin *principal
}

// principal is a user with credentials and a fresh access token.
type principal struct {
	Role         orgs.Role
	Org          string // organisation id
	User         string // user id
	Jurisdiction string
	ClientID     string
	ClientSecret string
	Token        string
}

// newTestNode initialises a node in a temp directory and serves it.
func newTestNode(t *testing.T) *testNode {
	t.Helper()
	dir := t.TempDir()
	creds, err := node.Init(dir, "node-a", "NL")
	if err != nil {
		t.Fatalf("init node: %v", err)
	}
	n, err := node.Open(dir, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open node: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	srv := httptest.NewServer(n.Server)
	t.Cleanup(srv.Close) // runs before n.Close: cleanups are last in, first out
	tn := &testNode{t: t, n: n, url: srv.URL}
	tn.admin = &principal{Role: orgs.Admin, Jurisdiction: "NL", ClientID: creds.ClientID, ClientSecret: creds.ClientSecret}
	tn.admin.Token = tn.token(creds.ClientID, creds.ClientSecret)
	var me server.Me
	tn.get("/v1/me", tn.admin.Token).decode(t, http.StatusOK, &me)
	tn.admin.Org, tn.admin.User = me.Org, me.User
	return tn
}

var orgSeq atomic.Int64

// newOrg creates an organisation through the API and returns its id.
func (tn *testNode) newOrg(name string, kind orgs.Role, jur string) string {
	tn.t.Helper()
	var o orgs.Org
	tn.postJSON("/v1/orgs", tn.admin.Token, map[string]any{"name": name, "kind": kind, "jurisdiction": jur}).
		decode(tn.t, http.StatusCreated, &o)
	return o.ID
}

// newUser creates a user in org through the API and logs them in.
func (tn *testNode) newUser(org string, role orgs.Role, jur, name string) *principal {
	tn.t.Helper()
	var nu struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	tn.postJSON("/v1/orgs/"+org+"/users", tn.admin.Token, map[string]any{"name": name}).decode(tn.t, http.StatusCreated, &nu)
	p := &principal{Role: role, Org: org, User: nu.User.ID, Jurisdiction: jur, ClientID: nu.ClientID, ClientSecret: nu.ClientSecret}
	p.Token = tn.token(p.ClientID, p.ClientSecret)
	return p
}

// member creates an organisation of the kind with one user.
func (tn *testNode) member(kind orgs.Role, jur string) *principal {
	tn.t.Helper()
	name := fmt.Sprintf("%s %s %d", strings.ReplaceAll(string(kind), "_", " "), jur, orgSeq.Add(1))
	return tn.newUser(tn.newOrg(name, kind, jur), kind, jur, "analyst")
}

// everyRole returns a user of every role: the init admin and one new
// organisation of each other kind.
func (tn *testNode) everyRole() map[orgs.Role]*principal {
	tn.t.Helper()
	out := map[orgs.Role]*principal{orgs.Admin: tn.admin}
	for _, r := range orgs.Roles {
		if r != orgs.Admin {
			out[r] = tn.member(r, "GB")
		}
	}
	return out
}

// token gets an access token with form-field client authentication.
func (tn *testNode) token(id, secret string) string {
	tn.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	r := tn.do(request{method: "POST", path: "/v1/oauth/token", ctype: "application/x-www-form-urlencoded", body: []byte(form.Encode())})
	var tr server.TokenResponse
	r.decode(tn.t, http.StatusOK, &tr)
	if tr.AccessToken == "" {
		tn.t.Fatalf("token response without access_token: %s", r.body)
	}
	return tr.AccessToken
}

// request is one HTTP request to the node.
type request struct {
	method, path string
	token        string
	ctype        string
	body         []byte
	reader       io.Reader // streamed body of unknown length, instead of body
	header       map[string]string
}

// response is a fully read answer.
type response struct {
	status int
	header http.Header
	body   []byte
	req    string // "METHOD path", for messages
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (tn *testNode) do(rq request) *response {
	tn.t.Helper()
	var body io.Reader
	switch {
	case rq.reader != nil:
		body = rq.reader
	case rq.body != nil:
		body = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequest(rq.method, tn.url+rq.path, body)
	if err != nil {
		tn.t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	if rq.reader != nil {
		req.ContentLength = -1 // chunked: the server cannot refuse by length alone
	}
	if rq.ctype != "" {
		req.Header.Set("Content-Type", rq.ctype)
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		tn.t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tn.t.Fatalf("%s %s: read body: %v", rq.method, rq.path, err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b, req: rq.method + " " + rq.path}
}

func (tn *testNode) get(path, token string) *response {
	tn.t.Helper()
	return tn.do(request{method: "GET", path: path, token: token})
}

func (tn *testNode) postJSON(path, token string, v any) *response {
	tn.t.Helper()
	return tn.do(request{method: "POST", path: path, token: token, ctype: "application/json", body: mustJSON(tn.t, v)})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	if b, ok := v.([]byte); ok {
		return b
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decode checks the status and decodes a JSON answer.
func (r *response) decode(t *testing.T, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", r.req, r.status, status, r.body)
	}
	if v == nil {
		return
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: decode %T: %v; body %s", r.req, v, err, r.body)
	}
}

// problem checks that r is an application/problem+json document with the
// status and type (the slug after urn:hashhub:problem:) and returns it.
func (r *response) problem(t *testing.T, status int, slug string) server.Problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", r.req, r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: Content-Type %q, want application/problem+json; body %s", r.req, ct, r.body)
	}
	var p server.Problem
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: not a problem document: %v; body %s", r.req, err, r.body)
	}
	if want := server.ProblemPrefix + slug; p.Type != want {
		t.Fatalf("%s: problem type %q, want %q; body %s", r.req, p.Type, want, r.body)
	}
	if p.Status != status || p.Title == "" {
		t.Fatalf("%s: problem status %d title %q; body %s", r.req, p.Status, p.Title, r.body)
	}
	return p
}

// state is what a refused request must leave untouched.
type state struct {
	AuditSeq  uint64
	AuditHash string
	Entries   int
}

// state reads the audit head and the entry count from the node's bbolt file.
func (tn *testNode) state() state {
	tn.t.Helper()
	var s state
	err := tn.n.DB.View(func(tx *store.Tx) (err error) {
		s.AuditSeq, s.AuditHash, err = tx.AuditHead()
		s.Entries = tx.EntryCount()
		return err
	})
	if err != nil {
		tn.t.Fatal(err)
	}
	return s
}

// auditEvents reads the whole audit chain as the admin, through the API.
func (tn *testNode) auditEvents() []server.AuditPage {
	tn.t.Helper()
	var pages []server.AuditPage
	cursor := ""
	for {
		var p server.AuditPage
		tn.get("/v1/audit?limit=1000&cursor="+cursor, tn.admin.Token).decode(tn.t, http.StatusOK, &p)
		pages = append(pages, p)
		if p.NextCursor == "" {
			return pages
		}
		cursor = p.NextCursor
	}
}

// auditActions lists the actions of every audit event, in order.
func (tn *testNode) auditActions() []string {
	tn.t.Helper()
	var out []string
	for _, p := range tn.auditEvents() {
		for _, e := range p.Events {
			out = append(out, e.Action)
		}
	}
	return out
}

// unchanged fails the test if anything was written since before.
func (tn *testNode) unchanged(t *testing.T, before state, what string) {
	t.Helper()
	if after := tn.state(); after != before {
		t.Fatalf("%s wrote to the store: before %+v, after %+v", what, before, after)
	}
}

// sha256Hex returns a fresh, random sha256 value.
func sha256Hex() string {
	var b [32]byte
	rand.Read(b[:])
	s := sha256.Sum256(b[:])
	return hex.EncodeToString(s[:])
}
