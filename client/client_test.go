package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeNode is an httptest server with a token endpoint; api answers the
// rest. It records every API request.
type fakeNode struct {
	*httptest.Server
	mu       sync.Mutex
	tokens   int
	requests []seen
}

type seen struct {
	method, path, rawPath, key, contentType, body, auth string
	contentLength                                       int64
}

func newFake(t *testing.T, api func(w http.ResponseWriter, r *http.Request, attempt int)) *fakeNode {
	t.Helper()
	f := &fakeNode{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == TokenPath {
			f.mu.Lock()
			f.tokens++
			f.mu.Unlock()
			id, secret, _ := r.BasicAuth()
			// RFC 6749 §2.3.1: form-url-encoded before Basic encoding.
			id, _ = url.QueryUnescape(id)
			secret, _ = url.QueryUnescape(secret)
			w.Header().Set("Content-Type", "application/json")
			if id != "id" || secret != "s3cret+/=" {
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":"invalid_client","error_description":"client authentication failed"}`)
				return
			}
			io.WriteString(w, `{"access_token":"tok","token_type":"Bearer","expires_in":900}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, seen{r.Method, r.URL.Path, r.URL.RawPath, r.Header.Get("Idempotency-Key"),
			r.Header.Get("Content-Type"), string(body), r.Header.Get("Authorization"), r.ContentLength})
		n := len(f.requests)
		f.mu.Unlock()
		api(w, r, n)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeNode) seen() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.requests...)
}

func (f *fakeNode) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(Config{Server: f.URL + "/", ClientID: "id", ClientSecret: "s3cret+/=", Backoff: time.Millisecond, UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func problem(w http.ResponseWriter, status int, kind, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Problem{Type: ProblemPrefix + kind, Title: http.StatusText(status), Status: status, Detail: detail})
}

func created(w http.ResponseWriter, v string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, v)
}

// A creating POST is retried after 503 and a dropped connection, with the
// same Idempotency-Key and body.
func TestRetryKeepsIdempotencyKey(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 1:
			problem(w, http.StatusServiceUnavailable, "unavailable", "busy")
		case 2:
			// Drop the connection without an answer.
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		default:
			created(w, `{"id":"org_1","name":"H","kind":"hotline","jurisdiction":"NL"}`)
		}
	})
	o, err := f.client(t).CreateOrg(context.Background(), CreateOrgRequest{Name: "H", Kind: "hotline", Jurisdiction: "NL"})
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "org_1" {
		t.Errorf("org %+v", o)
	}
	s := f.seen()
	if len(s) != 3 {
		t.Fatalf("%d attempts, want 3", len(s))
	}
	if s[0].key == "" || s[1].key != s[0].key || s[2].key != s[0].key {
		t.Errorf("keys %q %q %q: want one non-empty key", s[0].key, s[1].key, s[2].key)
	}
	if s[2].body != s[0].body || !strings.Contains(s[0].body, `"kind":"hotline"`) || s[0].contentType != "application/json" {
		t.Errorf("bodies %q / %q (%s)", s[0].body, s[2].body, s[0].contentType)
	}
	if s[0].auth != "Bearer tok" {
		t.Errorf("Authorization %q", s[0].auth)
	}
	if f.tokens != 1 {
		t.Errorf("%d token requests, want 1 (cached)", f.tokens)
	}
}

// Retries stop after Tries attempts and return the node's problem.
func TestRetryGivesUp(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html>proxy error</html>")
	})
	_, err := f.client(t).Lists(context.Background())
	var p *Problem
	if !errors.As(err, &p) || p.Status != http.StatusBadGateway || p.Title != "Bad Gateway" || p.Detail != "" {
		t.Fatalf("err %#v", err)
	}
	if n := len(f.seen()); n != DefaultTries {
		t.Errorf("%d attempts, want %d", n, DefaultTries)
	}
}

// Requests that must not be repeated are sent once: a streamed import,
// and a POST the node keeps no idempotency record for.
func TestNoRetry(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		problem(w, http.StatusServiceUnavailable, "unavailable", "busy")
	})
	c := f.client(t)
	body := strings.NewReader("{\"algo\":\"md5\",\"value\":\"00\"}\n")
	_, err := c.Import(context.Background(), body, FormatNDJSON, body.Size())
	var p *Problem
	if !errors.As(err, &p) || p.Status != http.StatusServiceUnavailable {
		t.Fatalf("import err %v", err)
	}
	s := f.seen()
	if len(s) != 1 {
		t.Fatalf("import: %d attempts, want 1", len(s))
	}
	if s[0].contentType != "application/x-ndjson" || s[0].contentLength != 28 || s[0].key == "" || !strings.HasPrefix(s[0].body, "{\"algo\"") {
		t.Errorf("import request %+v", s[0])
	}
	if _, err := c.Retract(context.Background(), "md5", "00", "why"); err == nil {
		t.Fatal("retract: no error")
	}
	if _, err := c.ResolveDispute(context.Background(), "dsp_1", ResolveRequest{"upheld", "ok"}); err == nil {
		t.Fatal("resolve: no error")
	}
	if s := f.seen(); len(s) != 3 || s[1].key != "" || s[2].key != "" {
		t.Errorf("retract and resolve: %d requests (%+v), want one each without a key", len(s), s[1:])
	}
}

// Refused credentials are an AuthError, asked once.
func TestBadCredentials(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { t.Error("API called without a token") })
	c, err := New(Config{Server: f.URL, ClientID: "id", ClientSecret: "wrong", Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Me(context.Background())
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Code != "invalid_client" || ae.Status != http.StatusUnauthorized {
		t.Fatalf("err %#v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error reveals the secret: %v", err)
	}
	if f.tokens != 1 {
		t.Errorf("%d token requests, want 1", f.tokens)
	}
}

// 429 with Retry-After, and 409 idempotency-key-in-flight, are retried.
func TestRetryAfterAndInFlight(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "0")
			problem(w, http.StatusTooManyRequests, "rate-limited", "slow down")
		case 2:
			problem(w, http.StatusConflict, KindIdempotencyInFlight, "retry later")
		default:
			created(w, `{"id":"fb_1","kind":"false_positive","dispute":"dsp_1"}`)
		}
	})
	fb, err := f.client(t).Feedback(context.Background(), "sha256", "ab", FeedbackRequest{Kind: "false_positive"})
	if err != nil || fb.Dispute != "dsp_1" {
		t.Fatalf("feedback %+v, %v", fb, err)
	}
	if n := len(f.seen()); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	// A 409 of any other kind is an answer, not a reason to retry.
	g := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		problem(w, http.StatusConflict, KindExists, `organisation "H"`)
	})
	_, err = g.client(t).CreateOrg(context.Background(), CreateOrgRequest{Name: "H"})
	var p *Problem
	if !errors.As(err, &p) || p.Kind() != KindExists || p.Error() != `Conflict: organisation "H"` {
		t.Fatalf("err %v", err)
	}
	if n := len(g.seen()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

// Keys are fresh per call unless the context names one.
func TestIdempotencyKeys(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		created(w, `{"algo":"md5","value":"00","key":"md5:00","status":"active"}`)
	})
	c := f.client(t)
	ctx := context.Background()
	for range 2 {
		if _, _, err := c.Submit(ctx, SubmitRequest{Algo: "md5", Value: "00"}); err != nil {
			t.Fatal(err)
		}
	}
	kctx := WithIdempotencyKey(ctx, "my-key")
	_, created, err := c.Submit(kctx, SubmitRequest{Algo: "md5", Value: "00"})
	if err != nil || !created {
		t.Fatalf("submit: %v created=%v", err, created)
	}
	s := f.seen()
	if s[0].key == s[1].key || s[2].key != "my-key" {
		t.Errorf("keys %q %q %q", s[0].key, s[1].key, s[2].key)
	}
	// Reads carry no key.
	if _, err := c.Entry(kctx, "md5", "00"); err != nil {
		t.Fatal(err)
	}
	if k := f.seen()[3].key; k != "" {
		t.Errorf("GET sent key %q", k)
	}
}

// Path values are escaped so '/' and '+' of base64 reach the node intact.
func TestPathEscaping(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"entry":{"algo":"photodna","value":"a+b/c=="},"status":"active","feedback":[],"disputes":[]}`)
	})
	var raw []byte
	h, err := f.client(t).History(CaptureBody(context.Background(), &raw), "photodna", "a+b/c==")
	if err != nil {
		t.Fatal(err)
	}
	s := f.seen()[0]
	if s.rawPath != "/v1/hashes/photodna/a%2Bb%2Fc==/history" || s.path != "/v1/hashes/photodna/a+b/c==/history" {
		t.Errorf("path %q raw %q", s.path, s.rawPath)
	}
	if h.Entry.Value != "a+b/c==" || !strings.HasPrefix(string(raw), `{"entry"`) {
		t.Errorf("history %+v raw %s", h, raw)
	}
}

// An unreachable node is a NetError naming the server, retried (nothing
// was sent) and then given up.
func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	c, err := New(Config{Server: addr, ClientID: "id", ClientSecret: "s", Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Me(context.Background())
	var ne *NetError
	if !errors.As(err, &ne) || ne.Server != addr || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(err.Error(), "oauth") {
		t.Errorf("error shows a wrapped token URL: %v", err)
	}
}

func TestNormalizeServer(t *testing.T) {
	for in, want := range map[string]string{
		"":                           DefaultServer,
		"https://hub.example.org/":   "https://hub.example.org",
		"http://10.0.0.1:8080/hub//": "http://10.0.0.1:8080/hub",
	} {
		if got, err := NormalizeServer(in); err != nil || got != want {
			t.Errorf("NormalizeServer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"hub.example.org", "ftp://x", "https://u:p@x", "http://x/?a=b", "http://"} {
		if _, err := NormalizeServer(bad); err == nil {
			t.Errorf("NormalizeServer(%q): no error", bad)
		}
	}
	if _, err := New(Config{Server: "http://x"}); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("New without credentials: %v", err)
	}
}

// An attempt that gets no answer in time is abandoned; a read is retried.
func TestAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"user":"usr_1","org":"org_1","role":"hotline","jurisdiction":"NL"}`)
	})
	c, err := New(Config{Server: f.URL, ClientID: "id", ClientSecret: "s3cret+/=", Backoff: time.Millisecond, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	me, err := c.Me(context.Background())
	if err != nil || me.Role != "hotline" {
		t.Fatalf("me %+v, %v", me, err)
	}
	c.tries = 1
	f.mu.Lock()
	f.requests = nil
	f.mu.Unlock()
	_, err = c.Me(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Fatalf("err %v", err)
	}
}
