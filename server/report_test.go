package server_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/hashhub/hashhub/delivery"
	"github.com/hashhub/hashhub/hosting"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/outbox"
	"github.com/hashhub/hashhub/reports"
	"github.com/hashhub/hashhub/server"
	"github.com/hashhub/hashhub/store"
)

// receiver is a provider's (or police) webhook endpoint: it checks the
// node's signature, processes each idempotency key once, and can be told
// to fail the first deliveries.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	pub ed25519.PublicKey

	mu        sync.Mutex
	failFirst int      // answer 503 to this many deliveries first
	status    int      // if set, answer this to every delivery
	calls     int      // deliveries received
	processed []string // idempotency keys processed, in order
	bodies    map[string][]byte
	badSig    int
}

func newReceiver(t *testing.T, pub ed25519.PublicKey) *receiver {
	rc := &receiver{t: t, pub: pub, bodies: map[string][]byte{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.calls++
		if err := delivery.Verify(rc.pub, r.Header, body, time.Now(), delivery.DefaultMaxSkew); err != nil {
			rc.badSig++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if rc.status != 0 {
			w.WriteHeader(rc.status)
			return
		}
		if rc.failFirst > 0 {
			rc.failFirst--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		key := r.Header.Get(delivery.HeaderIdempotency)
		if _, seen := rc.bodies[key]; !seen {
			rc.processed = append(rc.processed, key)
			rc.bodies[key] = body
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) snapshot() (calls int, processed []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.calls, slices.Clone(rc.processed)
}

func (rc *receiver) notice(key string) delivery.WebhookNotice {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var n delivery.WebhookNotice
	if err := json.Unmarshal(rc.bodies[key], &n); err != nil {
		rc.t.Fatalf("notice body %q: %v", key, err)
	}
	return n
}

// body is the raw body processed under an idempotency key.
func (rc *receiver) body(key string) []byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.bodies[key])
}

// nodeKey reads the node's public key the way a provider does: GET /v1/keys.
func (tn *testNode) nodeKey() ed25519.PublicKey {
	tn.t.Helper()
	var k server.Keys
	tn.get("/v1/keys", "").decode(tn.t, http.StatusOK, &k)
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(k.NodeKeyPEM))
	if err != nil {
		tn.t.Fatal(err)
	}
	return pub.(ed25519.PublicKey)
}

// startOutbox runs the node's outbox worker with a static host table and
// fast retries until the test ends.
func (tn *testNode) startOutbox(hosts hosting.Static, rdap *hosting.RDAP) {
	tn.t.Helper()
	w := tn.n.Outbox
	w.Locator = &hosting.Locator{Resolver: hosts, RDAP: rdap}
	w.Backoff = outbox.Backoff{Base: 20 * time.Millisecond, Max: 100 * time.Millisecond, Attempts: 6}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	tn.t.Cleanup(func() { cancel(); <-done })
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func validReport(urls ...string) map[string]any {
	return map[string]any{"urls": urls, "hashes": []map[string]string{{"algo": "md5", "value": "00112233445566778899aabbccddeeff"}},
		"classification": map[string]any{"category": "baseline", "severity": "A"}, "detection": "manual_review",
		"explanation": "Analyst confirmed: a child is sexually abused.", "reporter_ref": "HL-2026-0042", "urgent": true,
		"observed_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}
}

type deskWorld struct {
	tn                       *testNode
	hotline, platform        *principal
	police, policeDE         *principal
	provA, provB             *principal
	hookA, hookB, hookPolice *receiver
}

// newDeskWorld is a node in NL with a hotline, a platform, Dutch and
// German police, and two Dutch hosting providers: A registered by domain,
// B by IP range, each with a webhook.
func newDeskWorld(t *testing.T) *deskWorld {
	tn := newTestNode(t)
	w := &deskWorld{tn: tn}
	w.hotline = tn.member(orgs.Hotline, "NL")
	w.platform = tn.member(orgs.Platform, "NL")
	w.police = tn.member(orgs.LawEnforcement, "NL")
	w.policeDE = tn.member(orgs.LawEnforcement, "DE")
	w.provA = tn.member(orgs.HostingProvider, "NL")
	w.provB = tn.member(orgs.HostingProvider, "NL")
	pub := tn.nodeKey()
	w.hookA, w.hookB, w.hookPolice = newReceiver(t, pub), newReceiver(t, pub), newReceiver(t, pub)
	tn.postJSON("/v1/providers", tn.admin.Token, map[string]any{"org": w.provA.Org, "domains": []string{"Hosting-A.example."},
		"webhook_url": w.hookA.srv.URL + "/notices"}).decode(t, http.StatusCreated, nil)
	tn.postJSON("/v1/providers", tn.admin.Token, map[string]any{"org": w.provB.Org, "ranges": []string{"198.51.100.0/24"},
		"webhook_url": w.hookB.srv.URL + "/notices", "email": "abuse@provider-b.example"}).decode(t, http.StatusCreated, nil)
	return w
}

func (w *deskWorld) submit(t *testing.T, who *principal, body map[string]any) server.ReportReceipt {
	t.Helper()
	var rr server.ReportReceipt
	w.tn.postJSON("/v1/reports", who.Token, body).decode(t, http.StatusCreated, &rr)
	if !reports.ValidID(rr.ID) || rr.Status != reports.Received {
		t.Fatalf("receipt %+v", rr)
	}
	return rr
}

func (w *deskWorld) report(t *testing.T, id string) reports.Report {
	t.Helper()
	var rep reports.Report
	w.tn.get("/v1/reports/"+id, w.hotline.Token).decode(t, http.StatusOK, &rep)
	return rep
}

// TestReportReachesPoliceAndProviders walks a report from a hotline to the
// Dutch police's inbox and signed notices to both providers, through
// acknowledgement and removal to the takedown figures; and checks that
// nobody else sees any of it.
func TestReportReachesPoliceAndProviders(t *testing.T) {
	w := newDeskWorld(t)
	tn := w.tn
	tn.put("/v1/inbox/webhook", w.police.Token, map[string]any{"webhook_url": w.hookPolice.srv.URL}).decode(t, http.StatusOK, nil)
	tn.startOutbox(hosting.Static{"cdn.other.example": {"198.51.100.7"}}, nil)

	rr := w.submit(t, w.hotline, validReport("https://files.hosting-a.example/a/1.jpg", "http://CDN.other.example:8080/b?x=1"))
	var rep reports.Report
	eventually(t, "routing", func() bool { rep = w.report(t, rr.ID); return rep.Status == reports.Routed })
	if len(rep.Routes) != 2 {
		t.Fatalf("routes %+v", rep.Routes)
	}
	for i, want := range []struct{ method, provider string }{{"registered_domain", w.provA.Org}, {"registered_range", w.provB.Org}} {
		rt := rep.Routes[i]
		if rt.Destination != reports.DestLocal || rt.Jurisdiction != "NL" || rt.Notice == "" || rt.Evidence == nil ||
			rt.Evidence.Method != want.method || rt.Evidence.Provider != want.provider {
			t.Errorf("route %d: %+v evidence %+v", i, rt, rt.Evidence)
		}
	}
	if rep.Routes[1].Evidence.Range != "198.51.100.0/24" || !slices.Equal(rep.Routes[1].Evidence.Addresses, []string{"198.51.100.7"}) {
		t.Errorf("range evidence %+v", rep.Routes[1].Evidence)
	}
	if len(rep.Forwards) != 1 || rep.Forwards[0].To != w.police.Org || rep.Forwards[0].Kind != "law_enforcement" {
		t.Fatalf("forwards %+v", rep.Forwards)
	}

	// Each provider gets exactly its own notice, signed, once.
	noticeA, noticeB := rep.Routes[0].Notice, rep.Routes[1].Notice
	eventually(t, "notices delivered", func() bool {
		_, pa := w.hookA.snapshot()
		_, pb := w.hookB.snapshot()
		return len(pa) == 1 && len(pb) == 1
	})
	_, pa := w.hookA.snapshot()
	if pa[0] != noticeA+"/1" {
		t.Fatalf("provider A processed %q", pa)
	}
	na := w.hookA.notice(pa[0])
	if na.Type != "takedown_notice" || na.Notice.ID != noticeA || na.Notice.URL != "https://files.hosting-a.example/a/1.jpg" ||
		!na.Notice.Urgent || na.XARF.Type != "csam" || na.XARF.Category != "content" || na.XARF.Classification != "baseline" ||
		na.XARF.HashValues["md5"] != "00112233445566778899aabbccddeeff" || !strings.HasSuffix(na.StatusURL, "/v1/notices/"+noticeA+"/status") {
		t.Errorf("provider A's notice: %+v xarf %+v", na, na.XARF)
	}
	// The police's push arrives too, signed.
	eventually(t, "police push", func() bool { _, p := w.hookPolice.snapshot(); return len(p) == 1 })

	// The police's inbox holds the report; Germany's is empty.
	var inbox server.InboxPage
	tn.get("/v1/inbox", w.police.Token).decode(t, http.StatusOK, &inbox)
	if len(inbox.Reports) != 1 || inbox.Reports[0].Report.ID != rr.ID || inbox.Reports[0].Report.ReporterRef != "HL-2026-0042" {
		t.Fatalf("police inbox %+v", inbox)
	}
	tn.get("/v1/inbox", w.policeDE.Token).decode(t, http.StatusOK, &inbox)
	if len(inbox.Reports) != 0 {
		t.Fatalf("German police see %+v", inbox.Reports)
	}
	// Outsiders find nothing and leak nothing.
	for _, p := range []*principal{w.policeDE, w.platform} {
		r := tn.get("/v1/reports/"+rr.ID, p.Token)
		r.problem(t, http.StatusNotFound, "not-found")
		if strings.Contains(string(r.body), "hosting-a") {
			t.Errorf("404 leaks the URL: %s", r.body)
		}
	}
	tn.get("/v1/notices/"+noticeA, w.provB.Token).problem(t, http.StatusNotFound, "not-found")
	tn.get("/v1/notices/"+noticeA, w.policeDE.Token).problem(t, http.StatusNotFound, "not-found")
	tn.get("/v1/notices", w.platform.Token).problem(t, http.StatusForbidden, "forbidden")
	tn.postJSON("/v1/notices/"+noticeA+"/status", w.provB.Token, map[string]any{"status": "removed"}).problem(t, http.StatusNotFound, "not-found")
	tn.postJSON("/v1/reports/"+rr.ID+"/hold", w.policeDE.Token, map[string]any{"reason": "x", "until": time.Now().Add(time.Hour)}).
		problem(t, http.StatusNotFound, "not-found")
	var page server.NoticePage
	tn.get("/v1/notices", w.provB.Token).decode(t, http.StatusOK, &page)
	if len(page.Notices) != 1 || page.Notices[0].ID != noticeB {
		t.Fatalf("provider B lists %+v", page.Notices)
	}
	var stats server.TakedownStats
	tn.get("/v1/takedown-stats", w.provB.Token).decode(t, http.StatusOK, &stats)
	if len(stats.Providers) != 1 || stats.Providers[0].Provider != w.provB.Org {
		t.Fatalf("provider B's stats show %+v", stats.Providers)
	}

	// The police acknowledge; provider A acknowledges and removes; B disputes.
	tn.do(request{method: "POST", path: "/v1/reports/" + rr.ID + "/ack", token: w.police.Token}).decode(t, http.StatusOK, &rep)
	if rep.Forwards[0].AckedAt == nil {
		t.Fatal("ack not recorded")
	}
	var n reports.Notice
	tn.postJSON("/v1/notices/"+noticeA+"/status", w.provA.Token, map[string]any{"status": "acknowledged"}).decode(t, http.StatusOK, &n)
	tn.postJSON("/v1/notices/"+noticeA+"/status", w.provA.Token, map[string]any{"status": "removed", "note": "gone"}).decode(t, http.StatusOK, &n)
	if n.Status != reports.Removed || n.AckedAt == nil || n.RemovedAt == nil || n.Sends != 1 {
		t.Fatalf("notice A %+v", n)
	}
	tn.postJSON("/v1/notices/"+noticeA+"/status", w.provA.Token, map[string]any{"status": "acknowledged"}).problem(t, http.StatusConflict, "notice-status-conflict")
	tn.postJSON("/v1/notices/"+noticeB+"/status", w.provB.Token, map[string]any{"status": "disputed"}).problem(t, http.StatusUnprocessableEntity, "invalid-input")
	tn.postJSON("/v1/notices/"+noticeB+"/status", w.provB.Token, map[string]any{"status": "disputed", "note": "not our customer"}).decode(t, http.StatusOK, &n)

	tn.get("/v1/takedown-stats", tn.admin.Token).decode(t, http.StatusOK, &stats)
	byProv := map[string]struct {
		removed, disputed int
		w24               float64
	}{}
	for _, p := range stats.Providers {
		byProv[p.Provider] = struct {
			removed, disputed int
			w24               float64
		}{p.Removed, p.Disputed, p.Within24h}
	}
	if a := byProv[w.provA.Org]; a.removed != 1 || a.w24 != 1 {
		t.Errorf("provider A figures %+v", a)
	}
	if b := byProv[w.provB.Org]; b.disputed != 1 || b.w24 != 0 {
		t.Errorf("provider B figures %+v", b)
	}
	metrics := string(tn.scrape().body)
	for _, want := range []string{
		fmt.Sprintf(`hashhub_notice_removed_within_ratio{provider=%q,window="24h"} 1`, w.provA.Org),
		fmt.Sprintf(`hashhub_notices{provider=%q,status="disputed"} 1`, w.provB.Org),
		`hashhub_outbox_attempts_total{kind="notice",result="ok"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Every read of report data is in the audit chain.
	acts := strings.Join(tn.auditActions(), " ")
	for _, a := range []string{"report.submit", "report.route", "notice.create", "notice.delivered", "report.read", "report.inbox_read", "report.ack", "notice.status"} {
		if !strings.Contains(acts, a) {
			t.Errorf("audit lacks %s", a)
		}
	}
}

func (tn *testNode) put(path, token string, v any) *response {
	tn.t.Helper()
	return tn.do(request{method: "PUT", path: path, token: token, ctype: "application/json", body: mustJSON(tn.t, v)})
}

// TestReportBadInput: every bad report is a 4xx problem and stores nothing.
func TestReportBadInput(t *testing.T) {
	w := newDeskWorld(t)
	tn := w.tn
	count := func() int {
		var n int
		if err := tn.n.DB.View(func(tx *store.Tx) error { n = tx.ReportCount(); return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before, n0 := tn.state(), count()
	with := func(k string, v any) []byte {
		r := validReport("https://x.example/a")
		r[k] = v
		return mustJSON(t, r)
	}
	cases := []struct {
		name, ctype string
		body        []byte
		status      int
		slug, field string
	}{
		{"image", "image/jpeg", []byte{0xff, 0xd8, 0xff}, 415, "media-refused", ""},
		{"multipart", "multipart/form-data; boundary=x", []byte("--x--"), 415, "media-refused", ""},
		{"octet-stream", "application/octet-stream", []byte("x"), 415, "media-refused", ""},
		{"text", "text/plain", []byte("hello"), 415, "unsupported-content-type", ""},
		{"data URL", "application/json", with("urls", []string{"data:image/png;base64,iVBORw0KGgo="}), 422, "invalid-input", "urls[0]"},
		{"file URL", "application/json", with("urls", []string{"file:///etc/passwd"}), 422, "invalid-input", "urls[0]"},
		{"javascript URL", "application/json", with("urls", []string{"javascript:alert(1)"}), 422, "invalid-input", "urls[0]"},
		{"no scheme", "application/json", with("urls", []string{"example.org/x"}), 422, "invalid-input", "urls[0]"},
		{"credentials", "application/json", with("urls", []string{"https://u:p@example.org/x"}), 422, "invalid-input", "urls[0]"},
		{"no urls", "application/json", with("urls", []string{}), 422, "invalid-input", "urls"},
		{"unknown field", "application/json", with("image", "aGVsbG8="), 400, "malformed-request", ""},
		{"bad category", "application/json", with("classification", map[string]any{"category": "terrible"}), 422, "invalid-input", "classification.category"},
		{"national without jurisdictions", "application/json", with("classification", map[string]any{"category": "national"}), 422, "invalid-input", "classification.jurisdictions"},
		{"bad severity", "application/json", with("classification", map[string]any{"category": "baseline", "severity": "Z"}), 422, "invalid-input", "classification.severity"},
		{"bad detection", "application/json", with("detection", "psychic"), 422, "invalid-input", "detection"},
		{"control characters", "application/json", with("explanation", "a\x00b"), 422, "invalid-input", "explanation"},
		{"long explanation", "application/json", with("explanation", strings.Repeat("a", reports.MaxExplanation+1)), 422, "invalid-input", "explanation"},
		{"bad hash", "application/json", with("hashes", []map[string]string{{"algo": "md5", "value": "xyz"}}), 422, "invalid-input", "hashes[0]"},
		{"future", "application/json", with("observed_at", time.Now().Add(time.Hour).Format(time.RFC3339)), 422, "invalid-input", "observed_at"},
		{"id from a reporter", "application/json", with("id", "rep_00000000000000000000000000000000"), 422, "invalid-input", "id"},
		{"hops from a reporter", "application/json", with("hops", []string{"node-x"}), 422, "invalid-input", "hops"},
		{"not JSON", "application/json", []byte("{urls:"), 400, "malformed-request", ""},
		{"two objects", "application/json", append(with("urgent", false), []byte(`{}`)...), 400, "malformed-request", ""},
		{"not UTF-8", "application/json", []byte("{\"explanation\":\"\xff\"}"), 400, "invalid-text", "explanation"},
		{"huge", "application/json", append([]byte(`{"explanation":"`), make([]byte, 2<<20)...), 413, "body-too-large", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := tn.do(request{method: "POST", path: "/v1/reports", token: w.hotline.Token, ctype: c.ctype, body: c.body})
			p := r.problem(t, c.status, c.slug)
			if p.Field != c.field {
				t.Errorf("field %q, want %q (%s)", p.Field, c.field, p.Detail)
			}
		})
	}
	// Hosting providers and admins do not report.
	tn.postJSON("/v1/reports", w.provA.Token, validReport("https://x.example/a")).problem(t, http.StatusForbidden, "forbidden")
	// Bad provider registrations.
	for name, body := range map[string]map[string]any{
		"not a provider": {"org": w.hotline.Org, "domains": []string{"x.example"}, "email": "a@x.example"},
		"bad range":      {"org": w.provA.Org, "ranges": []string{"300.0.0.0/8"}, "email": "a@x.example"},
		"no channel":     {"org": w.provA.Org, "domains": []string{"x.example"}},
		"bad webhook":    {"org": w.provA.Org, "domains": []string{"x.example"}, "webhook_url": "ftp://x.example"},
		"bad email":      {"org": w.provA.Org, "domains": []string{"x.example"}, "email": "Abuse <a@x.example>"},
	} {
		t.Run(name, func(t *testing.T) {
			tn.postJSON("/v1/providers", tn.admin.Token, body).problem(t, http.StatusUnprocessableEntity, "invalid-input")
		})
	}
	tn.unchanged(t, before, "refused reports")
	if n := count(); n != n0 {
		t.Fatalf("%d reports stored by refused requests", n-n0)
	}
}
