package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashhub/hashhub/hosting"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/reports"
	"github.com/hashhub/hashhub/server"
)

// newNamedTestNode is newTestNode with a node id and jurisdiction.
func newNamedTestNode(t *testing.T, id, jur string) *testNode {
	t.Helper()
	dir := t.TempDir()
	creds, err := node.Init(dir, id, jur)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(dir, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	srv := httptest.NewServer(n.Server)
	t.Cleanup(srv.Close)
	tn := &testNode{t: t, n: n, url: srv.URL}
	tn.admin = &principal{Role: orgs.Admin, Jurisdiction: jur, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret}
	tn.admin.Token = tn.token(creds.ClientID, creds.ClientSecret)
	return tn
}

// peerWith registers other as a peer of tn, routing the jurisdictions.
func (tn *testNode) peerWith(other *testNode, id string, routed ...string) {
	tn.t.Helper()
	var k server.Keys
	other.get("/v1/keys", "").decode(tn.t, http.StatusOK, &k)
	tn.postJSON("/v1/peers", tn.admin.Token, map[string]any{"id": id, "name": "Node " + id, "jurisdiction": routed[0],
		"base_url": other.url, "node_key_pem": k.NodeKeyPEM, "release_key_pem": k.ReleaseKeyPEM, "log_key": k.LogVerifierKey,
		"routed_jurisdictions": routed}).decode(tn.t, http.StatusCreated, nil)
}

// TestReportForwardedToPeer: a report whose URL is hosted in Germany goes
// from the Dutch node to the German peer, through the peer's own API as
// the node (RFC 7523 assertion); it keeps its id, gains a hop, lands in
// the German police's inbox, and is not forwarded back. A second delivery
// of the same report is a duplicate; one past its hop limit is refused.
func TestReportForwardedToPeer(t *testing.T) {
	nl := newNamedTestNode(t, "node-a", "NL")
	de := newNamedTestNode(t, "node-b", "DE")
	nl.peerWith(de, "node-b", "DE", "AT")
	de.peerWith(nl, "node-a", "NL")
	hotline := nl.member(orgs.Hotline, "NL")
	policeDE := de.member(orgs.LawEnforcement, "DE")
	policeNL := nl.member(orgs.LawEnforcement, "NL")
	nl.startOutbox(hosting.Static{}, nil)
	de.startOutbox(hosting.Static{}, nil)

	body := validReport("https://media.hoster.example.de/1", "https://files.hoster.example.at/2")
	body["hosting_jurisdiction"] = "DE" // the hosts do not resolve here: the reporter's view counts
	var rr server.ReportReceipt
	nl.postJSON("/v1/reports", hotline.Token, body).decode(t, http.StatusCreated, &rr)
	var rep reports.Report
	eventually(t, "routing at the Dutch node", func() bool {
		nl.get("/v1/reports/"+rr.ID, hotline.Token).decode(t, http.StatusOK, &rep)
		return rep.Status == reports.Routed
	})
	if rep.Routes[0].Destination != reports.DestPeer || rep.Routes[0].Peer != "node-b" || rep.Routes[0].Evidence.Method != "reporter" ||
		len(rep.Forwards) != 1 || rep.Forwards[0].To != "node-b" || rep.Forwards[0].Kind != "peer" {
		t.Fatalf("routes %+v forwards %+v", rep.Routes, rep.Forwards)
	}
	var inbox server.InboxPage
	eventually(t, "the German police's inbox", func() bool {
		de.get("/v1/inbox", policeDE.Token).decode(t, http.StatusOK, &inbox)
		return len(inbox.Reports) == 1
	})
	got := inbox.Reports[0].Report
	if got.ID != rr.ID || len(got.Hops) != 2 || got.Hops[0] != "node-a" || got.Hops[1] != "node-b" ||
		got.Reporter.Node != "node-a" || got.Reporter.OrgName == "" || got.URLs[0] != "https://media.hoster.example.de/1" {
		t.Fatalf("forwarded report %+v", got)
	}
	// The German node routed it locally (its own jurisdiction) and did not
	// send it back to the Dutch node, which is in its hops.
	eventually(t, "routing at the German node", func() bool {
		de.get("/v1/reports/"+rr.ID, policeDE.Token).decode(t, http.StatusOK, &got)
		return got.Status == reports.Routed
	})
	for _, rt := range got.Routes {
		if rt.Destination != reports.DestLocal {
			t.Errorf("German route %+v", rt)
		}
	}
	// The Dutch police were not involved; the hotline's own node shows it.
	nl.get("/v1/inbox", policeNL.Token).decode(t, http.StatusOK, &inbox)
	if len(inbox.Reports) != 0 {
		t.Fatalf("Dutch police got %+v", inbox.Reports)
	}

	// The Dutch node, as a peer of the German one, delivers again: a
	// duplicate, dropped. Past the hop limit: refused.
	peerTok := nl.peerToken(de)
	fwd := validReport("https://media.hoster.example.de/1")
	fwd["id"], fwd["hops"], fwd["hop_limit"] = rr.ID, []string{"node-a"}, 4
	fwd["reporter"] = map[string]any{"org": hotline.Org, "org_name": "Hotline", "role": "hotline", "jurisdiction": "NL", "node": "node-a"}
	var dup server.ReportReceipt
	de.postJSON("/v1/reports", peerTok, fwd).decode(t, http.StatusOK, &dup)
	if !dup.Duplicate || dup.ID != rr.ID {
		t.Fatalf("duplicate receipt %+v", dup)
	}
	fwd["id"], fwd["hops"], fwd["hop_limit"] = "rep_0123456789abcdef0123456789abcdef", []string{"node-x", "node-y"}, 2
	before := de.state()
	de.postJSON("/v1/reports", peerTok, fwd).problem(t, http.StatusUnprocessableEntity, "hop-limit")
	de.unchanged(t, before, "a report past its hop limit")
	// A report that names the receiving node among its hops is a loop.
	fwd["hops"], fwd["hop_limit"] = []string{"node-b", "node-a"}, 4
	de.postJSON("/v1/reports", peerTok, fwd).decode(t, http.StatusOK, &dup)
	if !dup.Duplicate {
		t.Fatalf("loop accepted: %+v", dup)
	}
}

// peerToken gets an access token at other as tn's node (RFC 7523).
func (tn *testNode) peerToken(other *testNode) string {
	tn.t.Helper()
	a, err := tn.n.Outbox.PeerAssertion("node-b")
	if err != nil {
		tn.t.Fatal(err)
	}
	r := other.do(request{method: "POST", path: "/v1/oauth/token", ctype: "application/x-www-form-urlencoded",
		body: []byte("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=" + a)})
	var tr server.TokenResponse
	r.decode(tn.t, http.StatusOK, &tr)
	return tr.AccessToken
}
