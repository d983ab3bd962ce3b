package server_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hashhub/hashhub/auth"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/server"
)

// TestPeersAndAssertions registers a second real node as a peer and lets
// it authenticate with RFC 7523 client assertions signed by its node key.
func TestPeersAndAssertions(t *testing.T) {
	a := newTestNode(t)
	dirB := t.TempDir()
	if _, err := node.Init(dirB, "node-b", "GB"); err != nil {
		t.Fatal(err)
	}
	b, err := node.Open(dirB, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srvB := httptest.NewServer(b.Server)
	defer srvB.Close()
	var keysB server.Keys
	res, err := http.Get(srvB.URL + "/v1/keys")
	if err != nil {
		t.Fatal(err)
	}
	decodeBody(t, res, &keysB)

	peer := map[string]any{"id": "node-b", "name": "Hotline GB", "jurisdiction": "GB", "base_url": srvB.URL + "/",
		"node_key_pem": keysB.NodeKeyPEM, "release_key_pem": keysB.ReleaseKeyPEM, "log_key": keysB.LogVerifierKey,
		"lists": []string{"verified"}, "routed_jurisdictions": []string{"gb"}}
	// Bad registrations change nothing.
	before := a.state()
	for field, bad := range map[string]any{
		"id":              "node-a",
		"base_url":        "ftp://x",
		"node_key_pem":    keysB.ReleaseKeyPEM, // ECDSA, not Ed25519
		"release_key_pem": "garbage",
		"log_key":         strings.Replace(keysB.LogVerifierKey, "node-b", "node-c", 1),
		"jurisdiction":    "EU",
	} {
		p := clone(peer)
		p[field] = bad
		pr := a.postJSON("/v1/peers", a.admin.Token, p).problem(t, http.StatusUnprocessableEntity, "invalid-input")
		if pr.Field != field {
			t.Errorf("bad %s: problem names %q", field, pr.Field)
		}
	}
	a.unchanged(t, before, "refused peer registrations")
	var got peers.Peer
	a.postJSON("/v1/peers", a.admin.Token, peer).decode(t, http.StatusCreated, &got)
	if got.BaseURL != srvB.URL || got.Org == "" || got.CountAs.Org != "Hotline GB" || got.RoutedJurisdictions[0] != "GB" {
		t.Fatalf("registered: %+v", got)
	}
	a.postJSON("/v1/peers", a.admin.Token, peer).problem(t, http.StatusConflict, "already-exists")
	a.postJSON("/v1/lists", a.admin.Token, map[string]any{"name": "shared", "policy": map[string]any{"min_assessments": 1},
		"readers": map[string]any{"roles": []string{"peer"}}}).decode(t, http.StatusCreated, nil)

	tokenReq := func(assertion string) *http.Response {
		form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {auth.AssertionType}, "client_assertion": {assertion}}
		r, err := http.PostForm(a.url+"/v1/oauth/token", form)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	now := time.Now()
	good, _ := auth.NewAssertion(b.Keys.Token, "node-b", "node-a", now)
	r := tokenReq(good)
	var tok server.TokenResponse
	decodeBody(t, r, &tok)
	if r.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("peer token: %d", r.StatusCode)
	}
	var me server.Me
	a.get("/v1/me", tok.AccessToken).decode(t, http.StatusOK, &me)
	if me.Role != "peer" || me.Org != got.Org || me.User != "peer:node-b" {
		t.Fatalf("peer acts as %+v", me)
	}
	a.get("/v1/lists/shared", tok.AccessToken).decode(t, http.StatusOK, nil)
	a.get("/v1/orgs", tok.AccessToken).problem(t, http.StatusForbidden, "forbidden")

	// Refused assertions.
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	claims := func(mut func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
		c := jwt.RegisteredClaims{Issuer: "node-b", Subject: "node-b", Audience: jwt.ClaimStrings{auth.Issuer("node-a")},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)), ID: "jti-" + t.Name()}
		mut(&c)
		return c
	}
	sign := func(c jwt.RegisteredClaims, key ed25519.PrivateKey) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(func(c *jwt.RegisteredClaims) { c.ID = "hs" })).
		SignedString([]byte(keysB.NodeKeyPEM))
	for name, bad := range map[string]string{
		"replayed":    good,
		"another key": sign(claims(func(c *jwt.RegisteredClaims) { c.ID = "k" }), otherKey),
		"expired": sign(claims(func(c *jwt.RegisteredClaims) {
			c.ID = "e"
			c.IssuedAt = jwt.NewNumericDate(now.Add(-time.Hour))
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-50 * time.Minute))
		}), b.Keys.Token),
		"long-lived":     sign(claims(func(c *jwt.RegisteredClaims) { c.ID = "l"; c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour)) }), b.Keys.Token),
		"other audience": sign(claims(func(c *jwt.RegisteredClaims) { c.ID = "a"; c.Audience = jwt.ClaimStrings{auth.Issuer("node-c")} }), b.Keys.Token),
		"sub differs":    sign(claims(func(c *jwt.RegisteredClaims) { c.ID = "s"; c.Subject = "node-x" }), b.Keys.Token),
		"unknown peer":   sign(claims(func(c *jwt.RegisteredClaims) { c.ID = "u"; c.Issuer, c.Subject = "node-x", "node-x" }), b.Keys.Token),
		"no jti":         sign(claims(func(c *jwt.RegisteredClaims) { c.ID = "" }), b.Keys.Token),
		"HS256":          hs,
		"garbage":        "not.a.jwt",
	} {
		r := tokenReq(bad)
		var e server.TokenError
		decodeBody(t, r, &e)
		if r.StatusCode != http.StatusUnauthorized || e.Error != "invalid_client" {
			t.Errorf("%s: %d %+v", name, r.StatusCode, e)
		}
	}
	// Pausing stops syncing, not authentication; removal ends both.
	a.do(request{method: "POST", path: "/v1/peers/node-b/pause", token: a.admin.Token}).decode(t, http.StatusOK, &got)
	if !got.Paused {
		t.Fatal("not paused")
	}
	again, _ := auth.NewAssertion(b.Keys.Token, "node-b", "node-a", now)
	if r := tokenReq(again); r.StatusCode != http.StatusOK {
		t.Fatalf("paused peer refused: %d", r.StatusCode)
	}
	a.do(request{method: "DELETE", path: "/v1/peers/node-b", token: a.admin.Token}).decode(t, http.StatusNoContent, nil)
	last, _ := auth.NewAssertion(b.Keys.Token, "node-b", "node-a", now)
	if r := tokenReq(last); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("removed peer authenticated: %d", r.StatusCode)
	}
	a.get("/v1/peers/node-b", a.admin.Token).problem(t, http.StatusNotFound, "not-found")
}

func clone(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func decodeBody(t *testing.T, r *http.Response, v any) {
	t.Helper()
	defer r.Body.Close()
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", r.Request.URL, err)
	}
}
