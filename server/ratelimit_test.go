package server_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/server"
)

// Buckets in these tests refill at one token an hour: only the burst
// counts, so the outcome does not depend on how fast the test runs.
const perHour = 1.0 / 3600

// limited checks a 429 rate-limited answer with a Retry-After in seconds.
func limited(t *testing.T, r *response) {
	t.Helper()
	r.problem(t, http.StatusTooManyRequests, "rate-limited")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("%s: Retry-After %q", r.req, r.header.Get("Retry-After"))
	}
}

func (tn *testNode) formToken(id, secret string) *response {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	return tn.do(request{method: "POST", path: "/v1/oauth/token", ctype: "application/x-www-form-urlencoded", body: []byte(form.Encode())})
}

// The token endpoint limits each client id: one client past its burst
// gets 429, another client still gets tokens.
func TestRateLimitTokenPerClient(t *testing.T) {
	tn := newTestNode(t)
	a := tn.member(orgs.Platform, "NL")
	b := tn.member(orgs.Platform, "NL")
	tn.n.Server.SetRateLimits(server.RateLimits{TokenClient: server.Rate{PerSecond: perHour, Burst: 3}})
	for range 3 {
		tn.formToken(a.ClientID, a.ClientSecret).decode(t, http.StatusOK, nil)
	}
	limited(t, tn.formToken(a.ClientID, a.ClientSecret))
	// Wrong secrets count too: guessing one client's secret stays slow.
	limited(t, tn.formToken(a.ClientID, "wrong"))
	tn.formToken(b.ClientID, b.ClientSecret).decode(t, http.StatusOK, nil)
	// What the token had allowed still works: the limit is on new tokens.
	tn.get("/v1/me", a.Token).decode(t, http.StatusOK, nil)
}

// The token endpoint limits each remote address, whatever client ids it
// tries.
func TestRateLimitTokenPerAddress(t *testing.T) {
	tn := newTestNode(t)
	tn.n.Server.SetRateLimits(server.RateLimits{TokenAddr: server.Rate{PerSecond: perHour, Burst: 4}})
	for i := range 4 {
		r := tn.formToken("cli_guess"+strconv.Itoa(i), "secret")
		if r.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %s", i, r.status, r.body)
		}
	}
	limited(t, tn.formToken("cli_guess5", "secret"))
	limited(t, tn.formToken(tn.admin.ClientID, tn.admin.ClientSecret))
}

// The API limits each organisation: one past its burst gets 429 (and a
// refused write changes nothing); other organisations are unaffected.
func TestRateLimitPerOrganisation(t *testing.T) {
	tn := newTestNode(t)
	a := tn.member(orgs.Hotline, "NL")
	colleague := tn.newUser(a.Org, orgs.Hotline, "NL", "colleague")
	b := tn.member(orgs.Hotline, "GB")
	tn.n.Server.SetRateLimits(server.RateLimits{Org: server.Rate{PerSecond: perHour, Burst: 3}})
	for range 3 {
		tn.get("/v1/me", a.Token).decode(t, http.StatusOK, nil)
	}
	md5 := strings.Repeat("c3", 16)
	limited(t, tn.postJSON("/v1/hashes", a.Token, map[string]any{"algo": "md5", "value": md5}))
	// The limit is the organisation's, not the user's.
	limited(t, tn.get("/v1/me", colleague.Token))
	tn.get("/v1/me", b.Token).decode(t, http.StatusOK, nil)
	tn.get("/v1/hashes/md5/"+md5, b.Token).problem(t, http.StatusNotFound, "not-found")
}

// Single-hash lookups have a tighter limit of their own, so that a reader
// cannot walk a list's membership hash by hash; other requests of the
// organisation go on, and other organisations are unaffected.
func TestRateLimitLookups(t *testing.T) {
	tn := newTestNode(t)
	a := tn.member(orgs.Hotline, "NL")
	b := tn.member(orgs.Hotline, "GB")
	pl := tn.member(orgs.Platform, "NL")
	tn.postJSON("/v1/lists", tn.admin.Token, map[string]any{"name": "walk", "policy": map[string]any{"min_assessments": 1},
		"readers": map[string]any{"orgs": []string{pl.Org}}}).decode(t, http.StatusCreated, nil)
	tn.postJSON("/v1/hashes", a.Token, map[string]any{"algo": "md5", "value": strings.Repeat("d4", 16)}).decode(t, http.StatusCreated, nil)
	tn.do(request{method: "POST", path: "/v1/lists/walk/releases", token: tn.admin.Token}).decode(t, http.StatusCreated, nil)
	tn.n.Server.SetRateLimits(server.RateLimits{Org: server.Rate{PerSecond: perHour, Burst: 100}, Lookup: server.Rate{PerSecond: perHour, Burst: 2}})

	guess := func(i int) string { return strings.Repeat("0", 28) + strconv.Itoa(1000+i) }
	for i := range 2 {
		tn.get("/v1/hashes/md5/"+guess(i), a.Token).problem(t, http.StatusNotFound, "not-found")
	}
	limited(t, tn.get("/v1/hashes/md5/"+guess(2), a.Token))
	limited(t, tn.get("/v1/hashes/md5/"+guess(2)+"/history", a.Token))
	tn.get("/v1/me", a.Token).decode(t, http.StatusOK, nil)
	tn.get("/v1/hashes/md5/"+guess(2), b.Token).problem(t, http.StatusNotFound, "not-found")

	// A list's reader asking the proof endpoint, hash after hash.
	for i := range 2 {
		tn.get("/v1/lists/walk/proof?algo=md5&value="+guess(i), pl.Token).problem(t, http.StatusNotFound, "not-found")
	}
	limited(t, tn.get("/v1/lists/walk/proof?algo=md5&value="+strings.Repeat("d4", 16), pl.Token))
	// Pulling the list is not a lookup.
	tn.get("/v1/lists/walk/snapshot", pl.Token).decode(t, http.StatusOK, nil)
}

func TestRateFlagValue(t *testing.T) {
	for in, want := range map[string]server.Rate{"5:30": {PerSecond: 5, Burst: 30}, "0.5:1": {PerSecond: 0.5, Burst: 1}, "0": {}, "off": {}} {
		var r server.Rate
		if err := r.Set(in); err != nil || r != want {
			t.Errorf("Set(%q) = %+v, %v; want %+v", in, r, err, want)
		}
	}
	for _, bad := range []string{"", "5", "5:0", "-1:3", "x:3", "5:x", "Inf:3", "NaN:3"} {
		var r server.Rate
		if err := r.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted: %+v", bad, r)
		}
	}
	if s := server.DefaultRateLimits.Org.String(); s != "50:200" {
		t.Errorf("String() = %q", s)
	}
}
