package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/hashhub/hashhub/auth"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/server"
)

// tokenRequest posts to the token endpoint with optional Basic credentials.
func (tn *testNode) tokenRequest(ctype, body string, basicID, basicSecret string) *response {
	tn.t.Helper()
	h := map[string]string{}
	if basicID != "" || basicSecret != "" {
		h["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(basicID+":"+basicSecret))
	}
	return tn.do(request{method: "POST", path: "/v1/oauth/token", ctype: ctype, body: []byte(body), header: h})
}

// oauthError checks an RFC 6749 §5.2 error answer.
func oauthError(t *testing.T, r *response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var e server.TokenError
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("decode token error: %v; body %s", err, r.body)
	}
	if e.Error != code {
		t.Fatalf("error %q, want %q; body %s", e.Error, code, r.body)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store", got)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("401 without WWW-Authenticate: Basic; headers %v", r.header)
	}
}

func TestTokenEndpoint(t *testing.T) {
	tn := newTestNode(t)
	id, secret := tn.admin.ClientID, tn.admin.ClientSecret
	const form = "application/x-www-form-urlencoded"
	grant := url.Values{"grant_type": {"client_credentials"}}.Encode()
	creds := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()

	ok := func(t *testing.T, r *response) {
		t.Helper()
		var tr server.TokenResponse
		r.decode(t, http.StatusOK, &tr)
		if tr.AccessToken == "" || tr.TokenType != "Bearer" || tr.ExpiresIn != int(auth.DefaultTokenTTL.Seconds()) {
			t.Fatalf("token response %+v", tr)
		}
		if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
			t.Fatalf("token response is cacheable: %v", r.header)
		}
		var me server.Me
		tn.get("/v1/me", tr.AccessToken).decode(t, http.StatusOK, &me)
		if me.User != tn.admin.User || me.Org != tn.admin.Org || me.Role != "admin" || me.Jurisdiction != "NL" {
			t.Fatalf("me = %+v", me)
		}
	}

	t.Run("basic", func(t *testing.T) {
		ok(t, tn.tokenRequest(form, grant, url.QueryEscape(id), url.QueryEscape(secret)))
	})
	t.Run("basic credentials are form-url-encoded", func(t *testing.T) {
		// RFC 6749 §2.3.1: the id and secret are form-url-encoded before
		// Basic encoding, so an escaped character must be decoded.
		escaped := fmt.Sprintf("%%%02X", id[0]) + id[1:]
		ok(t, tn.tokenRequest(form, grant, escaped, url.QueryEscape(secret)))
	})
	t.Run("form fields", func(t *testing.T) {
		ok(t, tn.tokenRequest(form, creds, "", ""))
	})
	t.Run("form content type with charset", func(t *testing.T) {
		ok(t, tn.tokenRequest(form+"; charset=utf-8", creds, "", ""))
	})
	t.Run("wrong secret", func(t *testing.T) {
		oauthError(t, tn.tokenRequest(form, grant, id, secret+"x"), http.StatusUnauthorized, "invalid_client")
		bad := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"hhs_wrong"}}.Encode()
		oauthError(t, tn.tokenRequest(form, bad, "", ""), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("unknown client", func(t *testing.T) {
		oauthError(t, tn.tokenRequest(form, grant, "hh_000000000000000000000000", secret), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("no credentials", func(t *testing.T) {
		oauthError(t, tn.tokenRequest(form, grant, "", ""), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("missing grant_type", func(t *testing.T) {
		oauthError(t, tn.tokenRequest(form, "", id, secret), http.StatusBadRequest, "invalid_request")
	})
	t.Run("other grant_type", func(t *testing.T) {
		for _, g := range []string{"password", "authorization_code", "urn:ietf:params:oauth:grant-type:jwt-bearer"} {
			oauthError(t, tn.tokenRequest(form, url.Values{"grant_type": {g}}.Encode(), id, secret), http.StatusBadRequest, "unsupported_grant_type")
		}
	})
	t.Run("grant_type twice", func(t *testing.T) {
		oauthError(t, tn.tokenRequest(form, grant+"&"+grant, id, secret), http.StatusBadRequest, "invalid_request")
	})
	t.Run("json body", func(t *testing.T) {
		body := `{"grant_type":"client_credentials","client_id":"` + id + `","client_secret":"` + secret + `"}`
		oauthError(t, tn.tokenRequest("application/json", body, "", ""), http.StatusBadRequest, "invalid_request")
	})
	t.Run("basic and form credentials", func(t *testing.T) {
		oauthError(t, tn.tokenRequest(form, creds, id, secret), http.StatusBadRequest, "invalid_request")
	})
	t.Run("body too large", func(t *testing.T) {
		big := creds + "&note=" + strings.Repeat("a", int(server.DefaultMaxBody))
		oauthError(t, tn.tokenRequest(form, big, "", ""), http.StatusRequestEntityTooLarge, "invalid_request")
	})
}

// TestOAuth2ClientCompatibility uses golang.org/x/oauth2's client
// credentials flow, unmodified, against the real server.
func TestOAuth2ClientCompatibility(t *testing.T) {
	tn := newTestNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"auto-detect", oauth2.AuthStyleAutoDetect},
		{"in header", oauth2.AuthStyleInHeader},
		{"in params", oauth2.AuthStyleInParams},
	} {
		t.Run(style.name, func(t *testing.T) {
			cfg := clientcredentials.Config{ClientID: tn.admin.ClientID, ClientSecret: tn.admin.ClientSecret,
				TokenURL: tn.url + "/v1/oauth/token", AuthStyle: style.style}
			c := cfg.Client(ctx)
			res, err := c.Get(tn.url + "/v1/me")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /v1/me: %d %s", res.StatusCode, b)
			}
			var me server.Me
			if err := json.Unmarshal(b, &me); err != nil || me.Role != "admin" || me.User != tn.admin.User {
				t.Fatalf("me = %+v (%v)", me, err)
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		cfg := clientcredentials.Config{ClientID: tn.admin.ClientID, ClientSecret: "hhs_wrong", TokenURL: tn.url + "/v1/oauth/token"}
		_, err := cfg.Token(ctx)
		if err == nil || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("err = %v, want an invalid_client error", err)
		}
	})
}

// TestTokenAttacks presents tokens that must all be refused, on a request
// that would otherwise write (create an organisation), and checks that
// nothing was written.
func TestTokenAttacks(t *testing.T) {
	tn := newTestNode(t)
	key := tn.n.Keys.Token
	pub := key.Public().(ed25519.PublicKey)
	iss, aud := auth.Issuer("node-a"), auth.Audience("node-a")
	now := time.Now()

	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": iss, "aud": []string{aud}, "sub": tn.admin.User,
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
			"jti": "test", "org": tn.admin.Org, "role": "admin", "jur": "NL",
		}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, c jwt.MapClaims, k any) string {
		t.Helper()
		s, err := jwt.NewWithClaims(m, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	// A token from another node, issued by that node's own code.
	otherDir := t.TempDir()
	if _, err := node.Init(otherDir, "node-b", "GB"); err != nil {
		t.Fatal(err)
	}
	other, err := node.Open(otherDir, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	otherTok, err := auth.NewTokens(other.Keys.Token, "node-b", 0).Issue(tn.admin.User, tn.admin.Org, "admin", "NL")
	other.Close()
	if err != nil {
		t.Fatal(err)
	}

	createOrg := func(tok string, name string) *response {
		return tn.do(request{method: "POST", path: "/v1/orgs", token: tok, ctype: "application/json",
			body: mustJSON(t, map[string]any{"name": name, "kind": "hotline", "jurisdiction": "DE"})})
	}

	// Control: a token built the same way, signed with the node's key, works.
	// This proves every refusal below is due to its one difference.
	createOrg(sign(jwt.SigningMethodEdDSA, claims(nil), key), "Control org").decode(t, http.StatusCreated, nil)
	createOrg(sign(jwt.SigningMethodEdDSA, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-10 * time.Second).Unix() }), key),
		"Within leeway org").decode(t, http.StatusCreated, nil)

	attacks := []struct {
		name string
		tok  string
	}{
		{"expired beyond leeway", sign(jwt.SigningMethodEdDSA, claims(func(c jwt.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-20*time.Minute).Unix(), now.Add(-20*time.Minute).Unix(), now.Add(-2*time.Minute).Unix()
		}), key)},
		{"forged: other Ed25519 key", sign(jwt.SigningMethodEdDSA, claims(nil), otherKey)},
		{"alg none", sign(jwt.SigningMethodNone, claims(nil), jwt.UnsafeAllowNoneSignatureType)},
		{"alg none, signature kept", func() string {
			// Take a valid token and swap its header for alg none.
			valid := sign(jwt.SigningMethodEdDSA, claims(nil), key)
			parts := strings.Split(valid, ".")
			parts[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
			return strings.Join(parts, ".")
		}()},
		{"HS256 with the public key as secret", sign(jwt.SigningMethodHS256, claims(nil), []byte(pub))},
		{"HS256 with the PEM public key as secret", sign(jwt.SigningMethodHS256, claims(nil), pubPEM)},
		{"other audience", sign(jwt.SigningMethodEdDSA, claims(func(c jwt.MapClaims) { c["aud"] = []string{auth.Audience("node-b")} }), key)},
		{"no audience", sign(jwt.SigningMethodEdDSA, claims(func(c jwt.MapClaims) { delete(c, "aud") }), key)},
		{"other issuer", sign(jwt.SigningMethodEdDSA, claims(func(c jwt.MapClaims) { c["iss"] = auth.Issuer("node-b") }), key)},
		{"missing exp", sign(jwt.SigningMethodEdDSA, claims(func(c jwt.MapClaims) { delete(c, "exp") }), key)},
		{"not yet valid", sign(jwt.SigningMethodEdDSA, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(5 * time.Minute).Unix() }), key)},
		{"issued in the future", sign(jwt.SigningMethodEdDSA, claims(func(c jwt.MapClaims) { c["iat"] = now.Add(5 * time.Minute).Unix() }), key)},
		{"unknown role", sign(jwt.SigningMethodEdDSA, claims(func(c jwt.MapClaims) { c["role"] = "superuser" }), key)},
		{"no role", sign(jwt.SigningMethodEdDSA, claims(func(c jwt.MapClaims) { delete(c, "role") }), key)},
		{"no subject", sign(jwt.SigningMethodEdDSA, claims(func(c jwt.MapClaims) { delete(c, "sub") }), key)},
		{"issued by another node", otherTok},
		{"tampered payload", func() string {
			valid := sign(jwt.SigningMethodEdDSA, claims(func(c jwt.MapClaims) { c["role"] = "platform" }), key)
			parts := strings.Split(valid, ".")
			parts[1] = base64.RawURLEncoding.EncodeToString(mustJSON(t, claims(nil)))
			return strings.Join(parts, ".")
		}()},
		{"garbage", "not-a-jwt"},
		{"three garbage parts", "a.b.c"},
	}

	before := tn.state()
	auditBefore := len(tn.auditActions())
	for i, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			r := createOrg(a.tok, "Attack org "+string(rune('A'+i)))
			p := r.problem(t, http.StatusUnauthorized, "invalid-token")
			if p.Detail == "" {
				t.Fatal("invalid-token without a detail")
			}
			if h := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer ") || !strings.Contains(h, `error="invalid_token"`) {
				t.Fatalf("WWW-Authenticate %q", h)
			}
		})
	}
	tn.unchanged(t, before, "refused tokens")
	if n := len(tn.auditActions()); n != auditBefore {
		t.Fatalf("GET /v1/audit: %d events before the attacks, %d after", auditBefore, n)
	}

	t.Run("missing or malformed Authorization", func(t *testing.T) {
		for _, h := range []string{"", "Bearer", "Bearer ", "Basic " + base64.StdEncoding.EncodeToString([]byte(tn.admin.ClientID+":"+tn.admin.ClientSecret)), tn.admin.Token} {
			rq := request{method: "POST", path: "/v1/orgs", ctype: "application/json",
				body: mustJSON(t, map[string]any{"name": "No auth org", "kind": "hotline", "jurisdiction": "DE"})}
			if h != "" {
				rq.header = map[string]string{"Authorization": h}
			}
			r := tn.do(rq)
			r.problem(t, http.StatusUnauthorized, "unauthorized")
			if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="hashhub"` {
				t.Fatalf("Authorization %q: WWW-Authenticate %q", h, got)
			}
		}
		tn.unchanged(t, before, "unauthenticated requests")
	})
	t.Run("bearer scheme is case-insensitive", func(t *testing.T) {
		r := tn.do(request{method: "GET", path: "/v1/me", header: map[string]string{"Authorization": "bearer " + tn.admin.Token}})
		r.decode(t, http.StatusOK, nil)
	})
}
