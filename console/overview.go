package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/peers"
)

// The node overview: what an administrator checks every day.

type peerRow struct {
	peers.Peer
	// Health sums up the peer's lists: ok, failing, stalled, paused,
	// unknown (no status yet).
	Health string
}

type overviewView struct {
	O     *hub.Overview
	Peers []peerRow
	Dead  []hub.DeadLetter
}

// overview shows lists and their releases, the witnesses' cosignatures,
// the peers' sync, the outbox and the audit chain.
func (cn *Console) overview(c *gin.Context, s *Session) {
	o, err := cn.Hub().Overview(s.Actor())
	if err != nil {
		cn.deskError(c, s, err)
		return
	}
	v := overviewView{O: o}
	var sync []peers.SyncStatus
	if f := cn.peerSync(); f != nil {
		sync = f("")
	}
	for _, p := range o.Peers {
		r := peerRow{Peer: p}
		for _, st := range sync {
			if st.Peer == p.ID {
				r.Sync = append(r.Sync, st)
			}
		}
		r.Health = health(p, r.Sync)
		v.Peers = append(v.Peers, r)
	}
	if d := cn.Reports(); d != nil {
		if _, dead, err := d.Outbox(); err == nil {
			v.Dead = dead
		}
	}
	cn.Render(c, s, http.StatusOK, "overview", v)
}

// health is the worst state of a peer's lists.
func health(p peers.Peer, sync []peers.SyncStatus) string {
	if p.Paused {
		return "paused"
	}
	if len(sync) == 0 {
		return "unknown"
	}
	worst := "ok"
	rank := map[string]int{"ok": 0, "waiting": 1, "starting": 1, "paused": 2, "failing": 3, "stalled": 4}
	for _, st := range sync {
		if rank[st.State] > rank[worst] {
			worst = st.State
		}
	}
	return worst
}

func init() {
	funcs["dur"] = coarse
}

// peerSync is the node's report of its peers' sync loops (nil: none).
func (cn *Console) peerSync() func(string) []peers.SyncStatus { return cn.cfg.PeerSync }
