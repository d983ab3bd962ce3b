package hub

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/store"
)

// AddPeer registers another node. It gets a local organisation of kind
// peer, which its requests act as; the organisation's name is the peer's.
func (s *Service) AddPeer(a Actor, p peers.Peer) (*peers.Peer, error) {
	if err := p.Validate(s.nodeID); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	p.Created, p.Paused = now, false
	org := &orgs.Org{ID: newID("org_"), Name: "Peer " + p.ID, Kind: orgs.Peer, Jurisdiction: p.Jurisdiction, Created: now}
	if err := org.Validate(); err != nil {
		return nil, &peers.FieldError{Field: "id", Reason: err.Error()}
	}
	p.Org = org.ID
	err := s.update(a, func(tx *store.Tx) error {
		if _, err := tx.Peer(p.ID); err == nil {
			return fmt.Errorf("%w: %q", peers.ErrExists, p.ID)
		}
		if _, err := tx.OrgIDByName(org.Name); err == nil {
			return fmt.Errorf("%w: organisation %q", peers.ErrExists, org.Name)
		}
		if err := tx.PutOrg(org); err != nil {
			return err
		}
		if err := tx.PutPeer(&p); err != nil {
			return err
		}
		if err := record(tx, a.audit(), now, "org.create", org.ID, org); err != nil {
			return err
		}
		return record(tx, a.audit(), now, "peer.add", p.ID, p)
	}, func() any { return &p })
	if err != nil {
		return nil, err
	}
	s.peersChanged.broadcast()
	return &p, nil
}

// PeerSignal returns a channel closed when a peer is next added, paused,
// resumed or removed (the syncer starts and stops its loops at once).
func (s *Service) PeerSignal() <-chan struct{} { return s.peersChanged.wait() }

// Peer reads a peer.
func (s *Service) Peer(id string) (*peers.Peer, error) {
	var p *peers.Peer
	err := s.db.View(func(tx *store.Tx) (err error) {
		p, err = tx.Peer(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", peers.ErrNotFound, id)
	}
	return p, err
}

// Peers lists every peer.
func (s *Service) Peers() ([]peers.Peer, error) {
	var out []peers.Peer
	err := s.db.View(func(tx *store.Tx) (err error) {
		out, err = tx.Peers()
		return err
	})
	return out, err
}

// SetPeerPaused pauses or resumes syncing with a peer.
func (s *Service) SetPeerPaused(a Actor, id string, paused bool) (*peers.Peer, error) {
	var p *peers.Peer
	err := s.db.Update(func(tx *store.Tx) error {
		var err error
		if p, err = tx.Peer(id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: %q", peers.ErrNotFound, id)
			}
			return err
		}
		if p.Paused == paused {
			return nil
		}
		p.Paused = paused
		if err := tx.PutPeer(p); err != nil {
			return err
		}
		action := "peer.resume"
		if paused {
			action = "peer.pause"
		}
		return record(tx, a.audit(), s.now().UTC(), action, id, p)
	})
	if err == nil {
		s.peersChanged.broadcast()
	}
	return p, err
}

// RemovePeer forgets a peer: it can no longer authenticate, and nothing is
// pulled from it. Its organisation stays, so the audit log and the
// assessments it contributed still name it; what was imported from it
// stays too (retractions at the origin reach the node through other peers).
func (s *Service) RemovePeer(a Actor, id string) error {
	defer s.peersChanged.broadcast()
	return s.db.Update(func(tx *store.Tx) error {
		p, err := tx.Peer(id)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: %q", peers.ErrNotFound, id)
			}
			return err
		}
		if err := tx.DeletePeer(id); err != nil {
			return err
		}
		// Its lists are pulled afresh if it is registered again.
		if err := tx.DeletePeerCursors(id); err != nil {
			return err
		}
		return record(tx, a.audit(), s.now().UTC(), "peer.remove", id, p)
	})
}

// PeerIdentity returns who a peer acts as here and the key its client
// assertions must verify with. A removed peer is unknown.
func (s *Service) PeerIdentity(id string) (Actor, ed25519.PublicKey, error) {
	p, err := s.Peer(id)
	if err != nil {
		return Actor{}, nil, err
	}
	key, err := p.NodeKey()
	if err != nil {
		return Actor{}, nil, err
	}
	return Actor{User: "peer:" + p.ID, Org: p.Org, Role: orgs.Peer, Jurisdiction: p.Jurisdiction}, key, nil
}

// SetPeerMirror sets (or, with "", clears) the URL of the published tree
// a peer's lists are read from. The syncer restarts the peer's loops with
// it; what was pulled so far stays, since the tree is checked with the
// same pinned keys.
func (s *Service) SetPeerMirror(a Actor, id, mirrorURL string) (*peers.Peer, error) {
	u, err := peers.NormalizeMirrorURL(mirrorURL)
	if err != nil {
		return nil, err
	}
	var p *peers.Peer
	err = s.db.Update(func(tx *store.Tx) error {
		var err error
		if p, err = tx.Peer(id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: %q", peers.ErrNotFound, id)
			}
			return err
		}
		if p.MirrorURL == u {
			return nil
		}
		p.MirrorURL = u
		if err := tx.PutPeer(p); err != nil {
			return err
		}
		return record(tx, a.audit(), s.now().UTC(), "peer.mirror", id, p)
	})
	if err == nil {
		s.peersChanged.broadcast()
	}
	return p, err
}
