package federation_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/peers"
)

// assessmentFrom returns the assessment of e that originated at origin.
func assessmentFrom(e *client.Entry, origin string) (int, bool) {
	for i := range e.Assessments {
		if e.Assessments[i].Origin == origin {
			return i, true
		}
	}
	return 0, false
}

// A→B→C: hashes assessed at A reach C through B with their provenance and
// A's signature; C counts them as A's registration says; a retraction at
// A removes the assessment on B and C and the entry leaves their lists.
func TestChainPropagatesProvenanceAndRetraction(t *testing.T) {
	a, b, c := startFed(t, "hub-a", "NL"), startFed(t, "hub-b", "GB"), startFed(t, "hub-c", "IE")
	for _, n := range []*fedNode{a, b, c} {
		n.createList(t, "shared", 1)
	}
	b.pulls(t, a, "shared")
	c.pulls(t, b, "shared")
	c.pulls(t, a) // keys only: C verifies A's records that B relays
	hs := a.submit(t, 3)
	a.release(t, "shared")

	defer func() {
		if t.Failed() {
			for _, n := range []*fedNode{b, c} {
				ps, _ := n.admin.Peers(bg)
				for _, p := range ps {
					t.Logf("%s → %s: %+v", n.id, p.ID, p.Sync)
				}
			}
		}
	}()
	eventually(t, "the hashes at C", 15*time.Second, func() bool {
		for _, h := range hs {
			if e := c.entryOf(t, h); e == nil || e.Status != "active" {
				return false
			}
		}
		return true
	})
	e := c.entryOf(t, hs[0])
	if len(e.Assessments) != 1 {
		t.Fatalf("C holds %d assessments, want A's one: %+v", len(e.Assessments), e.Assessments)
	}
	as := e.Assessments[0]
	if as.Origin != "hub-a" || as.OriginSeq == 0 || as.OriginJur != "NL" || as.OriginOrg == "" {
		t.Fatalf("provenance lost: %+v", as)
	}
	if as.Org != "Hotline hub-a" || as.OrgJur != "NL" {
		t.Fatalf("counts as %q/%q, want A's registration on C", as.Org, as.OrgJur)
	}
	// C publishes them in its own list.
	eventually(t, "C's release with the hashes", 10*time.Second, func() bool {
		q, err := c.admin.ListEntries(bg, "shared", "", 100)
		return err == nil && len(q.Entries) == 3
	})
	// Health: each loop reports ok and the version applied.
	p, err := c.admin.Peer(bg, "hub-b")
	if err != nil || len(p.Sync) != 1 || p.Sync[0].State != peers.SyncOK || p.Sync[0].Applied == 0 {
		t.Fatalf("C's view of B: %+v %v", p, err)
	}
	// Metrics are not on the API's address (the node serves them on its
	// own, --metrics-addr): read them from the server's handler.
	rec := httptest.NewRecorder()
	c.n.Server.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	metrics := rec.Body.Bytes()
	for _, want := range []string{`hashhub_peer_sync_up{list="shared",peer="hub-b"} 1`, `hashhub_peer_sync_version{list="shared",peer="hub-b"}`,
		`hashhub_peer_sync_failures_total{list="shared",peer="hub-b"} 0`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// A retracts one: the retraction travels the same way.
	if _, err := a.analyst.Retract(bg, "sha256", hs[1], "hash list mix-up"); err != nil {
		t.Fatal(err)
	}
	a.release(t, "shared")
	for _, n := range []*fedNode{b, c} {
		eventually(t, n.id+" sees the retraction", 15*time.Second, func() bool {
			e := n.entryOf(t, hs[1])
			return e != nil && e.Status == "retracted"
		})
	}
	e = c.entryOf(t, hs[1])
	if r := e.Assessments[0].Retracted; r == nil || r.Reason != "hash list mix-up" || r.Seq <= e.Assessments[0].OriginSeq {
		t.Fatalf("retraction on C: %+v", e.Assessments[0])
	}
	eventually(t, "the retracted hash leaves C's list", 10*time.Second, func() bool {
		q, err := c.admin.ListEntries(bg, "shared", "", 100)
		return err == nil && len(q.Entries) == 2
	})
}
