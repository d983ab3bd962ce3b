// Package orgs describes the organisations that use a node, their users and
// the roles that decide what each may do.
package orgs

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashhub/hashhub/jurisdiction"
	"github.com/hashhub/hashhub/text"
)

// Role is an organisation's kind; every user of the organisation acts in it.
type Role string

// The six roles of the design (§1).
const (
	Admin           Role = "admin"
	Hotline         Role = "hotline"
	LawEnforcement  Role = "law_enforcement"
	Platform        Role = "platform"
	HostingProvider Role = "hosting_provider"
	Peer            Role = "peer"
)

// Roles lists every role, in a stable order.
var Roles = []Role{Admin, Hotline, LawEnforcement, Platform, HostingProvider, Peer}

// Valid reports whether r is one of the six roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// Analyst reports whether users of the role assess material: the humans
// whose independent verdicts decide what is published.
func (r Role) Analyst() bool { return r == Hotline || r == LawEnforcement }

// Errors callers map to responses.
var (
	ErrInvalid  = errors.New("invalid input")
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// FieldError names the field at fault.
type FieldError struct{ Field, Reason string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap makes every FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Unspecified is the user-assigned ISO code ZZ, accepted only for a node's
// administrators when the operator did not name a jurisdiction: admins do
// not assess material, so their jurisdiction never counts toward a policy.
const Unspecified = "ZZ"

// Org is an organisation.
type Org struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Kind         Role      `json:"kind"`
	Jurisdiction string    `json:"jurisdiction"`
	Created      time.Time `json:"created"`
}

var nameRE = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} ._&()'-]{0,119}$`)

// Validate checks a new organisation and normalises its jurisdiction.
func (o *Org) Validate() error {
	o.Name = strings.TrimSpace(o.Name)
	if err := text.Name("name", o.Name); err != nil {
		return err
	}
	if !nameRE.MatchString(o.Name) {
		return &FieldError{"name", "1–120 letters, digits, spaces and . _ & ( ) ' -, starting with a letter or digit"}
	}
	if !o.Kind.Valid() {
		return &FieldError{"kind", fmt.Sprintf("%q is not one of admin, hotline, law_enforcement, platform, hosting_provider, peer", o.Kind)}
	}
	if o.Kind == Admin && o.Jurisdiction == Unspecified {
		return nil
	}
	j, err := jurisdiction.Normalize(o.Jurisdiction)
	if err != nil {
		return &FieldError{"jurisdiction", err.Error()}
	}
	o.Jurisdiction = j
	return nil
}

// User is a person (or a service account acting for one) in an
// organisation. The client secret is kept only as a hash.
type User struct {
	ID         string    `json:"id"`
	Org        string    `json:"org"`
	Name       string    `json:"name"`
	ClientID   string    `json:"client_id"`
	SecretHash string    `json:"secret_hash"`
	Created    time.Time `json:"created"`
	Disabled   bool      `json:"disabled,omitempty"`
	// Person marks a user who signs in to the console with a password and
	// TOTP (store.Person) instead of client credentials.
	Person bool `json:"person,omitempty"`
}

// ValidateName checks a user's display name.
func ValidateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if err := text.Name("name", name); err != nil {
		return "", err
	}
	if !nameRE.MatchString(name) {
		return "", &FieldError{"name", "1–120 letters, digits, spaces and . _ & ( ) ' -, starting with a letter or digit"}
	}
	return name, nil
}
