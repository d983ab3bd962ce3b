package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/orgs"
)

// Who may call what, written from docs/design.md §2 and §3, independently of the
// server's own route table:
//   - admin runs the node: organisations, users, lists, the audit log; it
//     may read entries and the review queue to oversee the node, but does
//     not assess material;
//   - hotline and law_enforcement are the analysts: they submit, assess,
//     retract and resolve disputes;
//   - platform gives feedback on hashes;
//   - everyone may ask who they are and read the lists they are readers of
//     (the list's readers decide per list, so the route is open to all).
var (
	everyone  = orgs.Roles
	adminOnly = []orgs.Role{orgs.Admin}
	analysts  = []orgs.Role{orgs.Hotline, orgs.LawEnforcement}
	overseers = []orgs.Role{orgs.Admin, orgs.Hotline, orgs.LawEnforcement}
	platforms = []orgs.Role{orgs.Platform}
)

// fixture holds the objects the route requests refer to.
type fixture struct {
	roles   map[orgs.Role]*principal
	org     string // a hotline organisation
	value   string // a sha256 entry submitted by the hotline, on list "open"
	retract string // a sha256 entry every analyst submitted
	dispute string // a dispute opened by the platform's false-positive feedback
	user    string // a second user of the hotline organisation
	list    string // a list every role may read
	seq     int
}

// routeCase is one route, who may use it and how to call it validly.
type routeCase struct {
	method, path string // path as in the API documentation
	allowed      []orgs.Role
	// build returns the concrete path, content type and body of a minimally
	// valid request for the caller's role.
	build func(f *fixture, role orgs.Role) (path, ctype string, body []byte)
}

func noBody(p string) func(*fixture, orgs.Role) (string, string, []byte) {
	return func(f *fixture, _ orgs.Role) (string, string, []byte) { return f.fill(p), "", nil }
}

func jsonBody(p string, body func(f *fixture, role orgs.Role) any) func(*fixture, orgs.Role) (string, string, []byte) {
	return func(f *fixture, role orgs.Role) (string, string, []byte) {
		b, err := json.Marshal(body(f, role))
		if err != nil {
			panic(err)
		}
		return f.fill(p), "application/json", b
	}
}

func (f *fixture) fill(p string) string {
	return strings.NewReplacer("{org}", f.org, "{algo}", "sha256", "{value}", f.value, "{id}", f.dispute, "{name}", f.list, "{user}", f.user).Replace(p)
}

func (f *fixture) next() int { f.seq++; return f.seq }

var routeCases = []routeCase{
	{"GET", "/v1/me", everyone, noBody("/v1/me")},

	{"POST", "/v1/orgs", adminOnly, jsonBody("/v1/orgs", func(f *fixture, _ orgs.Role) any {
		return map[string]any{"name": fmt.Sprintf("Route org %d", f.next()), "kind": "hotline", "jurisdiction": "FR"}
	})},
	{"GET", "/v1/orgs", adminOnly, noBody("/v1/orgs")},
	{"GET", "/v1/orgs/{org}", adminOnly, noBody("/v1/orgs/{org}")},
	{"POST", "/v1/orgs/{org}/users", adminOnly, jsonBody("/v1/orgs/{org}/users", func(f *fixture, _ orgs.Role) any {
		return map[string]any{"name": fmt.Sprintf("Route user %d", f.next())}
	})},
	{"GET", "/v1/orgs/{org}/users", adminOnly, noBody("/v1/orgs/{org}/users")},
	{"POST", "/v1/orgs/{org}/users/{user}/disable", adminOnly, noBody("/v1/orgs/{org}/users/{user}/disable")},
	{"POST", "/v1/orgs/{org}/invites", adminOnly, jsonBody("/v1/orgs/{org}/invites", func(f *fixture, _ orgs.Role) any {
		return map[string]any{"name": fmt.Sprintf("person %d", f.next())}
	})},

	{"POST", "/v1/hashes", analysts, jsonBody("/v1/hashes", func(*fixture, orgs.Role) any {
		return map[string]any{"algo": "sha256", "value": sha256Hex()}
	})},
	{"POST", "/v1/hashes/import", analysts, func(f *fixture, _ orgs.Role) (string, string, []byte) {
		return "/v1/hashes/import", "application/x-ndjson", []byte(`{"algo":"sha256","value":"` + sha256Hex() + `"}` + "\n")
	}},
	{"GET", "/v1/hashes/{algo}/{value}", overseers, noBody("/v1/hashes/{algo}/{value}")},
	{"GET", "/v1/hashes/{algo}/{value}/history", overseers, noBody("/v1/hashes/{algo}/{value}/history")},
	{"POST", "/v1/hashes/{algo}/{value}/assessments", analysts, jsonBody("/v1/hashes/{algo}/{value}/assessments", func(*fixture, orgs.Role) any {
		return map[string]any{"verdict": "illegal", "severity": "B"}
	})},
	{"POST", "/v1/hashes/{algo}/{value}/retract", analysts, func(f *fixture, _ orgs.Role) (string, string, []byte) {
		return "/v1/hashes/sha256/" + f.retract + "/retract", "application/json", []byte(`{"reason":"route test"}`)
	}},
	{"POST", "/v1/hashes/{algo}/{value}/feedback", platforms, jsonBody("/v1/hashes/{algo}/{value}/feedback", func(*fixture, orgs.Role) any {
		return map[string]any{"kind": "confirmed_match"}
	})},

	{"GET", "/v1/disputes", overseers, noBody("/v1/disputes")},
	{"POST", "/v1/disputes/{id}/resolve", analysts, jsonBody("/v1/disputes/{id}/resolve", func(*fixture, orgs.Role) any {
		return map[string]any{"outcome": "upheld", "reason": "route test"}
	})},
	{"GET", "/v1/review", overseers, noBody("/v1/review")},

	{"POST", "/v1/lists", adminOnly, jsonBody("/v1/lists", func(f *fixture, _ orgs.Role) any {
		return map[string]any{"name": fmt.Sprintf("route-%d", f.next()), "policy": map[string]any{"min_assessments": 1}}
	})},
	{"GET", "/v1/lists", everyone, noBody("/v1/lists")},
	{"GET", "/v1/lists/{name}", everyone, noBody("/v1/lists/{name}")},
	{"GET", "/v1/lists/{name}/entries", everyone, noBody("/v1/lists/{name}/entries")},

	{"GET", "/v1/audit", adminOnly, noBody("/v1/audit")},

	// Releases: admins publish; the list's readers (every role, for the
	// fixture's list) fetch.
	{"POST", "/v1/lists/{name}/releases", adminOnly, noBody("/v1/lists/{name}/releases")},
	{"GET", "/v1/lists/{name}/releases/latest", everyone, noBody("/v1/lists/{name}/releases/latest")},
	{"GET", "/v1/lists/{name}/releases/{version}/{file}", everyone, noBody("/v1/lists/{name}/releases/1/manifest.json")},
	{"GET", "/v1/lists/{name}/delta", everyone, noBody("/v1/lists/{name}/delta?from=0")},
	{"GET", "/v1/lists/{name}/snapshot", everyone, noBody("/v1/lists/{name}/snapshot")},
	{"GET", "/v1/lists/{name}/proof", everyone, noBody("/v1/lists/{name}/proof?algo={algo}&value={value}")},
	{"GET", "/v1/log/leaves/{index}", everyone, noBody("/v1/log/leaves/0")},
	// Records name organisations and analysts: peers and admins only.
	{"GET", "/v1/lists/{name}/records", []orgs.Role{orgs.Admin, orgs.Peer}, noBody("/v1/lists/{name}/records")},

	// Peers: admins only. The route test's peer is never registered, so the
	// allowed calls answer 404 (or 422 for the empty registration): the
	// handler's own answer, not a refusal.
	{"POST", "/v1/peers", adminOnly, jsonBody("/v1/peers", func(*fixture, orgs.Role) any { return map[string]any{} })},
	{"GET", "/v1/peers", adminOnly, noBody("/v1/peers")},
	{"GET", "/v1/peers/{id}", adminOnly, noBody("/v1/peers/node-z")},
	{"PATCH", "/v1/peers/{id}", adminOnly, jsonBody("/v1/peers/node-z", func(*fixture, orgs.Role) any { return map[string]any{"mirror_url": ""} })},
	{"POST", "/v1/peers/{id}/{action}", adminOnly, noBody("/v1/peers/node-z/pause")},
	{"DELETE", "/v1/peers/{id}", adminOnly, noBody("/v1/peers/node-z")},
	{"GET", "/v1/witness/evidence", adminOnly, noBody("/v1/witness/evidence?origin=hashhub/node-z")},

	// Reports (DESIGN §1, §6): hotlines, law enforcement and platforms
	// report, peers forward; law enforcement (and a hotline acting as the
	// fallback) receive; law enforcement alone holds a takedown. Admins
	// register hosting providers and read only unrouted reports (which
	// nobody else was given). Reads of one report
	// or notice by id answer 404 here (none exists in the fixture, and to
	// an outsider one that exists does not either): the handler answered.
	{"POST", "/v1/reports", reportersRoles, reportBody},
	{"GET", "/v1/reports/unrouted", adminOnly, noBody("/v1/reports/unrouted")},
	{"GET", "/v1/reports/{id}", reportReaders, noBody("/v1/reports/rep_00000000000000000000000000000000")},
	{"POST", "/v1/reports/{id}/ack", receivers, noBody("/v1/reports/rep_00000000000000000000000000000000/ack")},
	{"POST", "/v1/reports/{id}/hold", []orgs.Role{orgs.LawEnforcement}, jsonBody("/v1/reports/rep_00000000000000000000000000000000/hold", func(*fixture, orgs.Role) any {
		return map[string]any{"reason": "route test", "until": time.Now().Add(time.Hour)}
	})},
	{"GET", "/v1/inbox", receivers, noBody("/v1/inbox")},
	{"PUT", "/v1/inbox/webhook", receivers, jsonBody("/v1/inbox/webhook", func(*fixture, orgs.Role) any { return map[string]any{"webhook_url": ""} })},
	{"POST", "/v1/providers", adminOnly, jsonBody("/v1/providers", func(*fixture, orgs.Role) any { return map[string]any{} })},
	{"GET", "/v1/providers", adminOnly, noBody("/v1/providers")},
	{"GET", "/v1/providers/{org}", []orgs.Role{orgs.Admin, orgs.HostingProvider}, noBody("/v1/providers/{org}")},
	{"GET", "/v1/notices", []orgs.Role{orgs.Admin, orgs.HostingProvider}, noBody("/v1/notices")},
	{"GET", "/v1/notices/{id}", []orgs.Role{orgs.Admin, orgs.HostingProvider, orgs.Hotline, orgs.LawEnforcement}, noBody("/v1/notices/ntc_00000000000000000000000000000000")},
	{"POST", "/v1/notices/{id}/status", []orgs.Role{orgs.HostingProvider, orgs.Hotline, orgs.LawEnforcement}, jsonBody("/v1/notices/ntc_00000000000000000000000000000000/status", func(*fixture, orgs.Role) any {
		return map[string]any{"status": "removed"}
	})},
	{"GET", "/v1/takedown-stats", []orgs.Role{orgs.Admin, orgs.Hotline, orgs.LawEnforcement, orgs.HostingProvider}, noBody("/v1/takedown-stats")},
	{"GET", "/v1/outbox", adminOnly, noBody("/v1/outbox")},
}

var (
	reportersRoles = []orgs.Role{orgs.Hotline, orgs.LawEnforcement, orgs.Platform, orgs.Peer}
	reportReaders  = []orgs.Role{orgs.Admin, orgs.Hotline, orgs.LawEnforcement, orgs.Platform}
	receivers      = []orgs.Role{orgs.LawEnforcement, orgs.Hotline}
)

// reportBody is a valid report; a peer's carries what forwarding adds.
func reportBody(f *fixture, role orgs.Role) (string, string, []byte) {
	r := map[string]any{"urls": []string{fmt.Sprintf("https://host%d.example.org/x", f.next())},
		"classification": map[string]any{"category": "baseline"}, "detection": "manual_review",
		"explanation": "route test", "observed_at": time.Now().Add(-time.Hour)}
	if role == orgs.Peer {
		r["id"] = fmt.Sprintf("rep_%032x", f.next())
		r["hops"], r["hop_limit"] = []string{"node-z"}, 4
		r["reporter"] = map[string]any{"org": "org_x", "org_name": "Hotline Z", "role": "hotline", "jurisdiction": "DE", "node": "node-z"}
	}
	b, _ := json.Marshal(r)
	return "/v1/reports", "application/json", b
}

// handlerAnswered reports the 404/422 answers the table above expects from
// allowed calls on objects the fixture does not have.
func handlerAnswered(path string, status int) bool {
	switch {
	case strings.HasPrefix(path, "/v1/peers") && (status == http.StatusNotFound || status == http.StatusUnprocessableEntity):
		return true
	case (strings.HasPrefix(path, "/v1/reports/") || strings.HasPrefix(path, "/v1/notices/") || strings.HasPrefix(path, "/v1/providers/")) && status == http.StatusNotFound:
		return true
	case path == "/v1/providers" && status == http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// publicRoute reports routes anyone may call without a token: the keys
// and the transparency log's checkpoint and proofs, so that any third
// party can audit what the node published. They reveal no hash.
func publicRoute(path string) bool {
	return path == "/v1/keys" || path == "/v1/keys/release.pem" || path == "/v1/log/checkpoint" ||
		strings.HasPrefix(path, "/v1/log/proof/") ||
		// Witnessing authenticates by the submitted checkpoint's signature.
		path == "/v1/witness/add-checkpoint" || path == "/v1/witness/:origin/checkpoint"
}

// opsRoute reports routes outside the role model: operations, docs, token,
// and the web console (which has its own page × role test, in console/).
func opsRoute(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/v1/oauth/token" ||
		path == "/docs" || strings.HasPrefix(path, "/docs/") || strings.HasPrefix(path, "/console/")
}

var ginParam = regexp.MustCompile(`:([a-z]+)`)

// TestRouteTableComplete fails when a route is added without a line in
// routeCases (or a case outlives its route).
func TestRouteTableComplete(t *testing.T) {
	tn := newTestNode(t)
	var got, want []string
	for _, r := range tn.n.Server.Routes() {
		if !opsRoute(r.Path) && !publicRoute(r.Path) {
			got = append(got, r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}"))
		}
	}
	for _, c := range routeCases {
		want = append(want, c.method+" "+c.path)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("routes differ from the test's table.\nserver: %q\ntable:  %q", got, want)
	}
}

func newRouteFixture(t *testing.T, tn *testNode) *fixture {
	t.Helper()
	f := &fixture{roles: tn.everyRole(), list: "open", value: sha256Hex(), retract: sha256Hex()}
	f.org = f.roles[orgs.Hotline].Org
	f.user = tn.newUser(f.org, orgs.Hotline, "GB", "second analyst").User
	tn.postJSON("/v1/lists", tn.admin.Token, map[string]any{"name": f.list, "policy": map[string]any{"min_assessments": 1},
		"readers": map[string]any{"roles": orgs.Roles}}).decode(t, http.StatusCreated, nil)
	hot := f.roles[orgs.Hotline].Token
	tn.postJSON("/v1/hashes", hot, map[string]any{"algo": "sha256", "value": f.value}).decode(t, http.StatusCreated, nil)
	for _, r := range analysts {
		want := http.StatusOK // the second submitter adds an assessment
		if r == orgs.Hotline {
			want = http.StatusCreated
		}
		tn.postJSON("/v1/hashes", f.roles[r].Token, map[string]any{"algo": "sha256", "value": f.retract}).decode(t, want, nil)
	}
	disputed := sha256Hex()
	tn.postJSON("/v1/hashes", hot, map[string]any{"algo": "sha256", "value": disputed}).decode(t, http.StatusCreated, nil)
	var fb struct {
		Dispute string `json:"dispute"`
	}
	tn.postJSON("/v1/hashes/sha256/"+disputed+"/feedback", f.roles[orgs.Platform].Token, map[string]any{"kind": "false_positive"}).
		decode(t, http.StatusCreated, &fb)
	if fb.Dispute == "" {
		t.Fatal("false-positive feedback opened no dispute")
	}
	f.dispute = fb.Dispute
	tn.do(request{method: "POST", path: "/v1/lists/" + f.list + "/releases", token: tn.admin.Token}).decode(t, http.StatusCreated, nil)
	return f
}

// TestRoutesByRole calls every route as nobody and as every role.
func TestRoutesByRole(t *testing.T) {
	tn := newTestNode(t)
	f := newRouteFixture(t, tn)
	secrets := []string{f.value, f.retract, f.dispute, f.org, `"open"`, tn.admin.Org}

	// Refusals first, so they run against the same state the allowed calls
	// then change, and must leave it as it was.
	before := tn.state()
	for _, c := range routeCases {
		t.Run(c.method+" "+c.path+"/no token", func(t *testing.T) {
			path, ctype, body := c.build(f, orgs.Admin)
			r := tn.do(request{method: c.method, path: path, ctype: ctype, body: body})
			r.problem(t, http.StatusUnauthorized, "unauthorized")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without WWW-Authenticate: Bearer")
			}
		})
		for _, role := range orgs.Roles {
			if slices.Contains(c.allowed, role) {
				continue
			}
			t.Run(c.method+" "+c.path+"/"+string(role)+" forbidden", func(t *testing.T) {
				path, ctype, body := c.build(f, role)
				r := tn.do(request{method: c.method, path: path, token: f.roles[role].Token, ctype: ctype, body: body})
				p := r.problem(t, http.StatusForbidden, "forbidden")
				if !strings.Contains(p.Detail, string(role)) {
					t.Errorf("detail %q does not name the role", p.Detail)
				}
				for _, s := range secrets {
					if strings.Contains(string(r.body), s) {
						t.Errorf("403 body leaks %q: %s", s, r.body)
					}
				}
			})
		}
	}
	tn.unchanged(t, before, "refused requests")

	for _, c := range routeCases {
		for _, role := range c.allowed {
			t.Run(c.method+" "+c.path+"/"+string(role)+" allowed", func(t *testing.T) {
				path, ctype, body := c.build(f, role)
				r := tn.do(request{method: c.method, path: path, token: f.roles[role].Token, ctype: ctype, body: body})
				switch {
				case r.status == http.StatusUnauthorized, r.status == http.StatusForbidden, r.status >= 500:
					t.Fatalf("%s %s as %s: %d %s", c.method, path, role, r.status, r.body)
				case handlerAnswered(c.path, r.status):
					// No such peer, report or notice, or an empty
					// registration: the handler answered.
				case r.status >= 300 && !(c.path == "/v1/disputes/{id}/resolve" && r.status == http.StatusConflict):
					// Every request here is valid for its caller, so only
					// the second resolution of the one dispute may fail.
					t.Fatalf("%s %s as %s: %d %s", c.method, path, role, r.status, r.body)
				case r.status >= 400:
					r.problem(t, http.StatusConflict, "dispute-closed")
				}
			})
		}
	}
}
