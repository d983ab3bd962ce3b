// Package client is a typed Go client for a hashhub node's REST API (/v1).
// hashctl is built on it, and tests of other packages can reuse it.
//
// Authentication is OAuth 2.0 client credentials through
// golang.org/x/oauth2/clientcredentials, unmodified: its http.Client fetches
// a token on first use, caches it and fetches a new one when it expires.
//
// Requests that create something carry an Idempotency-Key (random per call,
// or the caller's, see [WithIdempotencyKey]), so a call that is retried after
// a lost connection or a 502/503/504 cannot create twice. Retries reuse the
// key, back off exponentially, and stop after [Config.Tries] attempts.
// A streamed import is never retried: its body cannot be sent twice.
//
// Errors from the node are *[Problem] (RFC 9457); a refused token request
// is *[AuthError]; a node that cannot be reached is *[NetError].
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Defaults, exported so that flag help can show them.
const (
	DefaultServer = "http://127.0.0.1:8080"
	// DefaultTries is how many times a retryable request is attempted.
	DefaultTries = 3
	// DefaultBackoff is the wait before the second attempt; it doubles for
	// each further one (with ±20% jitter).
	DefaultBackoff = 500 * time.Millisecond
	// DefaultTimeout bounds each attempt of an ordinary request (not of a
	// streamed import, which takes as long as its body).
	DefaultTimeout = time.Minute
	// DefaultTokenTimeout bounds a token request.
	DefaultTokenTimeout = 30 * time.Second
	// MaxRetryAfter is the longest Retry-After (429, 503) the client waits
	// out; a longer one is returned to the caller as the error.
	MaxRetryAfter = 30 * time.Second
	// TokenPath is the node's OAuth 2.0 token endpoint.
	TokenPath = "/v1/oauth/token"
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 1 << 20

// Config configures a Client.
type Config struct {
	// Server is the node's base URL, e.g. https://hub.example.org (a path
	// prefix is kept). Empty means DefaultServer.
	Server string
	// ClientID and ClientSecret are the user's client credentials.
	ClientID, ClientSecret string
	// Transport is the base transport; nil means a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// UserAgent is sent with every request.
	UserAgent string
	// Tries is the number of attempts of a retryable request; 0 means
	// DefaultTries, 1 turns retries off.
	Tries int
	// Backoff is the wait before the second attempt; 0 means DefaultBackoff.
	Backoff time.Duration
	// Timeout bounds each attempt of a non-streamed request; 0 means
	// DefaultTimeout, negative means none.
	Timeout time.Duration
	// IdleTimeout bounds how long the body of any answer may make no
	// progress: a read that brings less than MinProgress bytes, and not
	// the end, within it fails with ErrStalled (so does a long poll not
	// answered within its wait and IdleTimeout). 0 means
	// DefaultIdleTimeout, negative means none.
	IdleTimeout time.Duration
}

// Client calls one node as one user. It is safe for concurrent use.
type Client struct {
	server  string // base URL without a trailing slash
	hc      *http.Client
	tries   int
	backoff time.Duration
	timeout time.Duration
	idle    time.Duration // the body idle timeout; 0: none
}

// ErrNoCredentials is returned by New when the client id or secret is empty.
var ErrNoCredentials = errors.New("no client credentials")

// New returns a client for cfg. It does not contact the node; the first
// call fetches a token.
func New(cfg Config) (*Client, error) {
	server, err := NormalizeServer(cfg.Server)
	if err != nil {
		return nil, err
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, ErrNoCredentials
	}
	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	tokenURL := server + TokenPath
	idle := idleTimeout(cfg.IdleTimeout)
	base = &baseTransport{next: base, userAgent: cfg.UserAgent, tokenURL: tokenURL, tokenTimeout: DefaultTokenTimeout, idle: idle}
	cc := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     tokenURL,
		// The node accepts both styles; HTTP Basic (RFC 6749 §2.3.1) is the
		// one it must accept, and naming it avoids auto-detection sending
		// a second token request after a refusal.
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	// The clientcredentials http.Client makes every call: it fetches and
	// caches tokens with the context's client and sends API requests
	// through the same base transport.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: base})
	return newClient(server, cc.Client(ctx), cfg.Tries, cfg.Backoff, cfg.Timeout, idle), nil
}

// idleTimeout is the body idle timeout configured as d (0: the default,
// negative: none, returned as 0).
func idleTimeout(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultIdleTimeout
	case d < 0:
		return 0
	}
	return d
}

// newClient makes a client of the node at server that calls through hc,
// with the given retries, backoff and timeout, or their defaults, and
// the body idle timeout idle (0: none) its transport applies.
func newClient(server string, hc *http.Client, tries int, backoff, timeout, idle time.Duration) *Client {
	c := &Client{server: server, hc: hc, tries: tries, backoff: backoff, timeout: timeout, idle: idle}
	if c.tries <= 0 {
		c.tries = DefaultTries
	}
	if c.backoff <= 0 {
		c.backoff = DefaultBackoff
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	return c
}

// Server is the node's base URL as the client uses it.
func (c *Client) Server() string { return c.server }

// NormalizeServer checks a node's base URL and drops a trailing slash.
func NormalizeServer(s string) (string, error) {
	if s == "" {
		s = DefaultServer
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("server %q: want an http:// or https:// base URL such as %s", s, DefaultServer)
	}
	if u.User != nil {
		return "", fmt.Errorf("server %q: do not put credentials in the URL", u.Redacted())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// baseTransport sets the User-Agent, bounds token requests in time (the
// oauth2 token source fetches with a context of its own, so a request's
// context does not reach it) and watches every answer's body for progress
// (see idleBody). API requests are otherwise bounded by their context.
type baseTransport struct {
	next         http.RoundTripper
	userAgent    string
	tokenURL     string
	tokenTimeout time.Duration
	idle         time.Duration // 0: bodies are not watched
}

func (t *baseTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.userAgent != "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.userAgent)
	}
	token := req.Method == http.MethodPost && req.URL.String() == t.tokenURL
	if !token && t.idle <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithCancel(req.Context())
	if token {
		ctx, cancel = context.WithTimeout(req.Context(), t.tokenTimeout)
	}
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	if t.idle > 0 {
		resp.Body = newIdleBody(resp.Body, t.idle, req.Method+" "+req.URL.Path, cancel)
	} else {
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// Problem is an RFC 9457 problem document from the node.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field names the request field at fault, when there is one.
	Field string `json:"field,omitempty"`
	// Errors lists per-line problems of an import.
	Errors []LineError `json:"errors,omitempty"`
	// Raw is the document as received.
	Raw json.RawMessage `json:"-"`
}

// ProblemPrefix starts every problem type the node sends.
const ProblemPrefix = "urn:hashhub:problem:"

// Problem kinds a caller may want to tell apart (the node's docs list all).
const (
	KindInvalid             = "invalid-input"
	KindImportRejected      = "import-rejected"
	KindUnauthorized        = "unauthorized"
	KindInvalidToken        = "invalid-token"
	KindForbidden           = "forbidden"
	KindNotFound            = "not-found"
	KindExists              = "already-exists"
	KindIdempotencyInFlight = "idempotency-key-in-flight"
	// KindReplayWithheld: an earlier request with the key succeeded, but
	// its answer held a secret the node did not keep (users create).
	KindReplayWithheld = "idempotency-replay-withheld"
)

func (p *Problem) Error() string {
	if p.Detail == "" {
		return p.Title
	}
	return p.Title + ": " + p.Detail
}

// Kind is the problem type without ProblemPrefix, e.g. "not-found".
func (p *Problem) Kind() string { return strings.TrimPrefix(p.Type, ProblemPrefix) }

// LineError is one rejected line of an import.
type LineError struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (e LineError) String() string {
	if e.Field != "" && !strings.HasPrefix(e.Reason, e.Field+":") {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Reason)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// AuthError is the token endpoint's refusal (RFC 6749 §5.2).
type AuthError struct {
	Status      int
	Code        string // e.g. invalid_client
	Description string
}

func (e *AuthError) Error() string {
	switch {
	case e.Code == "invalid_client":
		return "authentication failed: the node does not know this client id and secret"
	case e.Code != "" && e.Description != "":
		return fmt.Sprintf("authentication failed: %s (%s)", e.Description, e.Code)
	case e.Code != "":
		return "authentication failed: " + e.Code
	}
	return fmt.Sprintf("authentication failed: the token endpoint answered HTTP %d; is the server a hashhub node?", e.Status)
}

// NetError means the node could not be reached or the connection broke.
type NetError struct {
	Server string
	Err    error
}

func (e *NetError) Error() string {
	if errors.Is(e.Err, ErrStalled) {
		// It was reached, and then stopped answering.
		return fmt.Sprintf("%s: %v", e.Server, e.Err)
	}
	return fmt.Sprintf("cannot reach %s: %v", e.Server, e.Err)
}
func (e *NetError) Unwrap() error { return e.Err }

// Context options.
type ctxKey int

const (
	idemKeyCtx ctxKey = iota
	rawCtx
)

// WithIdempotencyKey makes creating calls made with ctx send key instead
// of a fresh random one, e.g. to make a retry across program runs safe.
// The node scopes a key to the user and route and refuses it for a
// different request, so give each logical request a key of its own.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idemKeyCtx, key)
}

// CaptureBody makes calls made with ctx store the raw body of their
// successful response in *dst (for printing it as received).
func CaptureBody(ctx context.Context, dst *[]byte) context.Context {
	return context.WithValue(ctx, rawCtx, dst)
}

// NewIdempotencyKey returns a random key.
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}

// call describes one API request.
type call struct {
	method string
	path   string // already escaped
	query  url.Values
	body   any // encoded as JSON
	// creates marks a creating POST: it carries an Idempotency-Key and is
	// retried like a read.
	creates bool
	// stream, when set, is the body (never retried).
	stream      io.Reader
	contentType string
	size        int64 // of stream; -1 unknown
}

// do sends c and decodes a 2xx answer into out (if not nil). It returns
// the HTTP status.
func (c *Client) do(ctx context.Context, cl call, out any) (int, error) {
	var payload []byte
	if cl.body != nil {
		var err error
		if payload, err = json.Marshal(cl.body); err != nil {
			return 0, err
		}
	}
	key := ""
	if cl.creates {
		key, _ = ctx.Value(idemKeyCtx).(string)
		if key == "" {
			key = NewIdempotencyKey()
		}
	}
	u := c.server + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	wait := c.backoff
	for attempt := 1; ; attempt++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if cl.stream == nil && c.timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, c.timeout)
		}
		status, retry, after, err := c.attempt(actx, cl, u, payload, key, out)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrStalled) && ctx.Err() == nil {
			err = c.noAnswer(c.timeout)
		}
		if err == nil {
			return status, nil
		}
		if !retry || attempt >= c.tries || ctx.Err() != nil {
			return status, err
		}
		d := jitter(wait)
		if after > 0 {
			d = after
		}
		select {
		case <-ctx.Done():
			return status, err
		case <-time.After(d):
		}
		wait *= 2
	}
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*mrand.Float64()))
}

// attempt makes one request. retry reports whether the error is one a
// retry may cure and a retry is safe; after is the Retry-After, if any.
func (c *Client) attempt(ctx context.Context, cl call, u string, payload []byte, key string, out any) (status int, retry bool, after time.Duration, err error) {
	var body io.Reader
	switch {
	case cl.stream != nil:
		body = cl.stream
	case payload != nil:
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return 0, false, 0, err
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	switch {
	case cl.stream != nil:
		req.Header.Set("Content-Type", cl.contentType)
		req.ContentLength = cl.size
		if cl.size == 0 {
			req.Body = http.NoBody
		}
		// Let the node refuse (credentials, content type, size) before
		// the body is sent.
		req.Header.Set("Expect", "100-continue")
	case payload != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	// Reads and keyed creating requests may be repeated; others only when
	// they certainly never reached the node.
	safe := cl.stream == nil && (cl.method == http.MethodGet || cl.creates)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, cl.stream == nil && retryable(err, safe), 0, c.transportError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			return resp.StatusCode, safe, 0, &NetError{Server: c.server, Err: fmt.Errorf("reading the answer: %w", err)}
		}
		if dst, ok := ctx.Value(rawCtx).(*[]byte); ok {
			*dst = raw
		}
		if out != nil && len(raw) > 0 {
			if err := json.Unmarshal(raw, out); err != nil {
				return resp.StatusCode, false, 0, fmt.Errorf("the node's answer to %s %s is not the JSON expected: %w", cl.method, cl.path, err)
			}
		}
		return resp.StatusCode, false, 0, nil
	}
	p := readProblem(resp)
	after = retryAfter(resp)
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		// Refused before any work was done: always safe to repeat.
		retry = cl.stream == nil && after <= MaxRetryAfter
	case http.StatusServiceUnavailable:
		retry = safe && after <= MaxRetryAfter
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		retry, after = safe, 0
	case http.StatusConflict:
		// A first attempt with this key is still being worked on.
		retry, after = cl.creates && key != "" && p.Kind() == KindIdempotencyInFlight, 0
	}
	return resp.StatusCode, retry, after, p
}

// readProblem decodes an error answer; one that is not problem+json
// becomes a Problem with the HTTP status text as its title.
func readProblem(resp *http.Response) *Problem {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	p := &Problem{}
	if (mt == "application/problem+json" || mt == "application/json") && json.Unmarshal(raw, p) == nil && p.Title != "" {
		p.Raw = raw
		if p.Status == 0 {
			p.Status = resp.StatusCode
		}
		return p
	}
	p = &Problem{Title: http.StatusText(resp.StatusCode), Status: resp.StatusCode}
	if p.Title == "" {
		p.Title = "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	if s := strings.TrimSpace(string(raw)); s != "" && mt != "text/html" {
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		p.Detail = s
	}
	raw, _ = json.Marshal(p)
	p.Raw = raw
	return p
}

func retryAfter(resp *http.Response) time.Duration {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}

// transportError turns an error from http.Client.Do into an AuthError
// (token refused) or a NetError.
func (c *Client) transportError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		ae := &AuthError{Code: re.ErrorCode, Description: re.ErrorDescription}
		if re.Response != nil {
			ae.Status = re.Response.StatusCode
		}
		return ae
	}
	// A failed token request is wrapped twice (the token request's and the
	// API request's *url.Error); the innermost cause is the useful part.
	for {
		var ue *url.Error
		if !errors.As(err, &ue) {
			break
		}
		err = ue.Err
	}
	return &NetError{Server: c.server, Err: err}
}

// retryable reports whether a failed request may be repeated: a request
// that certainly never reached the node always may (no connection was
// made, or its token could not be fetched because the token endpoint was
// briefly unavailable); any other only if it is safe to repeat. A refused
// token (bad credentials) is never retried.
func retryable(err error, safe bool) bool {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response == nil {
			return false
		}
		switch re.Response.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	return safe
}
