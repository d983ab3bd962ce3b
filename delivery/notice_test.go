package delivery_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/delivery"
	"github.com/hashhub/hashhub/delivery/xarftest"
	"github.com/hashhub/hashhub/reports"
)

var testIdentity = delivery.Identity{NodeID: "node-a", Org: "Meldpunt Test", Email: "notices@meldpunt.example",
	Domain: "meldpunt.example", PublicURL: "https://hub.meldpunt.example"}

// testNotice is a notice as the hub makes it, for a URL that passed
// reports.NormalizeURL.
func testNotice(t testing.TB, rawURL string, c reports.Classification) *reports.Notice {
	t.Helper()
	u, err := reports.NormalizeURL(rawURL)
	if err != nil {
		t.Fatalf("NormalizeURL(%q): %v", rawURL, err)
	}
	return &reports.Notice{
		ID: "ntc_0123456789abcdef0123456789abcdef", Report: "rpt_1", URL: u, Status: reports.Queued,
		XARFID: "5f0c3c52-3a8e-4f55-9c1e-2b7d0f4b8a11", ReporterName: "Hotline Test", Classification: c,
		Detection: "hash_match", ObservedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Created:  time.Date(2026, 3, 1, 12, 5, 0, 0, time.UTC),
		Evidence: &reports.Evidence{Method: "registered_domain", Host: reports.Host(u), Jurisdiction: "NL"},
		Hashes: []reports.HashRef{
			{Algo: "sha256", Value: strings.Repeat("ab", 32)}, {Algo: "md5", Value: strings.Repeat("cd", 16)},
			{Algo: "sha1", Value: strings.Repeat("ef", 20)},
		},
	}
}

var baseline = reports.Classification{Category: "baseline", Severity: "A"}

// hostileURLs are reported URLs (accepted by NormalizeURL) whose host or
// query once made an invalid XARF part: punycode and other "--" labels,
// addresses, a digit TLD, a single label, and every character RFC 3986
// refuses in a query, path or fragment.
var hostileURLs = []string{
	"https://media.example.net/p/9.jpg",
	"https://xn--bcher-kva.example/a.jpg",
	"https://cdn.xn--p1ai/a.jpg",
	"http://a--b.example.org/x",
	"http://xn--80ak6aa92e.xn--p1ai:8080/x?y=1",
	"http://192.0.2.44/a.jpg",
	"http://[2001:db8::7]:8443/a.jpg",
	"http://files.example.123/x",
	"http://localhost/x",
	"http://bücher.example/straße?q=ü",
	`https://e.example/p?q="x"&r=<y>`,
	`https://e.example/p?a=\b^c`,
	"https://e.example/p?a=`b`",
	"https://e.example/p?a={b}|c",
	"https://e.example/p?a=%zz&b=%41&c=%",
	"https://e.example/p?a=[1]#frag\"{}",
	"https://e.example/p?a=b#x#y<z>",
	`https://e.example/"<>\^` + "`{|}" + `/?"<>\^` + "`{|}#\"<>\\^`{|}",
	"https://e.example/?",
	"https://e.example",
}

// TestXARFOfficialSchema: every baseline notice's XARF part (webhook and
// email) is valid against the official XARF v4 content-csam schema with
// formats asserted, whatever the host and query; the url names the same
// resource, and domain is given whenever the schema allows it.
func TestXARFOfficialSchema(t *testing.T) {
	for _, raw := range hostileURLs {
		t.Run(raw, func(t *testing.T) {
			n := testNotice(t, raw, baseline)
			x, err := delivery.BuildXARF(testIdentity, n)
			if err != nil {
				t.Fatal(err)
			}
			doc, _ := json.Marshal(x)
			if err := xarftest.Validate(doc); err != nil {
				t.Fatalf("XARF part does not conform: %v\n%s", err, doc)
			}
			if x.Classification != "baseline" || x.SourceIdentifier != reports.Host(n.URL) {
				t.Errorf("classification %q source %q", x.Classification, x.SourceIdentifier)
			}
			sameResource(t, n.URL, x.URL)
			host := reports.Host(n.URL)
			if wantDomain := !strings.Contains(host, "--") && !strings.ContainsAny(host, ":[") &&
				strings.Contains(host, ".") && strings.Trim(host[strings.LastIndex(host, ".")+1:], "abcdefghijklmnopqrstuvwxyz") == "" &&
				!strings.ContainsFunc(host, func(r rune) bool { return r > 127 }); wantDomain != (x.Domain == host) || (!wantDomain && x.Domain != "") {
				t.Errorf("host %q: domain %q", host, x.Domain)
			}

			body, err := delivery.NoticeBody(testIdentity, n, 1)
			if err != nil {
				t.Fatal(err)
			}
			var wh struct {
				XARF        json.RawMessage `json:"xarf"`
				XARFOmitted string          `json:"xarf_omitted"`
			}
			if err := json.Unmarshal(body, &wh); err != nil || wh.XARFOmitted != "" {
				t.Fatalf("webhook %s: %v", body, err)
			}
			if err := xarftest.Validate(wh.XARF); err != nil {
				t.Fatalf("webhook XARF does not conform: %v\n%s", err, wh.XARF)
			}

			text, xarf := emailParts(t, n)
			if xarf == nil || !strings.Contains(text, "The attached xarf.json is the same notice in XARF v4") {
				t.Fatalf("email without its XARF part:\n%s", text)
			}
			if err := xarftest.Validate(xarf); err != nil {
				t.Fatalf("email XARF does not conform: %v\n%s", err, xarf)
			}
		})
	}
}

// sameResource checks that the XARF url is the reported URL with only
// %-escapes added: decoding the valid escapes of each gives the same text.
func sameResource(t *testing.T, reported, got string) {
	t.Helper()
	if unescape(reported) != unescape(got) {
		t.Errorf("XARF url %q is not the reported %q", got, reported)
	}
}

// unescape decodes every valid %XX and keeps a stray % as it is.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestXARFNational: XARF v4 has no classification for material illegal
// only under national law and the schema requires one, so a national
// notice carries no XARF part; the webhook says why in xarf_omitted and
// the email's text part says why, with nothing attached.
func TestXARFNational(t *testing.T) {
	n := testNotice(t, "https://media.example.net/p/9.jpg", reports.Classification{Category: "national", Jurisdictions: []string{"DE", "NL"}, Severity: "B"})
	if x, err := delivery.BuildXARF(testIdentity, n); !errors.Is(err, delivery.ErrNoXARFClassification) || x != nil {
		t.Fatalf("BuildXARF = %+v, %v", x, err)
	}
	body, err := delivery.NoticeBody(testIdentity, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	var wh map[string]any
	if err := json.Unmarshal(body, &wh); err != nil {
		t.Fatal(err)
	}
	if _, ok := wh["xarf"]; ok || wh["xarf_omitted"] != delivery.ErrNoXARFClassification.Error() {
		t.Fatalf("webhook %s", body)
	}
	if nt, _ := wh["notice"].(map[string]any); nt["url"] != n.URL {
		t.Fatalf("webhook notice %v", wh["notice"])
	}
	text, xarf := emailParts(t, n)
	if xarf != nil {
		t.Fatalf("national email has a XARF part:\n%s", xarf)
	}
	for _, want := range []string{"Classification: illegal under the law of DE, NL, severity B", "No xarf.json is attached", "material illegal only under national law"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

// emailParts builds a notice's email and returns its text part and its
// XARF part (nil when there is none); any other part fails the test.
func emailParts(t *testing.T, n *reports.Notice) (text string, xarf []byte) {
	t.Helper()
	return emailPartsSend(t, n, 1)
}

// emailPartsSend is emailParts of the send-th email (a reminder after 1).
func emailPartsSend(t *testing.T, n *reports.Notice, send int) (text string, xarf []byte) {
	t.Helper()
	raw, err := delivery.NoticeEmail(testIdentity, n, send, fmt.Sprintf("%s/%d", n.ID, send), time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q", msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for i := 0; ; i++ {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return text, xarf
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		switch {
		case i == 0 && p.Header.Get("Content-Type") == "text/plain; charset=utf-8":
			tb, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
			if err != nil {
				t.Fatal(err)
			}
			text = string(tb)
		case i == 1 && p.Header.Get("Content-Disposition") == `attachment; filename="xarf.json"`:
			if xarf, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(b), "\r\n", "")); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unexpected part %d: %v", i, p.Header)
		}
	}
}

// FuzzXARF: whatever URL a reporter gets past NormalizeURL, the baseline
// notice's XARF part is valid against the official schema.
func FuzzXARF(f *testing.F) {
	for _, u := range hostileURLs {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := reports.NormalizeURL(raw)
		if err != nil {
			return
		}
		n := testNotice(t, u, baseline)
		x, err := delivery.BuildXARF(testIdentity, n)
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := json.Marshal(x)
		if err := xarftest.Validate(doc); err != nil {
			t.Fatalf("%q: XARF part does not conform: %v\n%s", raw, err, doc)
		}
	})
}

// TestXARFLongReporterName: a forwarded report may name another node's
// organisation at any length; XARF allows 200 characters.
func TestXARFLongReporterName(t *testing.T) {
	n := testNotice(t, "https://media.example.net/p/9.jpg", baseline)
	n.ReporterName = strings.Repeat("Ö", 300)
	x, err := delivery.BuildXARF(testIdentity, n)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(x)
	if err := xarftest.Validate(doc); err != nil || x.Reporter.Org != strings.Repeat("Ö", 200) {
		t.Fatalf("%v\n%s", err, doc)
	}
}

// TestIdentityValidateAgreesWithSchema: Identity.Validate accepts exactly
// the identities whose XARF reporter and sender the official schema
// accepts, so a node that starts sends valid contact_info.
func TestIdentityValidateAgreesWithSchema(t *testing.T) {
	n := testNotice(t, "https://media.example.net/p/9.jpg", baseline)
	for _, id := range []delivery.Identity{
		testIdentity,
		{Org: "Hotline", Email: "notices@node-a.invalid", Domain: "node-a.invalid"},
		{Org: "Hotline", Email: "n@x.example", Domain: "xn--bcher-kva.example"},
		{Org: "Hotline", Email: "n@x.example", Domain: "node-.invalid"},
		{Org: "Hotline", Email: "n@x.example", Domain: "a..b.invalid"},
		{Org: "Hotline", Email: "n@x.example", Domain: "hot_line.example"},
		{Org: "Hotline", Email: "n@x.example", Domain: strings.Repeat("a", 64) + ".example"},
		{Org: "Hotline", Email: "not an address", Domain: "x.example"},
		{Org: "Hotline", Email: "n@x.example", Domain: ""},
		{Org: strings.Repeat("O", 201), Email: "n@x.example", Domain: "x.example"},
	} {
		n.ReporterName = id.Org
		x, err := delivery.BuildXARF(id, n)
		if err != nil {
			t.Fatal(err)
		}
		x.Reporter.Org, x.Sender.Org = id.Org, id.Org // unclipped, as a misconfigured node would send it
		doc, _ := json.Marshal(x)
		schemaErr := xarftest.Validate(doc)
		if verr := id.Validate(); (verr == nil) != (schemaErr == nil) {
			t.Errorf("%+v: Validate %v, schema %v", id, verr, schemaErr)
		}
	}
}

// TestXARFNoticeVariants: notices located by RDAP (no registered
// provider, evidence without a jurisdiction), without hashes, with a
// PhotoDNA hash, without a reporter name, and a reminder: every XARF part
// is valid against the official schema.
func TestXARFNoticeVariants(t *testing.T) {
	for name, change := range map[string]func(n *reports.Notice){
		"no evidence":   func(n *reports.Notice) { n.Evidence = nil },
		"rdap evidence": func(n *reports.Notice) { n.Evidence = &reports.Evidence{Method: "rdap", AbuseEmail: "abuse@h.example"} },
		"no hashes":     func(n *reports.Notice) { n.Hashes = nil },
		"odd country":   func(n *reports.Notice) { n.Evidence.Jurisdiction = "eu" },
		"photodna": func(n *reports.Notice) {
			n.Hashes = []reports.HashRef{{Algo: "photodna", Value: strings.Repeat("A", 192)}}
		},
		"no reporter": func(n *reports.Notice) { n.ReporterName = "" },
		"urgent":      func(n *reports.Notice) { n.Urgent, n.Escalation, n.Sends = true, 2, 2 },
	} {
		n := testNotice(t, "https://media.example.net/p/9.jpg?a=1", baseline)
		change(n)
		x, err := delivery.BuildXARF(testIdentity, n)
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := json.Marshal(x)
		if err := xarftest.Validate(doc); err != nil {
			t.Errorf("%s: %v\n%s", name, err, doc)
		}
		for _, send := range []int{1, 3} {
			if _, xarf := emailPartsSend(t, n, send); xarf == nil || xarftest.Validate(xarf) != nil {
				t.Errorf("%s send %d: email XARF %s", name, send, xarf)
			}
		}
	}
}

// TestURIStrayBrackets: a host with a bracket that is no IPv6 literal
// (which NormalizeURL now refuses, but an older stored report may hold)
// is escaped, not passed on raw.
func TestURIStrayBrackets(t *testing.T) {
	for in, want := range map[string]string{
		"http://]/a":           "http://%5D/a",
		"http://[2001:db8::1]": "http://[2001:db8::1]",
	} {
		if got := delivery.URI(in); got != want {
			t.Errorf("URI(%q) = %q, want %q", in, got, want)
		}
	}
}
