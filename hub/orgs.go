package hub

import (
	"errors"
	"fmt"

	"github.com/hashhub/hashhub/auth"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/store"
)

// CreateOrg adds an organisation. Names are unique on a node.
func (s *Service) CreateOrg(a Actor, in orgs.Org) (*orgs.Org, error) {
	o := &orgs.Org{ID: newID("org_"), Name: in.Name, Kind: in.Kind, Jurisdiction: in.Jurisdiction, Created: s.now().UTC()}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	err := s.update(a, func(tx *store.Tx) error {
		if _, err := tx.OrgIDByName(o.Name); err == nil {
			return fmt.Errorf("%w: organisation %q", orgs.ErrExists, o.Name)
		}
		if err := tx.PutOrg(o); err != nil {
			return err
		}
		return record(tx, a.audit(), o.Created, "org.create", o.ID, o)
	}, func() any { return o })
	if err != nil {
		return nil, err
	}
	return o, nil
}

// Org reads one organisation.
func (s *Service) Org(id string) (*orgs.Org, error) {
	var o *orgs.Org
	err := s.db.View(func(tx *store.Tx) (err error) {
		o, err = tx.Org(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: organisation %q", orgs.ErrNotFound, id)
	}
	return o, err
}

// Orgs lists organisations after a cursor (an organisation id).
func (s *Service) Orgs(after string, limit int) ([]orgs.Org, error) {
	var out []orgs.Org
	err := s.db.View(func(tx *store.Tx) (err error) {
		out, err = tx.Orgs(after, limit)
		return err
	})
	return out, err
}

// NewUser is a created user with the secret shown once.
type NewUser struct {
	User         PublicUser `json:"user"`
	ClientID     string     `json:"client_id"`
	ClientSecret string     `json:"client_secret"`
}

// PublicUser is a user without the secret hash.
type PublicUser struct {
	ID   string `json:"id"`
	Org  string `json:"org"`
	Name string `json:"name"`
	// ClientID is empty for a person (who signs in to the console).
	ClientID string `json:"client_id"`
	Created  string `json:"created"`
	// Person marks someone who signs in to the console with a password
	// and TOTP rather than a machine client.
	Person   bool `json:"person,omitempty"`
	Disabled bool `json:"disabled,omitempty"`
}

func publicUser(u *orgs.User) PublicUser {
	return PublicUser{ID: u.ID, Org: u.Org, Name: u.Name, ClientID: u.ClientID, Created: u.Created.Format("2006-01-02T15:04:05Z07:00"),
		Person: u.Person, Disabled: u.Disabled}
}

// CreateUser adds a user to an organisation and issues client credentials.
// Only the hash of the secret is stored.
func (s *Service) CreateUser(a Actor, orgID, name string) (*NewUser, error) {
	name, err := orgs.ValidateName(name)
	if err != nil {
		return nil, err
	}
	cid, secret, hash := auth.NewClientCredentials()
	u := &orgs.User{ID: newID("usr_"), Org: orgID, Name: name, ClientID: cid, SecretHash: hash, Created: s.now().UTC()}
	nu := &NewUser{User: publicUser(u), ClientID: cid, ClientSecret: secret}
	err = s.update(a, func(tx *store.Tx) error {
		if _, err := tx.Org(orgID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: organisation %q", orgs.ErrNotFound, orgID)
			}
			return err
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return record(tx, a.audit(), u.Created, "user.create", u.ID, publicUser(u))
	}, func() any { return nu })
	if err != nil {
		return nil, err
	}
	return nu, nil
}

// Users lists an organisation's users (never their secrets).
func (s *Service) Users(orgID string) ([]PublicUser, error) {
	out := []PublicUser{}
	err := s.db.View(func(tx *store.Tx) error {
		if _, err := tx.Org(orgID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: organisation %q", orgs.ErrNotFound, orgID)
			}
			return err
		}
		us, err := tx.Users(orgID)
		for i := range us {
			out = append(out, publicUser(&us[i]))
		}
		return err
	})
	return out, err
}
