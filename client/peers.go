package client

import (
	"context"
	"net/http"

	"github.com/hashhub/hashhub/peers"
)

// AddPeer registers a peer node (admin).
func (c *Client) AddPeer(ctx context.Context, p peers.Peer) (*peers.Peer, error) {
	var out peers.Peer
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/peers", body: p, creates: true}, &out)
	return ptr(&out, err)
}

// Peers lists the node's peers (admin).
func (c *Client) Peers(ctx context.Context) ([]peers.Peer, error) {
	var out struct {
		Peers []peers.Peer `json:"peers"`
	}
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/peers"}, &out)
	return out.Peers, err
}

// Peer reads one peer (admin).
func (c *Client) Peer(ctx context.Context, id string) (*peers.Peer, error) {
	var out peers.Peer
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/peers/" + segment(id)}, &out)
	return ptr(&out, err)
}

// SetPeerPaused pauses or resumes syncing with a peer (admin).
func (c *Client) SetPeerPaused(ctx context.Context, id string, paused bool) (*peers.Peer, error) {
	action := "resume"
	if paused {
		action = "pause"
	}
	var out peers.Peer
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/peers/" + segment(id) + "/" + action}, &out)
	return ptr(&out, err)
}

// SetPeerMirror sets the URL of the tree a peer's lists are read from
// ("" reads the peer itself again) (admin).
func (c *Client) SetPeerMirror(ctx context.Context, id, mirrorURL string) (*peers.Peer, error) {
	var out peers.Peer
	_, err := c.do(ctx, call{method: http.MethodPatch, path: "/v1/peers/" + segment(id), body: map[string]string{"mirror_url": mirrorURL}}, &out)
	return ptr(&out, err)
}

// RemovePeer forgets a peer (admin).
func (c *Client) RemovePeer(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, path: "/v1/peers/" + segment(id)}, nil)
	return err
}
