package hub

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashhub/hashhub/audit"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/people"
	"github.com/hashhub/hashhub/store"
)

// The console's session and invite lifetimes.
const (
	DefaultInviteTTL   = 24 * time.Hour
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxSession  = 12 * time.Hour
	// touchEvery bounds how often a session's last-seen time is written:
	// a page view within it costs no write.
	touchEvery = time.Minute
	// MaxSignInName bounds the name a sign-in form may carry.
	MaxSignInName = 120
)

// Errors of the people desk.
var (
	// ErrBadSignIn is every refused sign-in: unknown name, wrong password,
	// wrong or reused code, not enrolled or disabled. One error for all, so
	// the answer does not tell which names exist.
	ErrBadSignIn = errors.New("wrong name, password or code")
	// ErrBadInvite is an invite link that is unknown, used or expired.
	ErrBadInvite = errors.New("invite link unknown, used or expired")
	// ErrNoSession is a missing, expired or ended session.
	ErrNoSession = errors.New("not signed in, or the session has ended")
)

// ThrottledError is a sign-in refused before it is checked because the
// account or the address failed too often; Wait is how long until the next
// attempt is heard.
type ThrottledError struct {
	Wait   time.Duration
	Locked bool
}

func (e *ThrottledError) Error() string {
	if e.Locked {
		return fmt.Sprintf("too many failed sign-ins: locked for %s", e.Wait.Round(time.Second))
	}
	return fmt.Sprintf("too many failed sign-ins: try again in %s", e.Wait.Round(time.Second))
}

// People is the node's desk for the people who use the console: invites,
// enrolment, sign-in and sessions. Machine users (client credentials) are
// not affected by it.
type People struct {
	s        *Service
	Throttle *people.Throttle
	// InviteTTL, IdleTimeout and MaxSession default to the constants above.
	InviteTTL   time.Duration
	IdleTimeout time.Duration
	MaxSession  time.Duration

	mu    sync.Mutex
	clock func() time.Time
}

// NewPeople returns the people desk of a node.
func NewPeople(s *Service) *People {
	return &People{s: s, Throttle: people.NewThrottle(), InviteTTL: DefaultInviteTTL,
		IdleTimeout: DefaultIdleTimeout, MaxSession: DefaultMaxSession, clock: time.Now}
}

// SetClock replaces the clock (tests move time to expire sessions and
// invites, and to step TOTP codes).
func (p *People) SetClock(f func() time.Time) {
	p.mu.Lock()
	p.clock = f
	p.mu.Unlock()
}

// Now is the desk's current time.
func (p *People) Now() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clock().UTC()
}

// secretHash is how invite tokens and session ids are kept at rest.
func secretHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

func newSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewInvite is an invite with its one-time token (shown once; the node
// keeps only its hash).
type NewInvite struct {
	User    PublicUser `json:"user"`
	Token   string     `json:"token"`
	Expires time.Time  `json:"expires"`
}

// Invite creates a person in an organisation, not yet able to sign in, and
// a one-time invite to set their password and second factor. The name is
// also the sign-in name and is unique on the node (in any case).
func (p *People) Invite(a Actor, orgID, name string) (*NewInvite, error) {
	if a.Role != orgs.Admin {
		return nil, ErrForbidden
	}
	name, err := orgs.ValidateName(name)
	if err != nil {
		return nil, err
	}
	now := p.Now()
	tok := newSecret()
	u := &orgs.User{ID: newID("usr_"), Org: orgID, Name: name, Created: now, Person: true}
	in := &store.Invite{User: u.ID, Org: orgID, Name: name, By: a.User, Created: now,
		Expires: now.Add(p.InviteTTL), TOTPSecret: people.NewTOTPSecret()}
	out := &NewInvite{User: publicUser(u), Token: tok, Expires: in.Expires}
	err = p.s.update(a, func(tx *store.Tx) error {
		if _, err := tx.Org(orgID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: organisation %q", orgs.ErrNotFound, orgID)
			}
			return err
		}
		lower := strings.ToLower(name)
		if tx.PersonNameTaken(lower) {
			return fmt.Errorf("%w: a person named %q", orgs.ErrExists, name)
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		if err := tx.PutPerson(&store.Person{User: u.ID, Name: name}, lower); err != nil {
			return err
		}
		if err := tx.PutInvite(secretHash(tok), in); err != nil {
			return err
		}
		if err := record(tx, a.audit(), now, "user.create", u.ID, publicUser(u)); err != nil {
			return err
		}
		return record(tx, a.audit(), now, "person.invite", u.ID, struct {
			User    string    `json:"user"`
			Expires time.Time `json:"expires"`
		}{u.ID, in.Expires})
	}, func() any { return out })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PendingInvite is what the invite page shows: who is invited, to which
// organisation, and the second-factor secret to enrol.
type PendingInvite struct {
	Name       string
	OrgName    string
	TOTPSecret string
	Expires    time.Time
}

// validToken bounds what is looked up: tokens are 43 base64url characters.
func validToken(tok string) bool {
	if len(tok) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(tok)
	return err == nil
}

// readInvite finds a live invite by token.
func (p *People) readInvite(tx *store.Tx, tok string, now time.Time) (*store.Invite, error) {
	if !validToken(tok) {
		return nil, ErrBadInvite
	}
	in, err := tx.Invite(secretHash(tok))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBadInvite
	}
	if err != nil {
		return nil, err
	}
	if !now.Before(in.Expires) {
		return nil, ErrBadInvite
	}
	return in, nil
}

// InviteInfo reads a live invite for its page.
func (p *People) InviteInfo(tok string) (*PendingInvite, error) {
	var out *PendingInvite
	err := p.s.db.View(func(tx *store.Tx) error {
		in, err := p.readInvite(tx, tok, p.Now())
		if err != nil {
			return err
		}
		o, err := tx.Org(in.Org)
		if err != nil {
			return err
		}
		out = &PendingInvite{Name: in.Name, OrgName: o.Name, TOTPSecret: in.TOTPSecret, Expires: in.Expires}
		return nil
	})
	return out, err
}

// AcceptInvite sets the person's password and enrols their second factor,
// confirmed by a first code; the invite is used up. Nothing changes when
// any of it is refused.
func (p *People) AcceptInvite(tok, password, code string) error {
	now := p.Now()
	var in *store.Invite
	if err := p.s.db.View(func(tx *store.Tx) (err error) {
		in, err = p.readInvite(tx, tok, now)
		return err
	}); err != nil {
		return err
	}
	if err := people.CheckPassword(password, in.Name); err != nil {
		return err
	}
	step, err := people.CheckCode(in.TOTPSecret, code, now, 0)
	if err != nil {
		return err
	}
	// Hash outside the write transaction: it takes tens of milliseconds.
	hash := people.HashPassword(password)
	return p.s.db.Update(func(tx *store.Tx) error {
		in2, err := p.readInvite(tx, tok, now)
		if err != nil {
			return err // used meanwhile
		}
		u, err := tx.User(in2.User)
		if err != nil {
			return err
		}
		if u.Disabled {
			return ErrBadInvite
		}
		o, err := tx.Org(u.Org)
		if err != nil {
			return err
		}
		per, err := tx.Person(u.ID)
		if err != nil {
			return err
		}
		per.PasswordHash, per.TOTPSecret, per.TOTPLast, per.Enrolled = hash, in2.TOTPSecret, step, now
		if err := tx.PutPerson(per, strings.ToLower(per.Name)); err != nil {
			return err
		}
		if err := tx.DeleteInvite(secretHash(tok)); err != nil {
			return err
		}
		act := audit.Actor{User: u.ID, Org: o.ID, Role: string(o.Kind)}
		return record(tx, act, now, "person.enrol", u.ID, struct {
			User string `json:"user"`
		}{u.ID})
	})
}

// SessionInfo is a live session and who it belongs to.
type SessionInfo struct {
	IDHash       string
	User         string
	UserName     string
	Org          string
	OrgName      string
	Role         orgs.Role
	Jurisdiction string
	CSRF         string
	Created      time.Time
	LastSeen     time.Time
	// Expires is when the session ends if nothing happens (the earlier
	// of the idle and the absolute limit).
	Expires time.Time
}

// Actor is who the session acts as.
func (si *SessionInfo) Actor() Actor {
	return Actor{User: si.User, Org: si.Org, Role: si.Role, Jurisdiction: si.Jurisdiction}
}

// SignIn checks a person's name, password and TOTP code and opens a
// session; it returns the session id (for the cookie; the node keeps only
// its hash). addr is the client's address, for throttling and the audit.
func (p *People) SignIn(name, password, code, addr string) (string, *SessionInfo, error) {
	now := p.Now()
	lower := strings.ToLower(strings.TrimSpace(name))
	if len(lower) > MaxSignInName || !utf8.ValidString(lower) {
		lower = "(invalid name)"
	}
	acctKey, addrKey := "acct:"+lower, "addr:"+addr
	for _, k := range []string{acctKey, addrKey} {
		if wait, locked := p.Throttle.Wait(k, now); wait > 0 {
			p.auditFailure(lower, addr, "throttled", now)
			return "", nil, &ThrottledError{Wait: wait, Locked: locked}
		}
	}
	var per *store.Person
	var u *orgs.User
	_ = p.s.db.View(func(tx *store.Tx) error {
		var err error
		if per, err = tx.PersonByName(lower); err != nil {
			per = nil
			return nil
		}
		if u, err = tx.User(per.User); err != nil {
			u = nil
		}
		return nil
	})
	hash := ""
	if per != nil {
		hash = per.PasswordHash
	}
	ok := people.VerifyPassword(password, hash) && per != nil && u != nil && !u.Disabled && per.TOTPSecret != ""
	var step int64
	if ok {
		var err error
		step, err = people.CheckCode(per.TOTPSecret, code, now, per.TOTPLast)
		ok = err == nil
	}
	if !ok {
		reason := "wrong password or code"
		if u != nil && u.Disabled {
			reason = "disabled"
		}
		p.Throttle.Fail(acctKey, now)
		p.Throttle.Fail(addrKey, now)
		p.auditFailure(lower, addr, reason, now)
		return "", nil, ErrBadSignIn
	}
	id := newSecret()
	sess := &store.Session{IDHash: secretHash(id), User: u.ID, Created: now, LastSeen: now, CSRF: newSecret(), Addr: addr}
	var info *SessionInfo
	err := p.s.db.Update(func(tx *store.Tx) error {
		per2, err := tx.Person(u.ID)
		if err != nil {
			return err
		}
		// The same code sent twice at once: only one of them signs in.
		if per2.TOTPLast >= step {
			return ErrBadSignIn
		}
		per2.TOTPLast = step
		if err := tx.PutPerson(per2, lower); err != nil {
			return err
		}
		if err := tx.PutSession(sess); err != nil {
			return err
		}
		if info, err = p.sessionInfo(tx, sess, now); err != nil {
			return err
		}
		return record(tx, info.Actor().audit(), now, "person.signin", u.ID, struct {
			Addr string `json:"addr"`
		}{addr})
	})
	if err != nil {
		return "", nil, err
	}
	p.Throttle.Succeed(acctKey)
	return id, info, nil
}

// auditFailure records a refused sign-in. The actor is the person the name
// belongs to when there is one, so an account's failures read together.
func (p *People) auditFailure(lower, addr, reason string, now time.Time) {
	_ = p.s.db.Update(func(tx *store.Tx) error {
		act := audit.Actor{User: "anonymous", Org: "-", Role: "-"}
		obj := "person:" + lower
		if per, err := tx.PersonByName(lower); err == nil {
			if u, err := tx.User(per.User); err == nil {
				if o, err := tx.Org(u.Org); err == nil {
					act = audit.Actor{User: u.ID, Org: o.ID, Role: string(o.Kind)}
					obj = u.ID
				}
			}
		}
		return record(tx, act, now, "person.signin_failed", obj, struct {
			Name   string `json:"name"`
			Addr   string `json:"addr"`
			Reason string `json:"reason"`
		}{lower, addr, reason})
	})
}

func (p *People) sessionInfo(tx *store.Tx, s *store.Session, now time.Time) (*SessionInfo, error) {
	u, err := tx.User(s.User)
	if err != nil {
		return nil, err
	}
	o, err := tx.Org(u.Org)
	if err != nil {
		return nil, err
	}
	exp := s.LastSeen.Add(p.IdleTimeout)
	if abs := s.Created.Add(p.MaxSession); abs.Before(exp) {
		exp = abs
	}
	return &SessionInfo{IDHash: s.IDHash, User: u.ID, UserName: u.Name, Org: o.ID, OrgName: o.Name, Role: o.Kind,
		Jurisdiction: o.Jurisdiction, CSRF: s.CSRF, Created: s.Created, LastSeen: s.LastSeen, Expires: exp}, nil
}

// Session returns the live session with id and counts the request as
// activity. An expired session, or one whose user was disabled, is ended.
func (p *People) Session(id string) (*SessionInfo, error) {
	if !validToken(id) {
		return nil, ErrNoSession
	}
	now := p.Now()
	h := secretHash(id)
	var info *SessionInfo
	var touch, end bool
	err := p.s.db.View(func(tx *store.Tx) error {
		s, err := tx.Session(h)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoSession
		}
		if err != nil {
			return err
		}
		u, err := tx.User(s.User)
		if err != nil || u.Disabled || p.expired(s, now) {
			end = true
			return ErrNoSession
		}
		touch = now.Sub(s.LastSeen) >= touchEvery
		info, err = p.sessionInfo(tx, s, now)
		return err
	})
	if end {
		p.end(h)
	}
	if err != nil {
		return nil, err
	}
	if touch {
		err = p.s.db.Update(func(tx *store.Tx) error {
			s, err := tx.Session(h)
			if err != nil {
				return ErrNoSession
			}
			s.LastSeen = now
			if err := tx.PutSession(s); err != nil {
				return err
			}
			info, err = p.sessionInfo(tx, s, now)
			return err
		})
	}
	return info, err
}

func (p *People) expired(s *store.Session, now time.Time) bool {
	return !now.Before(s.LastSeen.Add(p.IdleTimeout)) || !now.Before(s.Created.Add(p.MaxSession))
}

// end removes an expired session (audited as such).
func (p *People) end(h string) {
	now := p.Now()
	_ = p.s.db.Update(func(tx *store.Tx) error {
		s, err := tx.Session(h)
		if err != nil {
			return nil
		}
		if err := tx.DeleteSession(s); err != nil {
			return err
		}
		return record(tx, audit.System, now, "person.session_end", s.User, struct {
			User string `json:"user"`
		}{s.User})
	})
}

// Logout ends one session; everywhere ends every session of its user.
func (p *People) Logout(id string, everywhere bool) error {
	if !validToken(id) {
		return ErrNoSession
	}
	now := p.Now()
	return p.s.db.Update(func(tx *store.Tx) error {
		s, err := tx.Session(secretHash(id))
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoSession
		}
		if err != nil {
			return err
		}
		info, err := p.sessionInfo(tx, s, now)
		if err != nil {
			return err
		}
		action, n := "person.logout", 1
		if everywhere {
			action = "person.logout_everywhere"
			if n, err = tx.DeleteUserSessions(s.User); err != nil {
				return err
			}
		} else if err := tx.DeleteSession(s); err != nil {
			return err
		}
		return record(tx, info.Actor().audit(), now, action, s.User, struct {
			Sessions int `json:"sessions"`
		}{n})
	})
}

// Sweep removes expired sessions and invites; the node calls it from its
// housekeeping. It returns how many of each went.
func (p *People) Sweep() (sessions, invites int, err error) {
	now := p.Now()
	err = p.s.db.Update(func(tx *store.Tx) error {
		ss, err := tx.ExpiredSessions(func(s *store.Session) bool { return p.expired(s, now) })
		if err != nil {
			return err
		}
		for i := range ss {
			if err := tx.DeleteSession(&ss[i]); err != nil {
				return err
			}
		}
		ins, err := tx.ExpiredInvites(now)
		if err != nil {
			return err
		}
		for _, h := range ins {
			if err := tx.DeleteInvite(h); err != nil {
				return err
			}
		}
		sessions, invites = len(ss), len(ins)
		return nil
	})
	return sessions, invites, err
}

// DisableUser stops a user (person or machine client) from signing in or
// getting tokens, and ends their console sessions, in one transaction.
func (s *Service) DisableUser(a Actor, orgID, userID string) error {
	if a.Role != orgs.Admin {
		return ErrForbidden
	}
	now := s.now().UTC()
	return s.update(a, func(tx *store.Tx) error {
		u, err := tx.User(userID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && u.Org != orgID) {
			return fmt.Errorf("%w: user %q in organisation %q", orgs.ErrNotFound, userID, orgID)
		}
		if err != nil {
			return err
		}
		if u.ID == a.User {
			return fmt.Errorf("%w: an administrator cannot disable themselves", orgs.ErrInvalid)
		}
		if u.Disabled {
			return nil
		}
		u.Disabled = true
		if err := tx.PutUser(u); err != nil {
			return err
		}
		n, err := tx.DeleteUserSessions(u.ID)
		if err != nil {
			return err
		}
		return record(tx, a.audit(), now, "user.disable", u.ID, struct {
			User     string `json:"user"`
			Sessions int    `json:"sessions"`
		}{u.ID, n})
	}, func() any { return nil })
}
