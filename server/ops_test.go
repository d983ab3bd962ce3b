package server_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/server"
)

func TestOperations(t *testing.T) {
	tn := newTestNode(t)

	t.Run("healthz", func(t *testing.T) {
		var body map[string]string
		tn.get("/healthz", "").decode(t, http.StatusOK, &body)
		if body["status"] != "ok" {
			t.Fatalf("body %v", body)
		}
	})
	t.Run("readyz", func(t *testing.T) {
		var body map[string]string
		tn.get("/readyz", "").decode(t, http.StatusOK, &body)
		if body["status"] != "ready" || body["node"] != "node-a" {
			t.Fatalf("body %v", body)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		tn.get("/v1/me", tn.admin.Token).decode(t, http.StatusOK, nil)
		r := tn.scrape()
		r.decode(t, http.StatusOK, nil)
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
		}
		for _, want := range []string{
			"# TYPE hashhub_http_requests_total counter",
			`hashhub_http_requests_total{code="200",method="GET",route="/v1/me"}`,
			`hashhub_http_requests_total{code="200",method="GET",route="/healthz"}`,
			"hashhub_http_request_duration_seconds_bucket",
		} {
			if !strings.Contains(string(r.body), want) {
				t.Errorf("metrics lack %q", want)
			}
		}
		// Unmatched paths share one label, so scanners cannot blow up the
		// series count.
		tn.get("/no/such/"+sha256Hex(), "")
		r = tn.scrape()
		if !strings.Contains(string(r.body), `route="unmatched"`) || strings.Contains(string(r.body), "/no/such/") {
			t.Errorf("unmatched paths are not collapsed into one label")
		}
	})
	t.Run("docs redirect", func(t *testing.T) {
		for _, p := range []string{"/docs", "/docs/"} {
			r := tn.get(p, "")
			if r.status != http.StatusMovedPermanently || r.header.Get("Location") != "/docs/index.html" {
				t.Fatalf("GET %s: %d Location %q", p, r.status, r.header.Get("Location"))
			}
		}
	})
	t.Run("docs index", func(t *testing.T) {
		r := tn.get("/docs/index.html", "")
		r.decode(t, http.StatusOK, nil)
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "swagger") {
			t.Fatalf("Content-Type %q body %.200s", r.header.Get("Content-Type"), r.body)
		}
	})
	t.Run("docs spec", func(t *testing.T) {
		var spec struct {
			Swagger string                     `json:"swagger"`
			Paths   map[string]json.RawMessage `json:"paths"`
		}
		tn.get("/docs/doc.json", "").decode(t, http.StatusOK, &spec)
		if spec.Swagger != "2.0" {
			t.Fatalf("swagger %q", spec.Swagger)
		}
		for _, c := range routeCases {
			if _, ok := spec.Paths[c.path]; !ok {
				t.Errorf("spec lacks %s", c.path)
			}
		}
		if _, ok := spec.Paths["/v1/oauth/token"]; !ok {
			t.Error("spec lacks /v1/oauth/token")
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		for _, p := range []string{"/v2/hashes", "/v1/nothing", "/"} {
			p := tn.get(p, tn.admin.Token).problem(t, http.StatusNotFound, "no-route")
			if p.Detail == "" {
				t.Fatal("no detail")
			}
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		for _, c := range []struct{ method, path, allow string }{
			{"DELETE", "/v1/orgs", "GET, POST"},
			{"PUT", "/v1/hashes/sha256/" + sha256Hex(), "GET"},
			{"GET", "/v1/oauth/token", "POST"},
			{"PATCH", "/v1/me", "GET"},
		} {
			r := tn.do(request{method: c.method, path: c.path, token: tn.admin.Token})
			p := r.problem(t, http.StatusMethodNotAllowed, "method-not-allowed")
			if !strings.Contains(p.Detail, c.method) {
				t.Errorf("%s %s: detail %q", c.method, c.path, p.Detail)
			}
			if got := r.header.Get("Allow"); !sameSet(got, c.allow) {
				t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
			}
		}
	})
}

func sameSet(a, b string) bool {
	split := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, x := range strings.Split(s, ",") {
			m[strings.TrimSpace(x)] = true
		}
		return m
	}
	x, y := split(a), split(b)
	if len(x) != len(y) {
		return false
	}
	for k := range x {
		if !y[k] {
			return false
		}
	}
	return true
}

// TestPhotoDNAPath: a PhotoDNA value is base64 and may hold '/' and '+';
// percent-encoded, it stays inside its path segment.
func TestPhotoDNAPath(t *testing.T) {
	tn := newTestNode(t)
	hot := tn.member(orgs.Hotline, "NL")
	var value string
	for {
		var b [144]byte
		rand.Read(b[:])
		value = base64.StdEncoding.EncodeToString(b[:])
		if strings.Contains(value, "/") && strings.Contains(value, "+") {
			break
		}
	}
	var ev server.EntryView
	tn.postJSON("/v1/hashes", hot.Token, map[string]any{"algo": "photodna", "value": value}).decode(t, http.StatusCreated, &ev)
	if ev.Value != value {
		t.Fatalf("stored %q, want %q", ev.Value, value)
	}
	// The URL-safe spelling of the same bytes is the same entry.
	urlSafe := strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(value), "=")
	tn.postJSON("/v1/hashes", hot.Token, map[string]any{"algo": "photodna", "value": urlSafe}).decode(t, http.StatusOK, nil)

	for name, p := range map[string]string{
		"PathEscape":     url.PathEscape(value),                                                  // '/' escaped, '+' and '=' literal
		"fully escaped":  strings.NewReplacer("/", "%2F", "+", "%2B", "=", "%3D").Replace(value), // what many clients send
		"URL-safe":       urlSafe,                                                                // needs no escaping at all
		"lower-case hex": strings.NewReplacer("/", "%2f", "+", "%2b").Replace(value),
	} {
		t.Run(name, func(t *testing.T) {
			var got server.EntryView
			tn.get("/v1/hashes/photodna/"+p, hot.Token).decode(t, http.StatusOK, &got)
			if got.Value != value || got.Algo != "photodna" || len(got.Assessments) != 1 {
				t.Fatalf("got %+v", got)
			}
			var h struct {
				Entry struct {
					Value string `json:"value"`
				} `json:"entry"`
			}
			tn.get("/v1/hashes/photodna/"+p+"/history", hot.Token).decode(t, http.StatusOK, &h)
			if h.Entry.Value != value {
				t.Fatalf("history of %q", h.Entry.Value)
			}
		})
	}
	t.Run("unescaped slash is another route", func(t *testing.T) {
		r := tn.get("/v1/hashes/photodna/"+value, hot.Token)
		if r.status != http.StatusNotFound && r.status != http.StatusUnprocessableEntity {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
}
