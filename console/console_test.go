package console_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/console"
	"github.com/hashhub/hashhub/internal/consoletest"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/store"
)

// auditHead is the audit chain's length: a refused request must not
// change it.
func auditHead(t *testing.T, n *consoletest.Node) uint64 {
	t.Helper()
	var h uint64
	if err := n.N.DB.View(func(tx *store.Tx) (err error) { h, _, err = tx.AuditHead(); return err }); err != nil {
		t.Fatal(err)
	}
	return h
}

// fill makes a page's path concrete: objects the walk can name, and
// made-up values for the rest (a role check comes before any lookup).
func fill(path string, params map[string]string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			if v, ok := params[p[1:]]; ok {
				parts[i] = v
			} else {
				parts[i] = "x"
			}
		}
	}
	return console.Prefix + strings.Join(parts, "/")
}

// TestPageRoleTable walks the page table as a person of every role: a page
// the role may not open answers 403 (GET and POST alike, with a valid form
// token) and changes nothing; a page it may open does not; the navigation
// lists exactly the pages the role may open. So a platform's person
// reaches none of the analysts' pages.
func TestPageRoleTable(t *testing.T) {
	n := consoletest.StartNode(t)
	cn := n.N.Server.Console()
	clients := map[orgs.Role]*consoletest.Client{}
	var hotlineOrg, hotlineUser string
	for _, r := range orgs.Roles {
		p := n.Person(r, "NL")
		clients[r] = n.SignInHTTP(t, p)
		if r == orgs.Hotline {
			hotlineOrg, hotlineUser = p.Org, p.User
		}
	}
	params := map[string]string{"org": hotlineOrg, "user": hotlineUser}

	before := auditHead(t, n)
	for _, p := range cn.Pages() {
		for _, r := range orgs.Roles {
			if slices.Contains(p.Roles, r) {
				continue
			}
			path := fill(p.Path, params)
			var resp consoletest.Response
			if p.Method == "GET" {
				resp = clients[r].Get(path)
			} else {
				resp = clients[r].Post(path, url.Values{"name": {"walk"}})
			}
			if resp.Status != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403", p.Method, p.Path, r, resp.Status)
			}
		}
	}
	if after := auditHead(t, n); after != before {
		t.Errorf("refused pages changed the audit chain: %d → %d events", before, after)
	}
	for _, p := range cn.Pages() {
		if p.Method != "GET" {
			continue
		}
		for _, r := range p.Roles {
			resp := clients[r].Get(fill(p.Path, params))
			if resp.Status == http.StatusForbidden || resp.Status == http.StatusUnauthorized || resp.Status >= 500 ||
				resp.Status == http.StatusSeeOther {
				t.Errorf("GET %s as %s: %d, want the page", p.Path, r, resp.Status)
			}
		}
	}
	// The navigation: exactly the labelled GET pages of the role.
	for r, cl := range clients {
		home := cl.Get("/console/").Body
		for _, p := range cn.Pages() {
			if p.Method != "GET" || p.Nav == "" {
				continue
			}
			link := `href="` + console.Prefix + p.Path + `"`
			if got, want := strings.Contains(home, link), slices.Contains(p.Roles, r); got != want {
				t.Errorf("%s's start page links %s: %v, want %v", r, p.Path, got, want)
			}
		}
	}
}

// TestPagesNeedASession: without a session every page sends a GET to the
// sign-in page (remembering where it was going) and refuses a POST.
func TestPagesNeedASession(t *testing.T) {
	n := consoletest.StartNode(t)
	cl := consoletest.NewClient(t, n)
	before := auditHead(t, n)
	for _, p := range n.N.Server.Console().Pages() {
		path := fill(p.Path, nil)
		if p.Method == "GET" {
			r := cl.Get(path)
			if r.Status != http.StatusSeeOther || r.Location != "/console/login?next="+url.QueryEscape(path) {
				t.Errorf("GET %s: %d → %q", path, r.Status, r.Location)
			}
			continue
		}
		if r := cl.PostForm(path, url.Values{"csrf": {"x"}}); r.Status != http.StatusUnauthorized {
			t.Errorf("POST %s: %d, want 401", path, r.Status)
		}
	}
	if auditHead(t, n) != before {
		t.Error("requests without a session changed the audit chain")
	}
	// A forged cookie is no session either.
	jar := cl.HTTP.Jar
	u, _ := url.Parse(n.URL + "/console/")
	jar.SetCookies(u, []*http.Cookie{{Name: "hh_session", Value: strings.Repeat("A", 43), Path: "/console/"}})
	if r := cl.Get("/console/"); r.Status != http.StatusSeeOther {
		t.Errorf("forged session cookie: %d", r.Status)
	}
}

// TestCSRF: a form without the session's token, or with another one, is
// refused and changes nothing; the same form with it works.
func TestCSRF(t *testing.T) {
	n := consoletest.StartNode(t)
	admin := n.SignInHTTP(t, n.Person(orgs.Admin, "NL"))
	other := n.SignInHTTP(t, n.Person(orgs.Admin, "GB"))
	form := func() url.Values {
		return url.Values{"name": {"Forged Org"}, "kind": {"hotline"}, "jurisdiction": {"NL"}}
	}
	before := auditHead(t, n)
	for name, tok := range map[string]string{"none": "", "wrong": strings.Repeat("x", 43),
		"another session's": other.CSRF, "truncated": admin.CSRF[:20]} {
		f := form()
		if tok != "" {
			f.Set("csrf", tok)
		}
		r := admin.PostForm("/console/admin/orgs", f)
		if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "Nothing was changed") {
			t.Errorf("%s token: %d\n%s", name, r.Status, r.Body)
		}
	}
	if auditHead(t, n) != before {
		t.Fatal("a refused form changed the audit chain")
	}
	if os, _ := n.N.Hub.Orgs("", 100); slices.ContainsFunc(os, func(o orgs.Org) bool { return o.Name == "Forged Org" }) {
		t.Fatal("a refused form created the organisation")
	}
	if r := admin.Post("/console/admin/orgs", form()); r.Status != http.StatusSeeOther {
		t.Fatalf("with the token: %d\n%s", r.Status, r.Body)
	}
	// The sign-in form has a token too (bound to a cookie): a form posted
	// from elsewhere is refused before the password is checked.
	p := n.Person(orgs.Hotline, "NL")
	cl := consoletest.NewClient(t, n)
	r := cl.PostForm("/console/login", url.Values{"name": {p.Name}, "password": {p.Password}, "code": {n.Code(p)}})
	if r.Status != http.StatusForbidden {
		t.Errorf("sign-in without its form token: %d", r.Status)
	}
}

// TestHostileInput: oversized and malformed forms, wrong content types,
// bad invite tokens, path tricks: each gets a clear refusal and changes
// nothing.
func TestHostileInput(t *testing.T) {
	n := consoletest.StartNode(t)
	admin := n.SignInHTTP(t, n.Person(orgs.Admin, "NL"))
	anon := consoletest.NewClient(t, n)
	before := auditHead(t, n)

	big := "csrf=" + admin.CSRF + "&name=" + strings.Repeat("a", console.MaxForm)
	for _, tc := range []struct {
		name         string
		cl           *consoletest.Client
		method, path string
		ctype, body  string
		want         int
	}{
		{"oversized form", admin, "POST", "/console/admin/orgs", "application/x-www-form-urlencoded", big, http.StatusRequestEntityTooLarge},
		{"oversized sign-in", anon, "POST", "/console/login", "application/x-www-form-urlencoded", big, http.StatusRequestEntityTooLarge},
		{"JSON to a form", admin, "POST", "/console/admin/orgs", "application/json", `{"csrf":"` + admin.CSRF + `"}`, http.StatusUnsupportedMediaType},
		{"no content type", admin, "POST", "/console/admin/orgs", "", "csrf=" + admin.CSRF, http.StatusUnsupportedMediaType},
		{"malformed form", admin, "POST", "/console/admin/orgs", "application/x-www-form-urlencoded", "csrf=%zz", http.StatusRequestEntityTooLarge},
		{"bad invite token", anon, "GET", "/console/invite/nope", "", "", http.StatusNotFound},
		{"unknown invite token", anon, "GET", "/console/invite/" + strings.Repeat("A", 43), "", "", http.StatusNotFound},
		{"long invite token", anon, "GET", "/console/invite/" + strings.Repeat("A", 5000), "", "", http.StatusNotFound},
		{"post to a bad invite", anon, "POST", "/console/invite/" + strings.Repeat("A", 43), "application/x-www-form-urlencoded", "password=x", http.StatusNotFound},
		{"static traversal", anon, "GET", "/console/static/../console.go", "", "", http.StatusNotFound},
		{"static unknown", anon, "GET", "/console/static/nope.css", "", "", http.StatusNotFound},
		{"unknown page", admin, "GET", "/console/no/such/page", "", "", http.StatusNotFound},
		{"unknown org", admin, "GET", "/console/admin/orgs/org_nosuch", "", "", http.StatusNotFound},
		{"invite into an unknown org", admin, "POST", "/console/admin/orgs/org_nosuch/invite", "application/x-www-form-urlencoded", "csrf=" + admin.CSRF + "&name=Zed", http.StatusNotFound},
		{"disable an unknown user", admin, "POST", "/console/admin/orgs/org_x/users/usr_x/disable", "application/x-www-form-urlencoded", "csrf=" + admin.CSRF, http.StatusNotFound},
	} {
		r := tc.cl.Do(tc.method, tc.path, tc.ctype, strings.NewReader(tc.body))
		if r.Status != tc.want {
			t.Errorf("%s: %d, want %d\n%.300s", tc.name, r.Status, tc.want, r.Body)
		}
		if strings.Contains(r.Body, "goroutine") || strings.Contains(r.Body, "panic") {
			t.Errorf("%s: the answer leaks internals", tc.name)
		}
	}
	// A sign-in with a huge or binary name is an ordinary failure.
	for _, name := range []string{strings.Repeat("n", 10000), "\xff\xfe", "<script>alert(1)</script>"} {
		login := anon.Get("/console/login")
		tok := strings.SplitN(strings.SplitN(login.Body, `name="csrf" value="`, 2)[1], `"`, 2)[0]
		r := anon.PostForm("/console/login", url.Values{"csrf": {tok}, "name": {name}, "password": {"x"}, "code": {"1"}})
		if r.Status != http.StatusUnauthorized && r.Status != http.StatusTooManyRequests {
			t.Errorf("sign-in as %.20q: %d", name, r.Status)
		}
		if strings.Contains(r.Body, "<script>alert") {
			t.Error("the sign-in page echoes markup unescaped")
		}
	}
	// Only the failed sign-ins were recorded.
	if after := auditHead(t, n); after != before+3 {
		t.Errorf("audit grew by %d, want 3 failed sign-ins", after-before)
	}
}

// TestSecurityHeaders: every console answer forbids other hosts, framing
// and referrers; pages are not cached; the session cookie is HttpOnly and
// SameSite=Strict, and Secure (with the __Host- prefix) behind a TLS proxy.
func TestSecurityHeaders(t *testing.T) {
	n := consoletest.StartNode(t)
	p := n.Person(orgs.Hotline, "NL")
	cl := n.SignInHTTP(t, p)
	for _, path := range []string{"/console/", "/console/login", "/console/static/console.css", "/console/nope"} {
		r := cl.Get(path)
		h := r.Header
		if csp := h.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, h)
		}
		if !strings.HasPrefix(path, "/console/static/") && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, h.Get("Cache-Control"))
		}
		if strings.Contains(r.Body, "http://") && !strings.Contains(path, "static") {
			// No page links to or loads from anywhere else.
			for _, bad := range []string{`src="http`, `href="http`} {
				if strings.Contains(r.Body, bad) {
					t.Errorf("%s: a page refers to another host", path)
				}
			}
		}
	}
	// Each sign-in by a new person: a person's TOTP codes are single-use,
	// and a third sign-in within 30 s would wait for the clock.
	cookie := func(secureProxy bool) string {
		p := n.Person(orgs.Hotline, "NL")
		n.N.Server.SetConsoleTLSProxy(secureProxy)
		defer n.N.Server.SetConsoleTLSProxy(false)
		anon := consoletest.NewClient(t, n)
		login := anon.Get("/console/login")
		tok := strings.SplitN(strings.SplitN(login.Body, `name="csrf" value="`, 2)[1], `"`, 2)[0]
		req, _ := http.NewRequest("POST", n.URL+"/console/login", strings.NewReader(url.Values{"csrf": {tok}, "name": {p.Name},
			"password": {p.Password}, "code": {n.Code(p)}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "hh_pre", Value: tok})
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", resp.StatusCode)
		}
		for _, c := range resp.Header.Values("Set-Cookie") {
			if strings.Contains(c, "hh_session=") {
				return c
			}
		}
		t.Fatal("no session cookie")
		return ""
	}
	plain := cookie(false)
	for _, want := range []string{"hh_session=", "HttpOnly", "SameSite=Strict", "Path=/console/"} {
		if !strings.Contains(plain, want) {
			t.Errorf("cookie %q lacks %s", plain, want)
		}
	}
	if strings.Contains(plain, "Secure") || strings.Contains(plain, "Max-Age") {
		t.Errorf("cookie over plain HTTP: %q", plain)
	}
	sec := cookie(true)
	for _, want := range []string{"__Host-hh_session=", "HttpOnly", "SameSite=Strict", "Secure", "Path=/"} {
		if !strings.Contains(sec, want) {
			t.Errorf("cookie behind a TLS proxy %q lacks %s", sec, want)
		}
	}
}

func TestDefang(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.org/a.b/c?d=e.f": "hxxps[://]example[.]org/a.b/c?d=e.f",
		"http://sub.example.co.uk":        "hxxp[://]sub[.]example[.]co[.]uk",
		"HTTPS://Example.org#x.y":         "hxxps[://]Example[.]org#x.y",
		"ftp://files.example.net/x":       "fxp[://]files[.]example[.]net/x",
		"example.org/path":                "example[.]org/path",
		"192.0.2.1:8080/x":                "192[.]0[.]2[.]1:8080/x",
		"":                                "",
	} {
		if got := console.Defang(in); got != want {
			t.Errorf("Defang(%q) = %q, want %q", in, got, want)
		}
	}
}
