package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/delivery"
	"github.com/hashhub/hashhub/delivery/xarftest"
	"github.com/hashhub/hashhub/hosting"
	"github.com/hashhub/hashhub/internal/needtool"
	"github.com/hashhub/hashhub/reports"
)

// smtpSaver is an aiosmtpd handler that writes each message it receives to
// a file in a directory.
const smtpSaver = `
import os, time
class Saver:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0
    @classmethod
    def from_cli(cls, parser, *args):
        return cls(*args)
    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        tmp = os.path.join(self.outdir, "msg%d.tmp" % self.n)
        with open(tmp, "wb") as f:
            f.write(("X-Envelope-To: %s\r\n" % ",".join(envelope.rcpt_tos)).encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.outdir, "msg%d.eml" % self.n))
        return "250 Message accepted for delivery"
`

// startSMTP runs a real SMTP server (Debian's python3-aiosmtpd) on a
// loopback port; messages land in the returned directory. Without the
// tool the test is skipped, except on CI, where it fails.
func startSMTP(t *testing.T) (addr, dir string) {
	t.Helper()
	py := needtool.Aiosmtpd(t)
	lib, dir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(lib, "smtpsaver.py"), []byte(smtpSaver), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	cmd := exec.Command(py, "-m", "aiosmtpd", "-n", "-l", addr, "-c", "smtpsaver.Saver", dir)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+lib)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr, dir
		}
		if time.Now().After(deadline) {
			t.Fatalf("aiosmtpd did not start: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rdapTestServer serves the recorded RDAP answers of hosting/testdata.
func rdapTestServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, _ := strings.CutPrefix(r.URL.Path, "/ip/")
		b, err := os.ReadFile(filepath.Join("..", "hosting", "testdata", "rdap", strings.ReplaceAll(addr, ":", "-")+".json"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rdap+json")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestNoticeByEmail: a URL on a host no provider registered is located by
// DNS (a static table here) and RDAP (recorded answers), and its notice
// goes by email over a real SMTP server to the abuse address RDAP named:
// a message a person can read, with a XARF v4 part that conforms to the
// schema, and nothing else attached.
func TestNoticeByEmail(t *testing.T) {
	smtpAddr, mailDir := startSMTP(t)
	w := newDeskWorld(t)
	w.tn.n.Outbox.Mailer = &delivery.Mailer{Addr: smtpAddr}
	w.tn.n.Outbox.Identity.Org, w.tn.n.Outbox.Identity.Email, w.tn.n.Outbox.Identity.Domain = "Meldpunt Test", "notices@meldpunt.example", "meldpunt.example"
	w.tn.n.Outbox.Identity.PublicURL = "https://hub.meldpunt.example"
	w.tn.startOutbox(hosting.Static{"media.unregistered.example": {"203.0.113.9"}}, &hosting.RDAP{Base: rdapTestServer(t).URL})

	body := validReport("https://media.unregistered.example/p/9.jpg")
	body["hashes"] = []map[string]string{{"algo": "sha256", "value": strings.Repeat("ab", 32)}}
	rep := w.routed(t, w.submit(t, w.hotline, body).ID)
	rt := rep.Routes[0]
	if rt.Destination != reports.DestLocal || rt.Jurisdiction != "NL" || rt.Evidence.Method != "rdap" ||
		rt.Evidence.Range != "203.0.113.0/24" || rt.Evidence.Handle != "NET-203-0-113-0-TEST" || rt.Evidence.AbuseEmail != "abuse@hoster-c.example" {
		t.Fatalf("route %+v evidence %+v", rt, rt.Evidence)
	}
	eventually(t, "email", func() bool {
		m, _ := filepath.Glob(filepath.Join(mailDir, "*.eml"))
		return len(m) == 1
	})
	// The node records the delivery after the relay accepted the message.
	var n reports.Notice
	eventually(t, "notice sent", func() bool { n = w.notice(t, w.hotline, rt.Notice); return n.Status != reports.Queued })
	if n.Status != reports.Sent || n.Email != "abuse@hoster-c.example" || n.Evidence.AbuseEmail != "abuse@hoster-c.example" {
		t.Fatalf("notice %+v", n)
	}

	raw, err := os.ReadFile(filepath.Join(mailDir, "msg1.eml"))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	subject, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	from, _ := mail.ParseAddress(h.Get("From"))
	for name, ok := range map[string]bool{
		"envelope":     h.Get("X-Envelope-To") == "abuse@hoster-c.example",
		"To":           h.Get("To") == "abuse@hoster-c.example",
		"From":         from != nil && from.Address == "notices@meldpunt.example" && from.Name == "Meldpunt Test",
		"Subject":      strings.HasPrefix(subject, "URGENT Takedown notice "+n.ID) && strings.Contains(subject, "media.unregistered.example"),
		"Message-ID":   h.Get("Message-ID") == "<"+n.ID+".1@node-a.hashhub>",
		"Auto":         h.Get("Auto-Submitted") == "auto-generated",
		"notice id":    h.Get("X-Hashhub-Notice") == n.ID,
		"MIME-Version": h.Get("MIME-Version") == "1.0",
	} {
		if !ok {
			t.Errorf("header %s wrong:\n%s", name, raw[:min(len(raw), 1200)])
		}
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q", h.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts []*multipart.Part
	var contents [][]byte
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		parts, contents = append(parts, p), append(contents, b)
	}
	if len(parts) != 2 {
		t.Fatalf("%d parts, want text and XARF only", len(parts))
	}
	if ct := parts[0].Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" || parts[0].Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Fatalf("first part %q", ct)
	}
	text, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(contents[0])))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"This is a takedown notice from Meldpunt Test",
		"https://media.unregistered.example/p/9.jpg",
		"Classification: baseline (illegal everywhere, INTERPOL baseline criteria), severity A",
		"Detected by: manual review",
		"Urgent: yes",
		"Notice id: " + n.ID,
		"No evidence is attached",
		"https://hub.meldpunt.example/v1/notices/" + n.ID + "/status",
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if ct := parts[1].Header.Get("Content-Type"); ct != "application/json; charset=utf-8" ||
		parts[1].Header.Get("Content-Disposition") != `attachment; filename="xarf.json"` {
		t.Fatalf("second part %q %q", ct, parts[1].Header.Get("Content-Disposition"))
	}
	xb, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(contents[1]), "\r\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	validateXARF(t, xb)
	var x map[string]any
	if err := json.Unmarshal(xb, &x); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"category": "content", "type": "csam", "url": "https://media.unregistered.example/p/9.jpg",
		"source_identifier": "media.unregistered.example", "classification": "baseline", "detection_method": "manual_review",
		"report_id": n.XARFID, "timestamp": rep.ObservedAt.Format(time.RFC3339), "country_code": "NL",
	} {
		if x[k] != want {
			t.Errorf("xarf %s = %v, want %v", k, x[k], want)
		}
	}
	if r := x["reporter"].(map[string]any); r["org"] != w.hotline.orgName(t, w.tn) || r["contact"] != "notices@meldpunt.example" {
		t.Errorf("xarf reporter %v", r)
	}
	if hv := x["hash_values"].(map[string]any); hv["sha256"] != strings.Repeat("ab", 32) {
		t.Errorf("xarf hashes %v", hv)
	}
}

func (p *principal) orgName(t *testing.T, tn *testNode) string {
	var o struct {
		Name string `json:"name"`
	}
	tn.get("/v1/orgs/"+p.Org, tn.admin.Token).decode(t, http.StatusOK, &o)
	return o.Name
}

// validateXARF checks a XARF document against the official XARF v4
// content-csam schema (delivery/testdata/xarf), formats asserted.
func validateXARF(t *testing.T, doc []byte) {
	t.Helper()
	if err := xarftest.Validate(doc); err != nil {
		t.Fatalf("XARF part does not conform: %v\n%s", err, doc)
	}
}

// TestNoticeXARFOfficialSchema: through a real node, the webhook notice of
// baseline material on a punycode host with a query RFC 3986 refuses
// carries a XARF document valid against the official schema (no domain,
// the query escaped); national material's notice carries none and says
// why.
func TestNoticeXARFOfficialSchema(t *testing.T) {
	w := newDeskWorld(t)
	w.tn.startOutbox(nil, nil)
	const rawURL = "https://xn--bcher-kva.hosting-a.example/p?q=\"a\"<b>{c}|d^e`f\\g"
	rep := w.routed(t, w.submit(t, w.hotline, validReport(rawURL)).ID)
	national := validReport("https://files.hosting-a.example/n/1.jpg")
	national["classification"] = map[string]any{"category": "national", "jurisdictions": []string{"NL"}}
	repN := w.routed(t, w.submit(t, w.hotline, national).ID)
	eventually(t, "notices delivered", func() bool { _, p := w.hookA.snapshot(); return len(p) == 2 })

	var x struct {
		XARF        json.RawMessage `json:"xarf"`
		XARFOmitted string          `json:"xarf_omitted"`
	}
	if err := json.Unmarshal(w.hookA.body(rep.Routes[0].Notice+"/1"), &x); err != nil {
		t.Fatal(err)
	}
	validateXARF(t, x.XARF)
	var doc map[string]any
	json.Unmarshal(x.XARF, &doc)
	if _, ok := doc["domain"]; ok || doc["url"] != "https://xn--bcher-kva.hosting-a.example/p?q=%22a%22%3Cb%3E%7Bc%7D%7Cd%5Ee%60f%5Cg" ||
		doc["source_identifier"] != "xn--bcher-kva.hosting-a.example" || x.XARFOmitted != "" {
		t.Errorf("xarf %s omitted %q", x.XARF, x.XARFOmitted)
	}
	x.XARF, x.XARFOmitted = nil, ""
	if err := json.Unmarshal(w.hookA.body(repN.Routes[0].Notice+"/1"), &x); err != nil {
		t.Fatal(err)
	}
	if x.XARF != nil || !strings.Contains(x.XARFOmitted, "national law") {
		t.Errorf("national notice: xarf %s omitted %q", x.XARF, x.XARFOmitted)
	}
}
