package store

import (
	"encoding/json"

	"github.com/hashhub/hashhub/peers"
)

var bPeers = []byte("peers")

// Peer reads a peer by its node id.
func (t *Tx) Peer(id string) (*peers.Peer, error) {
	var p peers.Peer
	return &p, t.get(bPeers, id, &p)
}

// PutPeer writes a peer.
func (t *Tx) PutPeer(p *peers.Peer) error { return t.put(bPeers, p.ID, p) }

// DeletePeer removes a peer.
func (t *Tx) DeletePeer(id string) error { return t.b(bPeers).Delete([]byte(id)) }

// Peers lists every peer by id.
func (t *Tx) Peers() ([]peers.Peer, error) {
	out := []peers.Peer{}
	err := t.scan(bPeers, "", "", func(_, v []byte) (bool, error) {
		var p peers.Peer
		if err := json.Unmarshal(v, &p); err != nil {
			return false, err
		}
		out = append(out, p)
		return true, nil
	})
	return out, err
}
