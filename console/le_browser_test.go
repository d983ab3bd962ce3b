package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hashhub/hashhub/console"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/internal/consoletest"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/reports"
	"github.com/hashhub/hashhub/server"
	"github.com/hashhub/hashhub/store"
)

// lawDesk is a node with a law-enforcement officer, a hotline that
// reports, and a hosting provider registered for files.example whose
// notices reach a webhook on 127.0.0.1.
type lawDesk struct {
	n        *consoletest.Node
	police   *consoletest.Person
	hotline  hub.Actor
	provider string
}

func newLawDesk(t *testing.T) *lawDesk {
	t.Helper()
	n := consoletest.StartNode(t)
	d := &lawDesk{n: n, police: n.Person(orgs.LawEnforcement, "NL")}
	// The node's outbox routes reports and delivers notices (StartNode
	// serves the API only).
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.N.Outbox.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	hl := n.Org(orgs.Hotline, "NL")
	u, err := n.N.Hub.CreateUser(n.Admin, hl, "intake")
	if err != nil {
		t.Fatal(err)
	}
	d.hotline = hub.Actor{User: u.User.ID, Org: hl, Role: orgs.Hotline, Jurisdiction: "NL"}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hook.Close)
	d.provider = n.Org(orgs.HostingProvider, "NL")
	if _, err := n.N.Reports.PutProvider(n.Admin, reports.Provider{Org: d.provider, Domains: []string{"files.example"},
		WebhookURL: hook.URL + "/notices"}); err != nil {
		t.Fatal(err)
	}
	return d
}

// report submits a report as the hotline would and waits until the
// node's outbox has routed it.
func (d *lawDesk) report(t *testing.T, urgent bool, urls ...string) *reports.Report {
	t.Helper()
	rep, _, err := d.n.N.Reports.Submit(d.hotline, &reports.Submission{URLs: urls, Urgent: urgent,
		Classification: reports.Classification{Category: "baseline", Severity: "A"}, Detection: "manual_review",
		Explanation: "An analyst confirmed the material.", ReporterRef: "HL-2026-0042", ObservedAt: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for range 200 {
		r, err := d.n.N.Reports.Report(rep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != reports.Received {
			return r
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("report %s was never routed", rep.ID)
	return nil
}

// pageBytes is what the current page transferred: the document and every
// resource it loaded (without cache: the console's pages are no-store and
// the test's browser context is new).
func pageBytes(b *consoletest.Browser) int {
	return consoletest.Run(b, chromedp.Evaluate[int](`performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
		.reduce((n, e) => n + (e.transferSize || e.encodedBodySize), 0)`))
}

func checkSize(t *testing.T, b *consoletest.Browser) {
	t.Helper()
	n := pageBytes(b)
	if n <= 0 || n > 100<<10 {
		t.Errorf("%s transferred %d bytes (limit 100 KB)", b.Path(), n)
	}
	t.Logf("%s: %d bytes transferred", b.Path(), n)
}

// TestBrowserPoliceReport: a police officer signs in, finds a report
// handed to their organisation in the inbox, opens it (URLs defanged,
// never links), acknowledges it and holds its takedown with a reason and
// an end; the API shows the same hold, and the notice waits.
func TestBrowserPoliceReport(t *testing.T) {
	d := newLawDesk(t)
	rep := d.report(t, false, "https://files.example/a/b.jpg")
	if len(rep.Routes) != 1 || rep.Routes[0].Notice == "" || len(rep.Forwards) == 0 {
		t.Fatalf("routing: %+v", rep)
	}
	d.report(t, true, "https://files.example/c", "https://files.example/d", "https://files.example/e")
	b := consoletest.NewBrowser(t, d.n)
	b.SignIn(d.n, d.police)

	b.Go("/console/reports")
	if got := b.Text("h1"); got != "Reports inbox" {
		t.Fatalf("inbox heading %q: %s", got, b.Text("main"))
	}
	row := b.Text("table.inbox tbody tr")
	if !strings.Contains(row, "hxxps[://]files[.]example/a/b.jpg") || strings.Contains(row, "https://files.example") {
		t.Errorf("inbox row does not show the URL defanged: %q", row)
	}
	if b.Has(`a[href*="files.example"], a[href*="files[.]example"]`) {
		t.Error("a reported URL is a link")
	}
	b.Axe()
	checkSize(t, b)
	b.Screenshot("inbox")

	// Paged by cursor: one report a page, the next page shows the second.
	defer console.SetInboxPage(1)()
	b.Go("/console/reports")
	if got := b.Text("table.inbox tbody"); !strings.Contains(got, "files[.]example/a/b.jpg") {
		t.Errorf("first page: %q", got)
	}
	b.Click(`a[rel="next"]`)
	if got := b.Text("table.inbox tbody"); !strings.Contains(got, "files[.]example/c") || !strings.Contains(got, "and 3 in all") || !strings.Contains(got, "urgent") {
		t.Errorf("second page: %q", got)
	}
	console.SetInboxPage(console.InboxPage)

	b.Go("/console/reports")
	b.Click(fmt.Sprintf(`a[href="/console/reports/%s"]`, rep.ID))
	if b.Path() != "/console/reports/"+rep.ID {
		t.Fatalf("report page not opened: %s", b.Path())
	}
	if got := b.Text("table.notices tbody"); !strings.Contains(got, "hxxps[://]files[.]example/a/b.jpg") {
		t.Errorf("the report's notice is not shown: %q", got)
	}
	b.Submit(fmt.Sprintf(`form[action="/console/reports/%s/ack"]`, rep.ID), nil)
	if got := b.Text(".flash"); got != "Report acknowledged." {
		t.Errorf("after acknowledging: %q", got)
	}
	if b.Has(fmt.Sprintf(`form[action="/console/reports/%s/ack"]`, rep.ID)) {
		t.Error("the acknowledge button is still offered")
	}

	// A hold past the node's maximum is refused, with the reason, and
	// changes nothing.
	form := fmt.Sprintf(`form[action="/console/reports/%s/hold#hold"]`, rep.ID)
	tooLong := time.Now().UTC().Add(60 * 24 * time.Hour).Format("2006-01-02T15:04")
	b.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('until').removeAttribute('max')`))
	b.Submit(form, map[string]string{"#reason": "Covert investigation under way", "#until": tooLong})
	if b.Status() != http.StatusUnprocessableEntity || !strings.Contains(b.Text("#hold-error"), "at most") {
		t.Fatalf("a 60-day hold: status %d, %q", b.Status(), b.Text("main"))
	}
	if r, _ := d.n.N.Reports.Report(rep.ID); r.Hold != nil {
		t.Fatal("a refused hold was stored")
	}

	until := time.Now().UTC().Add(5 * 24 * time.Hour).Truncate(time.Minute)
	b.Submit(form, map[string]string{"#reason": "Covert investigation under way", "#until": until.Format("2006-01-02T15:04")})
	if got := b.Text(".flash"); !strings.Contains(got, "Takedown held until "+until.Format("2006-01-02 15:04")) {
		t.Errorf("after holding: %q", got)
	}
	if got := b.Text("p.warn"); !strings.Contains(got, "Covert investigation under way") {
		t.Errorf("hold not shown: %q", got)
	}
	if got := b.Text("table.notices tbody"); !strings.Contains(got, "held") {
		t.Errorf("the notice is not held: %q", got)
	}
	b.Axe()
	checkSize(t, b)
	b.Screenshot("report")

	// The API shows the same hold to the organisation's machine client.
	u, err := d.n.N.Hub.CreateUser(d.n.Admin, d.police.Org, "case system")
	if err != nil {
		t.Fatal(err)
	}
	var got reports.Report
	apiGet(t, d.n.URL, u.ClientID, u.ClientSecret, "/v1/reports/"+rep.ID, &got)
	if got.Hold == nil || got.Hold.Reason != "Covert investigation under way" || !got.Hold.Until.Equal(until) || got.Hold.By != d.police.User {
		t.Errorf("the API's hold: %+v", got.Hold)
	}
	if len(got.Forwards) == 0 || got.Forwards[0].AckedAt == nil {
		t.Errorf("the API's forward shows no acknowledgement: %+v", got.Forwards)
	}
}

// apiGet reads an API path with a client's token.
func apiGet(t *testing.T, base, id, secret, path string, v any) {
	t.Helper()
	resp, err := http.PostForm(base+"/v1/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// seedNotices writes a history of notices into the store (weeks of
// removals cannot be waited for): provider "Host A" removes in 2–6 h,
// "Host B" in 30–50 h, in each of the four weeks before this one; plus
// open notices sent 3 days, 2 days and 1 hour ago.
func seedNotices(t *testing.T, n *consoletest.Node) (overdue3d, overdue2d, fresh string) {
	t.Helper()
	now := time.Now().UTC()
	monday := time.Date(now.Year(), now.Month(), now.Day()-(int(now.Weekday())+6)%7, 0, 0, 0, 0, time.UTC)
	err := n.N.Hub.DB().Update(func(tx *store.Tx) error {
		put := func(id, prov, name string, sent time.Time, removedAfter time.Duration) error {
			nt := &reports.Notice{ID: id, Report: "rep_" + strings.Repeat("0", 32), URL: "https://" + prov + ".example/" + id,
				Provider: "org_" + prov, ProviderName: name, Status: reports.Sent, Created: sent, SentAt: &sent,
				History: []reports.Change{{At: sent, Status: reports.Sent, By: "node"}}}
			if removedAfter > 0 {
				rm := sent.Add(removedAfter)
				nt.Status, nt.RemovedAt = reports.Removed, &rm
			}
			return tx.PutNotice(nt)
		}
		for w := 1; w <= 4; w++ { // Wednesdays of the four weeks before this one
			for i := range 5 {
				sent := monday.AddDate(0, 0, 2-7*w).Add(time.Duration(10+i) * time.Hour)
				if err := put(fmt.Sprintf("ntc_a%d%d", w, i), "hosta", "Host A", sent, time.Duration(2+i)*time.Hour); err != nil {
					return err
				}
				if err := put(fmt.Sprintf("ntc_b%d%d", w, i), "hostb", "Host B", sent.Add(-60*time.Hour), time.Duration(30+5*i)*time.Hour); err != nil {
					return err
				}
			}
		}
		if err := put("ntc_open3d", "hostb", "Host B", now.Add(-72*time.Hour), 0); err != nil {
			return err
		}
		if err := put("ntc_open2d", "hosta", "Host A", now.Add(-48*time.Hour), 0); err != nil {
			return err
		}
		return put("ntc_open1h", "hosta", "Host A", now.Add(-time.Hour), 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	return "ntc_open3d", "ntc_open2d", "ntc_open1h"
}

// TestBrowserTakedowns: an admin's takedown page lists notices by
// provider and state with the overdue ones first, and draws the weekly
// time to removal as an SVG with a median and a p90 line per provider,
// with the same figures in a table.
func TestBrowserTakedowns(t *testing.T) {
	n := consoletest.StartNode(t)
	seedNotices(t, n)
	admin := n.PersonIn(n.Admin.Org, orgs.Admin, "")
	b := consoletest.NewBrowser(t, n)
	b.SignIn(n, admin)
	b.Go("/console/takedowns")
	if got := b.Text("h1"); got != "Takedowns" {
		t.Fatalf("heading %q: %s", got, b.Text("main"))
	}
	// Open notices, the longest overdue first: 3 days (48 h overdue),
	// 2 days (24 h), then the one sent an hour ago.
	rows := consoletest.Run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('table.notices tbody tr')].map(r => r.cells[2].textContent)`))
	want := []string{"hxxps[://]hostb[.]example/ntc_open3d", "hxxps[://]hosta[.]example/ntc_open2d", "hxxps[://]hosta[.]example/ntc_open1h"}
	if strings.Join(rows, "|") != strings.Join(want, "|") {
		t.Errorf("notices %q, want %q", rows, want)
	}
	if b.Has(`table.notices a[href^="/console/reports/"]`) {
		t.Error("an admin is offered links to reports it may not read")
	}
	if got := b.Text("table.notices tbody tr:first-child td:first-child"); got != "2 days" {
		t.Errorf("first notice overdue by %q", got)
	}
	// By provider and state: both providers, each with one overdue.
	prov := consoletest.Run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('table.providers tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim()).join('|'))`))
	// Columns: provider, overdue, then queued, sent, acknowledged, removed…
	if len(prov) != 2 || !strings.HasPrefix(prov[0], "Host A|1|0|2|0|20|") || !strings.HasPrefix(prov[1], "Host B|1|0|1|0|20|") {
		t.Errorf("providers %q", prov)
	}

	// The chart: an SVG in the page with a title, and per provider a
	// median and a p90 series with a point per week of removals.
	if !b.Has(`figure.chart svg[role="img"] title#ttr-title`) {
		t.Fatal("no accessible chart in the page")
	}
	series := consoletest.Run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('svg.chart g.series')].map(g => g.dataset.series + ':' + g.querySelectorAll('circle').length)`))
	got := strings.Join(series, ",")
	for _, s := range []string{"Host A median:4", "Host A p90:4", "Host B median:", "Host B p90:"} {
		if !strings.Contains(got, s) {
			t.Errorf("chart series %q: missing %q", got, s)
		}
	}
	// Host A's median is 4 h every week (2..6 h): its points sit level,
	// below every point of Host B (≥ 30 h).
	ys := consoletest.Run(b, chromedp.Evaluate[[]float64](`[...document.querySelectorAll('svg.chart g.series[data-series="Host A median"] circle')].map(c => +c.getAttribute('cy'))`))
	bys := consoletest.Run(b, chromedp.Evaluate[[]float64](`[...document.querySelectorAll('svg.chart g.series[data-series="Host B median"] circle')].map(c => +c.getAttribute('cy'))`))
	for _, y := range ys {
		if y != ys[0] {
			t.Errorf("Host A median points at %v: not level", ys)
		}
		for _, by := range bys {
			if by >= y { // SVG y grows downward
				t.Errorf("Host B's median (y %v) not above Host A's (y %v)", by, y)
			}
		}
	}
	trend := b.Text("table.trend tbody")
	if !strings.Contains(trend, "Host A") || !strings.Contains(trend, "4.0 h") || !strings.Contains(trend, "Host B") {
		t.Errorf("trend table: %q", trend)
	}
	b.Axe()
	checkSize(t, b)
	b.Screenshot("takedowns")

	// Filtered to one state.
	b.Go("/console/takedowns?status=removed&provider=org_hosta")
	if got := b.Text("table.notices caption"); !strings.HasPrefix(got, "20 of 20") {
		t.Errorf("removed notices of Host A: %q", got)
	}
	b.Go("/console/takedowns?status=lost")
	if b.Status() != http.StatusUnprocessableEntity {
		t.Errorf("an unknown state: %d", b.Status())
	}
}

// TestBrowserOverview: an admin sees every list with its latest release
// and age, the witnesses' cosignatures, the outbox and the audit chain.
func TestBrowserOverview(t *testing.T) {
	n := consoletest.StartNode(t)
	if _, err := n.N.Hub.CreateList(n.Admin, lists.List{Name: "baseline", Policy: lists.Policy{MinAssessments: 1, MinOrgs: 1, MinJurisdictions: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	m, err := n.N.Hub.BuildRelease(n.Admin, "baseline")
	if err != nil {
		t.Fatal(err)
	}
	if _, size, err := n.N.Hub.SignedCheckpoint(); err != nil {
		t.Fatal(err)
	} else if err := n.N.Hub.PutCosignature(size, "witness.example.org", "— witness.example.org AAAA"); err != nil {
		t.Fatal(err)
	}
	addPeer(t, n, "node-b", "baseline")
	admin := n.PersonIn(n.Admin.Org, orgs.Admin, "")
	b := consoletest.NewBrowser(t, n)
	b.SignIn(n, admin)
	b.Go("/console/overview")
	if got := b.Text("h1"); got != "Node overview" {
		t.Fatalf("heading %q: %s", got, b.Text("main"))
	}
	row := b.Text("table.lists tbody tr")
	if !strings.Contains(row, "baseline") || !strings.Contains(row, fmt.Sprint(m.Version)) || !strings.Contains(row, "min") && !strings.Contains(row, "just") {
		t.Errorf("list row %q", row)
	}
	if got := b.Text("dl.facts"); !strings.Contains(got, "witness.example.org") {
		t.Errorf("cosigners: %q", got)
	}
	if got := b.Text("table.peers tbody tr"); !strings.Contains(got, "node-b") || !strings.Contains(got, "unknown") || !strings.Contains(got, "baseline") {
		t.Errorf("peer row (no sync loop runs in the test): %q", got)
	}
	if got := b.Text("dl.audit"); !strings.Contains(got, "intact") {
		t.Errorf("audit chain: %q", got)
	}
	b.Axe()
	checkSize(t, b)
	b.Screenshot("overview")
}

// TestLawPagesByRole: what each role gets from the law-enforcement,
// takedown and overview pages (the page table test checks the 403s of
// every page; this pins the answers of the pages a role may open: a
// report not handed to the organisation is not found, as in the API).
func TestLawPagesByRole(t *testing.T) {
	n := consoletest.StartNode(t)
	pages := []string{"/console/reports", "/console/takedowns", "/console/overview", "/console/reports/rep_" + strings.Repeat("0", 32)}
	want := map[orgs.Role][]int{
		orgs.LawEnforcement:  {200, 200, 403, 404},
		orgs.Hotline:         {200, 200, 403, 404},
		orgs.Admin:           {403, 200, 200, 404},
		orgs.Platform:        {403, 403, 403, 403},
		orgs.HostingProvider: {403, 403, 403, 403},
	}
	for role, codes := range want {
		cl := n.SignInHTTP(t, n.Person(role, "NL"))
		for i, path := range pages {
			if got := cl.Get(path).Status; got != codes[i] {
				t.Errorf("%s opens %s: %d, want %d", role, path, got, codes[i])
			}
		}
	}
}

// addPeer starts a second real node (id) and registers it with n as a
// peer whose lists n pulls, from the keys it publishes.
func addPeer(t *testing.T, n *consoletest.Node, id string, lists ...string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := node.Init(dir, id, "DE"); err != nil {
		t.Fatal(err)
	}
	other, err := node.Open(dir, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	srv := httptest.NewServer(other.Server)
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/v1/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var k server.Keys
	if err := json.NewDecoder(resp.Body).Decode(&k); err != nil {
		t.Fatal(err)
	}
	if _, err := n.N.Hub.AddPeer(n.Admin, peers.Peer{ID: id, Name: "Hub " + id, Jurisdiction: "DE", BaseURL: srv.URL,
		NodeKeyPEM: k.NodeKeyPEM, ReleaseKeyPEM: k.ReleaseKeyPEM, LogKey: k.LogVerifierKey, Lists: lists}); err != nil {
		t.Fatal(err)
	}
}
