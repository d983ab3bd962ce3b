// Package hub is the node's domain service: it applies the rules of
// organisations, assessments, disputes and lists, and records every change
// in the audit chain in the same transaction as the change itself. The HTTP
// layer calls it; it knows nothing about HTTP.
package hub

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashhub/hashhub/audit"
	"github.com/hashhub/hashhub/auth"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/store"
)

// Errors the HTTP layer maps to responses (besides the domain packages' own).
var (
	ErrForbidden      = errors.New("not allowed")
	ErrBadCredentials = errors.New("unknown client or wrong secret")
	ErrConflict       = errors.New("conflict")
)

// Actor is the authenticated user a change is made by.
type Actor struct {
	User         string
	Org          string
	Role         orgs.Role
	Jurisdiction string
	// Replay, when set, keeps the answer to the request that makes the
	// change (one carrying an Idempotency-Key) in the change's own
	// transaction: a node that stops after the commit and before it
	// answers still answers a retry with the original outcome, and the
	// change is not made twice.
	Replay Replay
}

// Replay keeps a request's outcome for retries.
type Replay interface {
	// Keep writes the outcome of the change, result, inside tx. Each
	// creating write path calls it with the value it returns.
	Keep(tx *store.Tx, result any) error
}

func (a Actor) audit() audit.Actor {
	return audit.Actor{User: a.User, Org: a.Org, Role: string(a.Role)}
}

// keep hands a change's result to the request's Replay, in the change's
// transaction; nothing when the request asked for no replay.
func (a Actor) keep(tx *store.Tx, result any) error {
	if a.Replay == nil {
		return nil
	}
	return a.Replay.Keep(tx, result)
}

// Service is a node's domain service.
type Service struct {
	db     *store.DB
	nodeID string
	now    func() time.Time
	pub    *Publisher
	// recordKey signs the records of what this node's analysts say.
	recordKey ed25519.PrivateKey
	// PeerBatch overrides DefaultPeerBatch (0 keeps the default).
	PeerBatch int
	// released wakes long polls on a list's latest release;
	// peersChanged wakes the peer syncer.
	released     notifier
	peersChanged notifier
	// onRelease, if set, runs after each release commits (the node uses
	// it to ask its witnesses for cosignatures at once).
	onRelease func()
	// ImportBatch is how many import lines are sorted in memory per run
	// and committed per transaction.
	ImportBatch int
	// TempDir holds an import's sorted runs (default: the system's).
	TempDir string

	// caches hold each released list's set-root buckets between builds
	// (release_cache.go).
	cacheMu sync.Mutex
	caches  map[string]*listCache

	// audited is how far the node's overview has verified the audit
	// chain (overview.go).
	audited auditMark

	// listsCache holds the lists for filing entries in the review index
	// (review_index.go); nil after a list changes.
	listsMu    sync.Mutex
	listsCache []lists.List

	// stagedStop, if set and true after a step of a staged build, stops
	// the build there (tests: a node stopped between two steps).
	stagedStop func() bool
}

// DefaultImportBatch balances memory (a run and a batch are held decoded)
// against the number of commits; measured in docs/PERFORMANCE.md.
const DefaultImportBatch = 25_000

// New returns the service for a node.
func New(db *store.DB, nodeID string) *Service {
	return &Service{db: db, nodeID: nodeID, now: time.Now, ImportBatch: DefaultImportBatch}
}

// NodeID is this node's identifier, the origin of its assessments.
func (s *Service) NodeID() string { return s.nodeID }

// DB is the store (for read-only helpers such as health checks).
func (s *Service) DB() *store.DB { return s.db }

// update runs fn in a write transaction and then keeps the request's
// outcome in the same transaction (see Actor.Replay). result is called once
// fn has succeeded, when the values it names are set.
func (s *Service) update(a Actor, fn func(tx *store.Tx) error, result func() any) error {
	return s.db.Update(func(tx *store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return a.keep(tx, result())
	})
}

// record appends an audit event for a change inside tx.
func record(tx *store.Tx, a audit.Actor, at time.Time, action, object string, change any) error {
	return tx.AppendAudit(&audit.Event{
		Time: at, Actor: a, Action: action, Object: object, Digest: audit.DigestOf(change),
	})
}

// Bootstrap creates the node's admin organisation and its first user, once.
// It returns the new user's client id and secret (shown once, never stored).
func (s *Service) Bootstrap(orgName, jur string) (clientID, secret string, err error) {
	err = s.db.Update(func(tx *store.Tx) error {
		var done bool
		if tx.Meta("bootstrapped", &done) == nil && done {
			return fmt.Errorf("%w: node already initialised", ErrConflict)
		}
		now := s.now().UTC()
		o := &orgs.Org{ID: newID("org_"), Name: orgName, Kind: orgs.Admin, Jurisdiction: jur, Created: now}
		if err := o.Validate(); err != nil {
			return err
		}
		if err := tx.PutOrg(o); err != nil {
			return err
		}
		var hash string
		clientID, secret, hash = auth.NewClientCredentials()
		u := &orgs.User{ID: newID("usr_"), Org: o.ID, Name: "admin", ClientID: clientID, SecretHash: hash, Created: now}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		if err := tx.PutMeta("bootstrapped", true); err != nil {
			return err
		}
		if err := tx.PutMeta("node_id", s.nodeID); err != nil {
			return err
		}
		if err := record(tx, audit.System, now, "org.create", o.ID, o); err != nil {
			return err
		}
		return record(tx, audit.System, now, "user.create", u.ID, publicUser(u))
	})
	return clientID, secret, err
}

// Authenticate checks client credentials and returns who they belong to.
func (s *Service) Authenticate(clientID, secret string) (Actor, error) {
	var a Actor
	err := s.db.View(func(tx *store.Tx) error {
		u, err := tx.UserByClientID(clientID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				// Spend the same work as a real check so timing does not
				// reveal which client ids exist.
				auth.CheckSecret(secret, "")
				return ErrBadCredentials
			}
			return err
		}
		if !auth.CheckSecret(secret, u.SecretHash) || u.Disabled {
			return ErrBadCredentials
		}
		o, err := tx.Org(u.Org)
		if err != nil {
			return err
		}
		a = Actor{User: u.ID, Org: o.ID, Role: o.Kind, Jurisdiction: o.Jurisdiction}
		return nil
	})
	return a, err
}

// OnRelease sets a function to run after each release commits.
func (s *Service) OnRelease(f func()) { s.onRelease = f }
