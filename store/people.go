package store

import (
	"encoding/json"
	"time"
)

// People: the users who sign in to the console (password and TOTP), their
// invites and their sessions. Secrets that grant access (invite tokens,
// session ids) are stored only as their SHA-256, so a copy of the store
// does not sign anyone in.
var (
	bPeople       = []byte("people")        // user id → Person
	bPersonNames  = []byte("person_names")  // lower-case sign-in name → user id
	bInvites      = []byte("invites")       // token hash → Invite
	bSessions     = []byte("sessions")      // session id hash → Session
	bUserSessions = []byte("user_sessions") // user id \x00 session id hash → nothing
)

func init() {
	allBuckets = append(allBuckets, bPeople, bPersonNames, bInvites, bSessions, bUserSessions)
}

// Person is a person's sign-in credentials. PasswordHash is empty until
// the invite is accepted.
type Person struct {
	User string `json:"user"`
	Name string `json:"name"` // sign-in name, unique on the node (case-insensitive)
	// PasswordHash is the argon2id hash (PHC string).
	PasswordHash string `json:"password_hash,omitempty"`
	// TOTPSecret is the base32 second-factor secret; the node must know it
	// to check codes.
	TOTPSecret string `json:"totp_secret,omitempty"`
	// TOTPLast is the time step of the last code accepted: a code of that
	// step or an earlier one is refused, so a code is used once.
	TOTPLast int64     `json:"totp_last,omitempty"`
	Enrolled time.Time `json:"enrolled,omitzero"`
}

// Invite is a one-time link to set a password and enrol TOTP.
type Invite struct {
	User    string    `json:"user"`
	Org     string    `json:"org"`
	Name    string    `json:"name"`
	By      string    `json:"by"` // the admin's user id
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// TOTPSecret is drawn when the invite is made so that the page that
	// shows it and the form that confirms it agree.
	TOTPSecret string `json:"totp_secret"`
}

// Session is a signed-in person's server-side session.
type Session struct {
	IDHash   string    `json:"id_hash"`
	User     string    `json:"user"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
	// CSRF is the token every form of the session carries.
	CSRF string `json:"csrf"`
	Addr string `json:"addr,omitempty"`
}

// Person reads a person's credentials by user id.
func (t *Tx) Person(user string) (*Person, error) {
	var p Person
	return &p, t.get(bPeople, user, &p)
}

// PersonByName finds a person by sign-in name (any case).
func (t *Tx) PersonByName(lowerName string) (*Person, error) {
	v := t.b(bPersonNames).Get([]byte(lowerName))
	if v == nil {
		return nil, ErrNotFound
	}
	return t.Person(string(v))
}

// PutPerson writes a person and the name index (lowerName).
func (t *Tx) PutPerson(p *Person, lowerName string) error {
	if err := t.b(bPersonNames).Put([]byte(lowerName), []byte(p.User)); err != nil {
		return err
	}
	return t.put(bPeople, p.User, p)
}

// PersonNameTaken reports whether a sign-in name is in use.
func (t *Tx) PersonNameTaken(lowerName string) bool {
	return t.b(bPersonNames).Get([]byte(lowerName)) != nil
}

// Invite reads an invite by token hash.
func (t *Tx) Invite(hash string) (*Invite, error) {
	var in Invite
	return &in, t.get(bInvites, hash, &in)
}

// PutInvite writes an invite under its token hash.
func (t *Tx) PutInvite(hash string, in *Invite) error { return t.put(bInvites, hash, in) }

// DeleteInvite removes an invite (used or expired).
func (t *Tx) DeleteInvite(hash string) error { return t.b(bInvites).Delete([]byte(hash)) }

// Session reads a session by id hash.
func (t *Tx) Session(hash string) (*Session, error) {
	var s Session
	return &s, t.get(bSessions, hash, &s)
}

// PutSession writes a session and its per-user index.
func (t *Tx) PutSession(s *Session) error {
	if err := t.b(bUserSessions).Put([]byte(s.User+"\x00"+s.IDHash), []byte{}); err != nil {
		return err
	}
	return t.put(bSessions, s.IDHash, s)
}

// DeleteSession removes a session.
func (t *Tx) DeleteSession(s *Session) error {
	if err := t.b(bUserSessions).Delete([]byte(s.User + "\x00" + s.IDHash)); err != nil {
		return err
	}
	return t.b(bSessions).Delete([]byte(s.IDHash))
}

// DeleteUserSessions removes every session of a user and returns how many.
func (t *Tx) DeleteUserSessions(user string) (int, error) {
	var hashes []string
	err := t.scan(bUserSessions, user+"\x00", "", func(k, _ []byte) (bool, error) {
		hashes = append(hashes, string(k[len(user)+1:]))
		return true, nil
	})
	if err != nil {
		return 0, err
	}
	for _, h := range hashes {
		if err := t.b(bSessions).Delete([]byte(h)); err != nil {
			return 0, err
		}
		if err := t.b(bUserSessions).Delete([]byte(user + "\x00" + h)); err != nil {
			return 0, err
		}
	}
	return len(hashes), nil
}

// ExpiredSessions lists sessions for which expired returns true (the
// housekeeping sweep; sessions are few).
func (t *Tx) ExpiredSessions(expired func(*Session) bool) ([]Session, error) {
	var out []Session
	err := t.scan(bSessions, "", "", func(_, v []byte) (bool, error) {
		var s Session
		if err := json.Unmarshal(v, &s); err != nil {
			return false, err
		}
		if expired(&s) {
			out = append(out, s)
		}
		return true, nil
	})
	return out, err
}

// ExpiredInvites lists the token hashes of invites past their expiry.
func (t *Tx) ExpiredInvites(now time.Time) ([]string, error) {
	var out []string
	err := t.scan(bInvites, "", "", func(k, v []byte) (bool, error) {
		var in Invite
		if err := json.Unmarshal(v, &in); err != nil {
			return false, err
		}
		if !now.Before(in.Expires) {
			out = append(out, string(k))
		}
		return true, nil
	})
	return out, err
}
