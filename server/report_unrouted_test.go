package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/reports"
	"github.com/hashhub/hashhub/server"
)

// TestUnroutedReportsAreSeen: on a node in NL with no peer and no
// fallback, a report with a URL hosted in Germany says unrouted (not
// routed), its route says why, the German provider registered on this
// node still gets its takedown notice, administrators can read the report
// and find it in their list of unrouted reports, and the gauge counts it.
// A routed report stays out of the list and hidden from administrators.
func TestUnroutedReportsAreSeen(t *testing.T) {
	w := newDeskWorld(t)
	tn := w.tn
	provDE := tn.member(orgs.HostingProvider, "DE")
	hookDE := newReceiver(t, tn.nodeKey())
	tn.postJSON("/v1/providers", tn.admin.Token, map[string]any{"org": provDE.Org, "domains": []string{"hoster-de.example"},
		"webhook_url": hookDE.srv.URL + "/notices"}).decode(t, http.StatusCreated, nil)
	tn.startOutbox(nil, nil)

	rr := w.submit(t, w.hotline, validReport("https://files.hosting-a.example/a/1.jpg", "https://cdn.hoster-de.example/b/2.jpg"))
	var rep reports.Report
	eventually(t, "routing", func() bool { rep = w.report(t, rr.ID); return rep.Status != reports.Received })
	if rep.Status != reports.Unrouted || len(rep.Routes) != 2 {
		t.Fatalf("status %q routes %+v", rep.Status, rep.Routes)
	}
	local, de := rep.Routes[0], rep.Routes[1]
	if local.Destination != reports.DestLocal || local.Notice == "" {
		t.Errorf("local route %+v", local)
	}
	if de.Destination != reports.DestUnrouted || de.Jurisdiction != "DE" || de.Notice == "" || !strings.Contains(de.Note, "no peer takes DE") {
		t.Fatalf("German route %+v", de)
	}
	eventually(t, "German provider's notice", func() bool { _, p := hookDE.snapshot(); return len(p) == 1 })
	if n := hookDE.notice(de.Notice + "/1"); n.Notice.URL != "https://cdn.hoster-de.example/b/2.jpg" {
		t.Fatalf("German provider got %+v", n.Notice)
	}

	// Administrators read it and list it; nobody else lists it.
	var got reports.Report
	tn.get("/v1/reports/"+rr.ID, tn.admin.Token).decode(t, http.StatusOK, &got)
	if got.ID != rr.ID || got.Status != reports.Unrouted {
		t.Fatalf("admin read %+v", got)
	}
	var page server.InboxPage
	tn.get("/v1/reports/unrouted", tn.admin.Token).decode(t, http.StatusOK, &page)
	if len(page.Reports) != 1 || page.Reports[0].Report.ID != rr.ID || page.Reports[0].Kind != reports.Unrouted {
		t.Fatalf("unrouted list %+v", page)
	}
	for _, p := range []*principal{w.hotline, w.police, provDE} {
		tn.get("/v1/reports/unrouted", p.Token).problem(t, http.StatusForbidden, "forbidden")
	}
	tn.get("/v1/reports/unrouted?limit=0", tn.admin.Token).problem(t, http.StatusUnprocessableEntity, "invalid-input")

	// A report routed everywhere is not the administrators' business.
	routed := w.routed(t, w.submit(t, w.hotline, validReport("https://files.hosting-a.example/a/3.jpg")).ID)
	tn.get("/v1/reports/"+routed.ID, tn.admin.Token).problem(t, http.StatusNotFound, "not-found")
	tn.get("/v1/reports/unrouted", tn.admin.Token).decode(t, http.StatusOK, &page)
	if len(page.Reports) != 1 {
		t.Fatalf("unrouted list %+v", page)
	}
	if metrics := string(tn.scrape().body); !strings.Contains(metrics, "\nhashhub_reports_unrouted 1\n") {
		t.Errorf("metrics lack the unrouted gauge:\n%s", metrics)
	}
}

// TestFallbackStillNoticesRegisteredProvider: with a fallback organisation
// set, a report hosted in a jurisdiction no peer takes goes to the
// fallback (status routed, not in the admins' list), and the provider
// registered on this node gets its takedown notice too.
func TestFallbackStillNoticesRegisteredProvider(t *testing.T) {
	w := newDeskWorld(t)
	tn := w.tn
	provDE := tn.member(orgs.HostingProvider, "DE")
	hookDE := newReceiver(t, tn.nodeKey())
	tn.postJSON("/v1/providers", tn.admin.Token, map[string]any{"org": provDE.Org, "domains": []string{"hoster-de.example"},
		"webhook_url": hookDE.srv.URL + "/notices"}).decode(t, http.StatusCreated, nil)
	fallback := tn.member(orgs.Hotline, "NL")
	tn.n.Reports.SetFallback(fallback.Org)
	tn.startOutbox(nil, nil)

	rep := w.routed(t, w.submit(t, w.hotline, validReport("https://cdn.hoster-de.example/b/2.jpg")).ID)
	rt := rep.Routes[0]
	if rt.Destination != reports.DestFallback || rt.Jurisdiction != "DE" || rt.Notice == "" ||
		len(rep.Forwards) != 1 || rep.Forwards[0].To != fallback.Org || rep.Forwards[0].Kind != "fallback" {
		t.Fatalf("route %+v forwards %+v", rt, rep.Forwards)
	}
	eventually(t, "German provider's notice", func() bool { _, p := hookDE.snapshot(); return len(p) == 1 })
	var page server.InboxPage
	tn.get("/v1/reports/unrouted", tn.admin.Token).decode(t, http.StatusOK, &page)
	if len(page.Reports) != 0 {
		t.Fatalf("unrouted list %+v", page)
	}
	tn.get("/v1/inbox", fallback.Token).decode(t, http.StatusOK, &page)
	if len(page.Reports) != 1 || page.Reports[0].Report.ID != rep.ID {
		t.Fatalf("fallback inbox %+v", page)
	}
}
