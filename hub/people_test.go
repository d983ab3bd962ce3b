package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hashhub/hashhub/audit"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/people"
	"github.com/hashhub/hashhub/store"
)

// clock is a settable clock for the people desk.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

type peopleFixture struct {
	*fixture
	p   *People
	clk *clock
}

func newPeopleFixture(t *testing.T) *peopleFixture {
	f := newFixture(t)
	p := NewPeople(f.s)
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	p.SetClock(clk.now)
	return &peopleFixture{fixture: f, p: p, clk: clk}
}

// code is the current TOTP code of secret on the fixture's clock, or the
// code of step ahead steps later.
func (f *peopleFixture) code(t *testing.T, secret string, ahead int) string {
	t.Helper()
	c, err := people.Code(secret, f.clk.t.Add(time.Duration(ahead)*people.TOTPPeriod))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolled invites a person into the NL hotline and accepts the invite.
func (f *peopleFixture) enrolled(t *testing.T, name, pw string) (user, secret string) {
	t.Helper()
	inv, err := f.p.Invite(f.admin, f.nl.Org, name)
	if err != nil {
		t.Fatal(err)
	}
	pi, err := f.p.InviteInfo(inv.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.AcceptInvite(inv.Token, pw, f.code(t, pi.TOTPSecret, 0)); err != nil {
		t.Fatal(err)
	}
	// The enrolment used this step's code; move on so sign-ins have a
	// fresh one.
	f.clk.advance(people.TOTPPeriod)
	return inv.User.ID, pi.TOTPSecret
}

func (f *peopleFixture) actions(t *testing.T) []string {
	t.Helper()
	var out []string
	err := f.s.db.View(func(tx *store.Tx) error {
		return tx.AuditEvents(0, func(_ uint64, raw []byte) (bool, error) {
			var e audit.Event
			if err := json.Unmarshal(raw, &e); err != nil {
				return false, err
			}
			out = append(out, e.Action)
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const goodPW = "a long and unusual passphrase"

func TestInviteAcceptAndSignIn(t *testing.T) {
	f := newPeopleFixture(t)
	inv, err := f.p.Invite(f.admin, f.nl.Org, "Ann Analyst")
	if err != nil {
		t.Fatal(err)
	}
	if !inv.Expires.Equal(f.clk.t.Add(24 * time.Hour)) {
		t.Errorf("invite expires %s, want 24 h from now", inv.Expires)
	}
	pi, err := f.p.InviteInfo(inv.Token)
	if err != nil || pi.Name != "Ann Analyst" || pi.OrgName != "Hotline NL" {
		t.Fatalf("invite info %+v, %v", pi, err)
	}
	// Refused attempts change nothing: the invite still works after them.
	for _, tc := range []struct {
		pw, code string
		want     error
	}{
		{"short", f.code(t, pi.TOTPSecret, 0), people.ErrWeakPassword},
		{"password1234", f.code(t, pi.TOTPSecret, 0), people.ErrWeakPassword},
		{goodPW, "000000", people.ErrBadCode},
		{goodPW, f.code(t, pi.TOTPSecret, 5), people.ErrBadCode},
	} {
		if tc.code == f.code(t, pi.TOTPSecret, 0) && tc.want == people.ErrBadCode {
			continue // 000000 may be the real code once in a million runs
		}
		if err := f.p.AcceptInvite(inv.Token, tc.pw, tc.code); !errors.Is(err, tc.want) {
			t.Errorf("accept %q/%q: %v, want %v", tc.pw, tc.code, err, tc.want)
		}
	}
	if _, _, err := f.p.SignIn("Ann Analyst", goodPW, f.code(t, pi.TOTPSecret, 0), "192.0.2.1"); !errors.Is(err, ErrBadSignIn) {
		t.Fatalf("sign-in before enrolment: %v", err)
	}
	if err := f.p.AcceptInvite(inv.Token, goodPW, f.code(t, pi.TOTPSecret, 0)); err != nil {
		t.Fatal(err)
	}
	// The link works once.
	if err := f.p.AcceptInvite(inv.Token, goodPW, f.code(t, pi.TOTPSecret, 1)); !errors.Is(err, ErrBadInvite) {
		t.Fatalf("second accept: %v", err)
	}
	if _, err := f.p.InviteInfo(inv.Token); !errors.Is(err, ErrBadInvite) {
		t.Fatalf("used invite info: %v", err)
	}
	// The enrolment's code cannot sign in (single use).
	if _, _, err := f.p.SignIn("Ann Analyst", goodPW, f.code(t, pi.TOTPSecret, 0), "192.0.2.1"); !errors.Is(err, ErrBadSignIn) {
		t.Fatalf("sign-in with the enrolment's code: %v", err)
	}
	f.clk.advance(people.TOTPPeriod)
	code := f.code(t, pi.TOTPSecret, 0)
	if _, _, err := f.p.SignIn("Ann Analyst", "a long and unusual passphrasE", code, "192.0.2.1"); !errors.Is(err, ErrBadSignIn) {
		t.Fatalf("wrong password: %v", err)
	}
	// Names are case-insensitive at sign-in.
	id, si, err := f.p.SignIn("ann analyst", goodPW, code, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if si.User != inv.User.ID || si.Role != orgs.Hotline || si.Jurisdiction != "NL" || si.CSRF == "" {
		t.Errorf("session %+v", si)
	}
	got, err := f.p.Session(id)
	if err != nil || got.User != inv.User.ID || got.CSRF != si.CSRF {
		t.Fatalf("session lookup: %+v %v", got, err)
	}
	// The same code again, within its window: refused.
	if _, _, err := f.p.SignIn("Ann Analyst", goodPW, code, "192.0.2.1"); !errors.Is(err, ErrBadSignIn) {
		t.Fatalf("replayed code: %v", err)
	}
	want := []string{"user.create", "person.invite", "person.signin_failed", "person.enrol", "person.signin_failed",
		"person.signin_failed", "person.signin", "person.signin_failed"}
	got2 := f.actions(t)
	if tail := got2[len(got2)-len(want):]; !slices.Equal(tail, want) {
		t.Errorf("audit %v, want it to end with %v", tail, want)
	}
}

func TestInviteRules(t *testing.T) {
	f := newPeopleFixture(t)
	if _, err := f.p.Invite(f.nl, f.nl.Org, "Bob"); !errors.Is(err, ErrForbidden) {
		t.Errorf("a hotline analyst invited: %v", err)
	}
	if _, err := f.p.Invite(f.admin, "org_nosuch", "Bob"); !errors.Is(err, orgs.ErrNotFound) {
		t.Errorf("unknown org: %v", err)
	}
	if _, err := f.p.Invite(f.admin, f.nl.Org, "<script>"); !errors.Is(err, orgs.ErrInvalid) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := f.p.Invite(f.admin, f.nl.Org, "Bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Invite(f.admin, f.gb.Org, "BOB"); !errors.Is(err, orgs.ErrExists) {
		t.Errorf("same name in another case: %v", err)
	}
	// Expiry: 24 h.
	inv, err := f.p.Invite(f.admin, f.nl.Org, "Carol")
	if err != nil {
		t.Fatal(err)
	}
	f.clk.advance(24*time.Hour - time.Second)
	if _, err := f.p.InviteInfo(inv.Token); err != nil {
		t.Errorf("invite just before expiry: %v", err)
	}
	f.clk.advance(time.Second)
	if _, err := f.p.InviteInfo(inv.Token); !errors.Is(err, ErrBadInvite) {
		t.Errorf("expired invite: %v", err)
	}
	for _, tok := range []string{"", "x", inv.Token + "A", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", string(bytes.Repeat([]byte("A"), 43))} {
		if err := f.p.AcceptInvite(tok, goodPW, "123456"); !errors.Is(err, ErrBadInvite) {
			t.Errorf("token %q: %v", tok, err)
		}
	}
	if _, ins, err := f.p.Sweep(); err != nil || ins != 2 {
		t.Errorf("sweep removed %d invites, %v; want the two expired ones", ins, err)
	}
}

func TestSessionIdleAndAbsoluteTimeout(t *testing.T) {
	f := newPeopleFixture(t)
	_, secret := f.enrolled(t, "Ann", goodPW)
	signIn := func() string {
		t.Helper()
		f.clk.advance(people.TOTPPeriod)
		id, _, err := f.p.SignIn("Ann", goodPW, f.code(t, secret, 0), "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Idle: 30 minutes without a request ends it.
	id := signIn()
	f.clk.advance(29 * time.Minute)
	if _, err := f.p.Session(id); err != nil {
		t.Fatalf("after 29 min idle: %v", err)
	}
	f.clk.advance(29 * time.Minute) // 29 min since the last request
	if _, err := f.p.Session(id); err != nil {
		t.Fatalf("activity did not extend the session: %v", err)
	}
	f.clk.advance(30 * time.Minute)
	if _, err := f.p.Session(id); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after 30 min idle: %v", err)
	}
	// Absolute: 12 hours however active.
	id = signIn()
	for i := 0; i < 12*60/20-1; i++ {
		f.clk.advance(20 * time.Minute)
		if _, err := f.p.Session(id); err != nil {
			t.Fatalf("active session ended after %d min: %v", (i+1)*20, err)
		}
	}
	f.clk.advance(20 * time.Minute)
	if _, err := f.p.Session(id); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after 12 h: %v", err)
	}
	if !slices.Contains(f.actions(t), "person.session_end") {
		t.Error("expiry not audited")
	}
	for _, bad := range []string{"", "nope", id + "x"} {
		if _, err := f.p.Session(bad); !errors.Is(err, ErrNoSession) {
			t.Errorf("session %q: %v", bad, err)
		}
	}
}

func TestLogoutAndLogoutEverywhere(t *testing.T) {
	f := newPeopleFixture(t)
	_, secret := f.enrolled(t, "Ann", goodPW)
	var ids []string
	for i := 0; i < 3; i++ {
		f.clk.advance(people.TOTPPeriod)
		id, _, err := f.p.SignIn("Ann", goodPW, f.code(t, secret, 0), "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := f.p.Logout(ids[0], false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Session(ids[0]); !errors.Is(err, ErrNoSession) {
		t.Errorf("logged-out session: %v", err)
	}
	if _, err := f.p.Session(ids[1]); err != nil {
		t.Errorf("another session ended with it: %v", err)
	}
	if err := f.p.Logout(ids[1], true); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := f.p.Session(id); !errors.Is(err, ErrNoSession) {
			t.Errorf("after logout everywhere: %v", err)
		}
	}
	acts := f.actions(t)
	if !slices.Contains(acts, "person.logout") || !slices.Contains(acts, "person.logout_everywhere") {
		t.Errorf("logouts not audited: %v", acts)
	}
}

func TestDisabledUserCannotSignInAndSessionsEnd(t *testing.T) {
	f := newPeopleFixture(t)
	user, secret := f.enrolled(t, "Ann", goodPW)
	id, _, err := f.p.SignIn("Ann", goodPW, f.code(t, secret, 0), "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.DisableUser(f.nl, f.nl.Org, user); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a hotline analyst disabled a user: %v", err)
	}
	if err := f.s.DisableUser(f.admin, f.gb.Org, user); !errors.Is(err, orgs.ErrNotFound) {
		t.Fatalf("user named under the wrong org: %v", err)
	}
	if err := f.s.DisableUser(f.admin, f.nl.Org, user); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Session(id); !errors.Is(err, ErrNoSession) {
		t.Errorf("session of a disabled user: %v", err)
	}
	f.clk.advance(people.TOTPPeriod)
	if _, _, err := f.p.SignIn("Ann", goodPW, f.code(t, secret, 0), "192.0.2.1"); !errors.Is(err, ErrBadSignIn) {
		t.Errorf("disabled user signed in: %v", err)
	}
}

func TestSignInThrottledPerAccountAndAddress(t *testing.T) {
	f := newPeopleFixture(t)
	_, secret := f.enrolled(t, "Ann", goodPW)
	fail := func(name, addr string) error {
		_, _, err := f.p.SignIn(name, "wrong password!!", "000000", addr)
		return err
	}
	// Per account: the free failures, then a wait, even from a new address
	// and with the right password.
	for i := 0; i < people.DefaultFreeFailures+1; i++ {
		if err := fail("Ann", "192.0.2."+string(rune('1'+i))); !errors.Is(err, ErrBadSignIn) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	var th *ThrottledError
	_, _, err := f.p.SignIn("Ann", goodPW, f.code(t, secret, 0), "198.51.100.7")
	if !errors.As(err, &th) || th.Wait != people.DefaultBaseDelay {
		t.Fatalf("right password during back-off: %v", err)
	}
	f.clk.advance(th.Wait)
	if _, _, err := f.p.SignIn("Ann", goodPW, f.code(t, secret, 0), "198.51.100.7"); err != nil {
		t.Fatalf("after waiting: %v", err)
	}
	// Per address: one address guessing many names is slowed too.
	for i := 0; i < people.DefaultFreeFailures+1; i++ {
		if err := fail("someone"+string(rune('a'+i)), "203.0.113.9"); !errors.Is(err, ErrBadSignIn) {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	if err := fail("someone else", "203.0.113.9"); !errors.As(err, &th) {
		t.Fatalf("address not throttled: %v", err)
	}
	// Lockout after the limit.
	for i := 0; i < people.DefaultLockoutAfter; i++ {
		if w, _ := f.p.Throttle.Wait("acct:bob", f.clk.t); w > 0 {
			f.clk.advance(w)
		}
		fail("Bob", "192.0.2."+string(rune('a'+i)))
	}
	if err := fail("Bob", "192.0.2.200"); !errors.As(err, &th) || !th.Locked {
		t.Fatalf("no lockout: %v", err)
	}
	if !slices.Contains(f.actions(t), "person.signin_failed") {
		t.Error("failures not audited")
	}
}

// TestSecretsOnlyHashedAtRest: neither a session id nor an invite token is
// in the store file.
func TestSecretsOnlyHashedAtRest(t *testing.T) {
	f := newPeopleFixture(t)
	inv, err := f.p.Invite(f.admin, f.nl.Org, "Dan")
	if err != nil {
		t.Fatal(err)
	}
	_, secret := f.enrolled(t, "Ann", goodPW)
	id, _, err := f.p.SignIn("Ann", goodPW, f.code(t, secret, 0), "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(f.s.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]string{"session id": id, "invite token": inv.Token, "password": goodPW} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the store file holds the %s in clear", what)
		}
	}
}
