package server

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/peers"
)

// PeerList is the node's peers.
type PeerList struct {
	Peers []peers.Peer `json:"peers"`
} // @name PeerList

// addPeer godoc
//
//	@Summary		Register a peer node
//	@ID			addPeer
//	@Description	The peer's id, base URL and keys (copy node_key_pem, release_key_pem and log_verifier_key from its /v1/keys, checked out of band), the lists to pull from it, the jurisdictions whose reports route to it, and how its assessments count here. The peer authenticates with a JWT client assertion signed by its node key; it gets a local organisation of kind peer.
//	@Tags			peers
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			Idempotency-Key	header		string		false	"makes retries safe"
//	@Param			body			body		peers.Peer	true	"peer (org, paused and created are set by the node)"
//	@Success		201				{object}	peers.Peer
//	@Failure		400,401,403,409,413,415,422	{object}	Problem
//	@Router			/v1/peers [post]
func (s *Server) addPeer(c *gin.Context) {
	var p peers.Peer
	if !s.decodeJSON(c, &p) {
		return
	}
	out, err := s.hub.AddPeer(replayable(c, peerAdded), p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(peerAdded(out))
}

func peerAdded(p *peers.Peer) (int, any) { return http.StatusCreated, p }

// listPeers godoc
//
//	@Summary	List peers
//	@ID		listPeers
//	@Tags		peers
//	@Produce	json
//	@Security	Bearer
//	@Success	200	{object}	PeerList
//	@Failure	401,403	{object}	Problem
//	@Router		/v1/peers [get]
func (s *Server) listPeers(c *gin.Context) {
	ps, err := s.hub.Peers()
	if err != nil {
		s.fail(c, err)
		return
	}
	for i := range ps {
		ps[i].Sync = s.peerSync(ps[i].ID)
	}
	c.JSON(http.StatusOK, PeerList{Peers: ps})
}

// peerSync is how pulling the peer's lists is going (none when the node
// does not sync).
func (s *Server) peerSync(id string) []peers.SyncStatus {
	if s.cfg.PeerSync == nil {
		return nil
	}
	return s.cfg.PeerSync(id)
}

// getPeer godoc
//
//	@Summary	Read a peer and how syncing its lists is going
//	@ID		getPeer
//	@Description	sync has one entry per list pulled: state (ok, failing, paused), the version held, the last success and the reason of the last failure.
//	@Tags		peers
//	@Produce	json
//	@Security	Bearer
//	@Param		id	path		string	true	"peer node id"
//	@Success	200	{object}	peers.Peer
//	@Failure	401,403,404	{object}	Problem
//	@Router		/v1/peers/{id} [get]
func (s *Server) getPeer(c *gin.Context) {
	p, err := s.hub.Peer(c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	p.Sync = s.peerSync(p.ID)
	c.JSON(http.StatusOK, p)
}

// PeerUpdate is a change to a peer's registration: the fields given are
// set, the others kept.
type PeerUpdate struct {
	// MirrorURL is the http(s) URL of a tree the peer publishes (hashhub
	// publish); "" reads the peer itself again.
	MirrorURL *string `json:"mirror_url"`
} // @name PeerUpdate

// updatePeer godoc
//
//	@Summary		Change a peer's registration
//	@ID			updatePeer
//	@Description	Sets the peer's mirror_url: the published tree its lists are read from, with the same checks as from the peer, falling back to the peer when the tree is behind or refused ("" reads the peer itself again). The peer's sync loops restart with it.
//	@Tags			peers
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			id		path		string		true	"peer node id"
//	@Param			body	body		PeerUpdate	true	"the fields to change"
//	@Success		200		{object}	peers.Peer
//	@Failure		400,401,403,404,413,415,422	{object}	Problem
//	@Router			/v1/peers/{id} [patch]
func (s *Server) updatePeer(c *gin.Context) {
	var u PeerUpdate
	if !s.decodeJSON(c, &u) {
		return
	}
	p, err := s.hub.Peer(c.Param("id"))
	if err == nil && u.MirrorURL != nil {
		p, err = s.hub.SetPeerMirror(actor(c), c.Param("id"), *u.MirrorURL)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	p.Sync = s.peerSync(p.ID)
	c.JSON(http.StatusOK, p)
}

// pausePeer godoc
//
//	@Summary	Pause or resume syncing with a peer
//	@ID		pauseOrResumePeer
//	@Tags		peers
//	@Produce	json
//	@Security	Bearer
//	@Param		id		path		string	true	"peer node id"
//	@Param		action	path		string	true	"pause or resume"
//	@Success	200		{object}	peers.Peer
//	@Failure	401,403,404	{object}	Problem
//	@Router		/v1/peers/{id}/{action} [post]
func (s *Server) pausePeer(c *gin.Context) {
	var paused bool
	switch c.Param("action") {
	case "pause":
		paused = true
	case "resume":
	default:
		writeProblem(c, pNoRoute.with("a peer can be paused or resumed"))
		return
	}
	p, err := s.hub.SetPeerPaused(actor(c), c.Param("id"), paused)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

// removePeer godoc
//
//	@Summary		Remove a peer
//	@ID			removePeer
//	@Description	It can no longer authenticate and nothing is pulled from it; its organisation stays, so history still names it.
//	@Tags			peers
//	@Security		Bearer
//	@Param			id	path	string	true	"peer node id"
//	@Success		204
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/peers/{id} [delete]
func (s *Server) removePeer(c *gin.Context) {
	if err := s.hub.RemovePeer(actor(c), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
