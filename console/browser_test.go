package console_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hashhub/hashhub/internal/consoletest"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/people"
)

// One browser for the whole test binary; each test has its own browser
// context (cookies).
func TestMain(m *testing.M) { consoletest.Main(m) }

// TestBrowserInviteToSignIn is an administrator's and a new analyst's
// first day: the admin signs in, creates an organisation and invites a
// person; the person opens the link in their own browser, reads the TOTP
// secret off the page, sets a password, confirms with a code, signs in and
// signs out; the admin disables them. Every page passes axe-core.
func TestBrowserInviteToSignIn(t *testing.T) {
	n := consoletest.StartNode(t)
	admin := n.Person(orgs.Admin, "NL")
	b := consoletest.NewBrowser(t, n)

	b.Go("/console/login")
	b.Axe()
	b.Screenshot("login")
	b.SignIn(n, admin)
	b.Axe()

	b.Click(`header nav a[href="/console/admin/orgs"]`)
	b.Submit("form.create-org", map[string]string{"#org-name": "Meldpunt Browser", "#org-kind": "hotline", "#org-jur": "nl"})
	if !strings.HasPrefix(b.Path(), "/console/admin/orgs/org_") || !strings.Contains(b.Text(".flash"), "Meldpunt Browser created") {
		t.Fatalf("after creating an organisation: %s: %s", b.Path(), b.Text("main"))
	}
	orgPage := b.Path()
	b.Submit("form.invite-user", map[string]string{"#person-name": "Ann Browser"})
	link := b.Text("#invite-link")
	if !strings.HasPrefix(link, n.URL+"/console/invite/") {
		t.Fatalf("invite link %q", link)
	}
	b.Axe()
	b.Go("/console/admin/orgs")
	b.Axe()
	b.Screenshot("organisations")

	// The invitee, in a browser of their own.
	ann := &consoletest.Person{Name: "Ann Browser", Password: "seven green tables by the sea"}
	b2 := consoletest.NewBrowser(t, n)
	b2.Go(strings.TrimPrefix(link, n.URL))
	ann.TOTPSecret = b2.Text("#totp-secret")
	if !strings.Contains(b2.Text("#totp-uri"), "otpauth://totp/") {
		// The URI is in a closed <details>: its text is there, unrendered.
		uri := consoletest.Run(b2, chromedp.Evaluate[string]("document.querySelector('#totp-uri').textContent"))
		if !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+ann.TOTPSecret) {
			t.Errorf("otpauth URI %q", uri)
		}
	}
	b2.Axe()
	b2.Screenshot("invite")
	// A common password is refused, and nothing is used up.
	b2.Submit("form", map[string]string{"#password": "password1234", "#password2": "password1234", "#code": n.PeekCode(ann)})
	if !strings.Contains(b2.Text("#invite-error"), "commonly used") {
		t.Fatalf("common password: %s", b2.Text("main"))
	}
	b2.Axe()
	b2.Submit("form", map[string]string{"#password": ann.Password, "#password2": ann.Password, "#code": n.Code(ann)})
	if b2.Path() != "/console/login" || !strings.Contains(b2.Text(".flash"), "Sign in with them") {
		t.Fatalf("after enrolling: %s: %s", b2.Path(), b2.Text("main"))
	}
	// The link works once.
	b2.Go(strings.TrimPrefix(link, n.URL))
	if b2.Status() != http.StatusNotFound {
		t.Errorf("used invite link: %d", b2.Status())
	}
	b2.SignIn(n, ann)
	if got := b2.Text("h1"); got != "Welcome, Ann Browser" {
		t.Errorf("start page: %q", got)
	}
	// Hotline people see no administration.
	if b2.Has(`a[href="/console/admin/orgs"]`) {
		t.Error("a hotline person is offered the organisations page")
	}
	b2.Click(`header .who button[type="submit"]`)
	if b2.Path() != "/console/login" || !strings.Contains(b2.Text(".flash"), "signed out") {
		t.Fatalf("after signing out: %s: %s", b2.Path(), b2.Text("main"))
	}
	b2.Go("/console/")
	if b2.Path() != "/console/login" {
		t.Errorf("signed out, the start page opened: %s", b2.Path())
	}

	// The admin disables Ann; she can no longer sign in.
	b.Go(orgPage)
	if !b.Has(`button[aria-label="Disable Ann Browser"]`) {
		t.Fatalf("no disable button: %s", b.Text("main"))
	}
	b.Click(`button[aria-label="Disable Ann Browser"]`)
	if !strings.Contains(b.Text(".flash"), "disabled") || !strings.Contains(b.Text("table.users"), "disabled") {
		t.Fatalf("after disabling: %s", b.Text("main"))
	}
	b.Screenshot("users")
	b2.Go("/console/login")
	b2.Submit("form.signin", map[string]string{"#name": ann.Name, "#password": ann.Password, "#code": n.PeekCode(ann)})
	if b2.Path() != "/console/login" || !strings.Contains(b2.Text("#login-error"), "Wrong name, password or code") {
		t.Errorf("disabled person signing in: %s: %s", b2.Path(), b2.Text("main"))
	}
}

// TestBrowserSessionExpiryAndCSRF: a session idle for 30 minutes sends the
// person back to the sign-in page, and returns them where they were going;
// a form whose CSRF token was removed is refused and changes nothing.
func TestBrowserSessionExpiryAndCSRF(t *testing.T) {
	n := consoletest.StartNode(t)
	admin := n.Person(orgs.Admin, "NL")
	b := consoletest.NewBrowser(t, n)
	b.SignIn(n, admin)

	b.Go("/console/admin/orgs")
	consoletest.Run(b, chromedp.Evaluate[bool](`(() => { document.querySelector('form.create-org input[name=csrf]').remove(); return true })()`))
	b.Submit("form.create-org", map[string]string{"#org-name": "Forged Org", "#org-kind": "hotline", "#org-jur": "NL"})
	if b.Status() != http.StatusForbidden || !strings.Contains(b.Text("main"), "Nothing was changed") {
		t.Errorf("form without its token: %d: %s", b.Status(), b.Text("main"))
	}
	b.Axe()
	if os, _ := n.N.Hub.Orgs("", 100); slices.ContainsFunc(os, func(o orgs.Org) bool { return o.Name == "Forged Org" }) {
		t.Error("the refused form created the organisation")
	}

	n.Advance(29 * time.Minute)
	b.Go("/console/admin/orgs")
	if b.Path() != "/console/admin/orgs" {
		t.Fatalf("after 29 idle minutes: %s", b.Path())
	}
	n.Advance(31 * time.Minute)
	b.Go("/console/admin/orgs")
	if b.Path() != "/console/login" {
		t.Fatalf("after 31 idle minutes: %s", b.Path())
	}
	b.Submit("form.signin", map[string]string{"#name": admin.Name, "#password": admin.Password, "#code": n.Code(admin)})
	if b.Path() != "/console/admin/orgs" {
		t.Errorf("signing in again did not return to the page: %s", b.Path())
	}
}

// TestBrowserThrottleAndPlatform: wrong passwords slow the account down
// and then lock it (the right password is refused while locked); and a
// platform's person sees and reaches none of the other roles' pages.
func TestBrowserThrottleAndPlatform(t *testing.T) {
	n := consoletest.StartNode(t)
	p := n.Person(orgs.Hotline, "NL")
	b := consoletest.NewBrowser(t, n)
	b.Go("/console/login")
	for i := 1; i <= people.DefaultLockoutAfter; i++ {
		b.Submit("form.signin", map[string]string{"#name": p.Name, "#password": "not the password at all", "#code": "123456"})
		msg := b.Text("#login-error")
		if i <= people.DefaultFreeFailures+1 && !strings.Contains(msg, "Wrong name, password or code") {
			t.Fatalf("failure %d: %q", i, msg)
		}
		if i == people.DefaultFreeFailures+1 {
			// Straight away again: the account must wait.
			b.Submit("form.signin", map[string]string{"#name": p.Name, "#password": "not the password at all", "#code": "123456"})
			if msg := b.Text("#login-error"); !strings.Contains(msg, "try again in") || b.Status() != http.StatusTooManyRequests {
				t.Fatalf("no back-off after %d failures: %d %q", i, b.Status(), msg)
			}
			b.Axe()
		}
		// Wait out each back-off on the node's clock.
		if w, _ := n.N.People.Throttle.Wait("acct:"+strings.ToLower(p.Name), n.Now()); w > 0 && i < people.DefaultLockoutAfter {
			n.Advance(w)
		}
	}
	b.Submit("form.signin", map[string]string{"#name": p.Name, "#password": p.Password, "#code": n.Code(p)})
	if msg := b.Text("#login-error"); !strings.Contains(msg, "locked") {
		t.Fatalf("right password after %d failures: %q", people.DefaultLockoutAfter, msg)
	}

	pl := n.Person(orgs.Platform, "US")
	b2 := consoletest.NewBrowser(t, n)
	b2.SignIn(n, pl)
	var allowed []string
	for _, pg := range n.N.Server.Console().Pages() {
		if pg.Method == "GET" && pg.Nav != "" && slices.Contains(pg.Roles, orgs.Platform) {
			allowed = append(allowed, pg.Nav)
		}
	}
	nav := consoletest.Run(b2, chromedp.Evaluate[[]string](`[...document.querySelectorAll('header nav a')].map(a => a.textContent)`))
	if !slices.Equal(nav, allowed) {
		t.Errorf("platform navigation %q, want %q", nav, allowed)
	}
	for _, pg := range n.N.Server.Console().Pages() {
		if pg.Method != "GET" || slices.Contains(pg.Roles, orgs.Platform) {
			continue
		}
		b2.Go(fill(pg.Path, nil))
		if b2.Status() != http.StatusForbidden {
			t.Errorf("platform person opened %s: %d", pg.Path, b2.Status())
		}
	}
	b2.Axe()
}
