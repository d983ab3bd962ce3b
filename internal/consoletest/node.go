// Package consoletest drives the web console in tests the way people use
// it: a real node (bbolt in a temp dir) served on 127.0.0.1, people created
// through the real invite flow (the invite page, a password, a TOTP code
// computed as an authenticator app would), and Debian's chromium driven by
// chromedp, with an axe-core check and screenshots.
//
// A test binary shares one browser (started on first use); each test gets
// its own browser context, so cookies never leak between tests. Call Main
// from TestMain to close the browser at the end.
package consoletest

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/people"
)

// Node is a running node for console tests.
type Node struct {
	T   testing.TB
	N   *node.Node
	URL string
	// Admin is the node's first administrator (a machine user created by
	// init), as an Actor for direct hub calls that set up a scenario.
	Admin hub.Actor

	offset atomic.Int64 // added to the wall clock (Advance)
	seq    atomic.Int64
}

// StartNode initialises a node in a temp directory and serves it on
// 127.0.0.1. Its people desk runs on a clock the test can move (Advance).
func StartNode(t testing.TB) *Node {
	t.Helper()
	dir := t.TempDir()
	if _, err := node.Init(dir, "node-a", "NL"); err != nil {
		t.Fatalf("init node: %v", err)
	}
	n, err := node.Open(dir, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open node: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	tn := &Node{T: t, N: n}
	n.People.SetClock(tn.Now)
	srv := httptest.NewServer(n.Server)
	t.Cleanup(srv.Close)
	tn.URL = srv.URL
	// The init admin is the only user; find it for an Actor.
	os, err := n.Hub.Orgs("", 10)
	if err != nil || len(os) != 1 {
		t.Fatalf("admin org: %v %v", os, err)
	}
	us, err := n.Hub.Users(os[0].ID)
	if err != nil || len(us) != 1 {
		t.Fatalf("admin user: %v %v", us, err)
	}
	tn.Admin = hub.Actor{User: us[0].ID, Org: os[0].ID, Role: orgs.Admin, Jurisdiction: os[0].Jurisdiction}
	return tn
}

// Now is the people desk's clock: the wall clock plus what Advance added.
func (n *Node) Now() time.Time { return time.Now().Add(time.Duration(n.offset.Load())) }

// Advance moves the people desk's clock forward (session expiry, invite
// expiry).
func (n *Node) Advance(d time.Duration) { n.offset.Add(int64(d)) }

// Org creates an organisation of a kind and returns its id.
func (n *Node) Org(kind orgs.Role, jur string) string {
	n.T.Helper()
	name := fmt.Sprintf("%s %s %d", strings.ReplaceAll(string(kind), "_", " "), jur, n.seq.Add(1))
	o, err := n.N.Hub.CreateOrg(n.Admin, orgs.Org{Name: name, Kind: kind, Jurisdiction: jur})
	if err != nil {
		n.T.Fatalf("create org: %v", err)
	}
	return o.ID
}

// Person is someone who can sign in to the console.
type Person struct {
	Name       string
	Password   string
	TOTPSecret string
	User       string
	Org        string
	Role       orgs.Role

	mu       sync.Mutex
	lastStep int64
}

// Person creates an organisation of the kind in jurisdiction jur and one
// person in it, through the invite flow.
func (n *Node) Person(kind orgs.Role, jur string) *Person {
	n.T.Helper()
	return n.PersonIn(n.Org(kind, jur), kind, "")
}

// PersonIn invites a person into org (of the given kind) and accepts the
// invite as they would: it opens the invite page, reads the TOTP secret
// shown there, and posts a password and a first code. An empty name gets
// a unique one.
func (n *Node) PersonIn(org string, kind orgs.Role, name string) *Person {
	n.T.Helper()
	if name == "" {
		name = fmt.Sprintf("%s person %d", strings.ReplaceAll(string(kind), "_", " "), n.seq.Add(1))
	}
	inv, err := n.N.People.Invite(n.Admin, org, name)
	if err != nil {
		n.T.Fatalf("invite: %v", err)
	}
	p := &Person{Name: name, Password: "a long passphrase for " + name, User: inv.User.ID, Org: org, Role: kind}
	n.Accept(p, InviteURL(n.URL, inv.Token))
	return p
}

// InviteURL is the invite link for a token.
func InviteURL(base, token string) string { return base + "/console/invite/" + token }

var (
	secretRE = regexp.MustCompile(`id="totp-secret"[^>]*>([A-Z2-7]+)<`)
	csrfRE   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// Accept accepts an invite link over plain HTTP (a cookie jar, no
// browser) with p's password, filling in p.TOTPSecret from the page.
func (n *Node) Accept(p *Person, link string) {
	n.T.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(link)
	if err != nil {
		n.T.Fatalf("invite page: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		n.T.Fatalf("invite page: %d\n%s", resp.StatusCode, body)
	}
	sm, cm := secretRE.FindSubmatch(body), csrfRE.FindSubmatch(body)
	if sm == nil || cm == nil {
		n.T.Fatalf("invite page shows no secret or form token:\n%s", body)
	}
	p.TOTPSecret = string(sm[1])
	form := url.Values{"csrf": {string(cm[1])}, "password": {p.Password}, "password2": {p.Password}, "code": {n.Code(p)}}
	resp, err = cl.PostForm(link, form)
	if err != nil {
		n.T.Fatalf("accept invite: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		n.T.Fatalf("accept invite: %d\n%s", resp.StatusCode, body)
	}
}

// Code returns a TOTP code for p that the node has not seen yet, as an
// authenticator app shows it: codes are single-use, so a second sign-in in
// the same 30 s takes the next step's code (accepted one step early), and
// beyond that waits for the clock.
func (n *Node) Code(p *Person) string {
	n.T.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		now := n.Now()
		step := people.Step(now)
		if step <= p.lastStep {
			step = p.lastStep + 1
		}
		if step <= people.Step(now)+people.TOTPSkew {
			p.lastStep = step
			code, err := people.Code(p.TOTPSecret, time.Unix(step*int64(people.TOTPPeriod/time.Second), 0))
			if err != nil {
				n.T.Fatalf("totp: %v", err)
			}
			return code
		}
		time.Sleep(time.Second)
	}
}
