package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/server"
)

// scrape reads the node's metrics from their own HTTP server, as the
// node serves them on --metrics-addr, apart from the API.
func (tn *testNode) scrape() *response {
	tn.t.Helper()
	ms := httptest.NewServer(tn.n.Server.Metrics())
	defer ms.Close()
	resp, err := http.Get(ms.URL + "/metrics")
	if err != nil {
		tn.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &response{status: resp.StatusCode, header: resp.Header, body: b, req: "GET /metrics (metrics address)"}
}

// The API's address tells a caller without a token nothing about the
// node's providers, peers and traffic: /metrics is not there.
func TestMetricsNotOnAPIAddress(t *testing.T) {
	tn := newTestNode(t)
	tn.get("/v1/me", tn.admin.Token).decode(t, http.StatusOK, nil)
	tn.get("/metrics", "").problem(t, http.StatusNotFound, "no-route")
	tn.get("/metrics", tn.admin.Token).problem(t, http.StatusNotFound, "no-route")
	if m := tn.scrape(); m.status != http.StatusOK || !strings.Contains(string(m.body), `route="/v1/me"`) {
		t.Fatalf("metrics handler: %d %.300s", m.status, m.body)
	}
}

// A token holder who may not read a list learns nothing of its releases
// from the log's leaves: only the leaf hash, which checks the tree.
func TestLogLeafOfUnreadableList(t *testing.T) {
	tn := newTestNode(t)
	hl := tn.member(orgs.Hotline, "NL")
	reader := tn.member(orgs.Platform, "US")
	outsider := tn.member(orgs.Platform, "US")
	tn.postJSON("/v1/lists", tn.admin.Token, map[string]any{"name": "restricted-list", "policy": map[string]any{"min_assessments": 1},
		"readers": map[string]any{"orgs": []string{reader.Org}}}).decode(t, http.StatusCreated, nil)
	tn.postJSON("/v1/hashes", hl.Token, map[string]any{"algo": "md5", "value": strings.Repeat("b2", 16)}).decode(t, http.StatusCreated, nil)
	tn.do(request{method: "POST", path: "/v1/lists/restricted-list/releases", token: tn.admin.Token}).decode(t, http.StatusCreated, nil)
	manifest := tn.get("/v1/lists/restricted-list/releases/1/manifest.json", reader.Token)
	manifest.decode(t, http.StatusOK, nil)

	for _, p := range []*principal{reader, tn.admin} {
		leaf := tn.get("/v1/log/leaves/0", p.Token)
		leaf.decode(t, http.StatusOK, nil)
		if string(leaf.body) != string(manifest.body) {
			t.Fatalf("%s: leaf 0 is not the manifest: %s", p.Role, leaf.body)
		}
	}
	for _, p := range []*principal{outsider, hl} {
		leaf := tn.get("/v1/log/leaves/0", p.Token)
		var h server.LogLeafHash
		leaf.decode(t, http.StatusOK, &h)
		for _, secret := range []string{"restricted-list", "set_root", "entries", `"list"`} {
			if strings.Contains(string(leaf.body), secret) {
				t.Fatalf("%s sees %q in leaf 0: %s", p.Role, secret, leaf.body)
			}
		}
		want := sha256.Sum256(append([]byte{0}, manifest.body...))
		if h.Index != 0 || h.LeafHash != base64.StdEncoding.EncodeToString(want[:]) {
			t.Fatalf("leaf hash for a non-reader: %+v", h)
		}
		// Per-caller answers: no shared cache may keep them.
		if cc := leaf.header.Get("Cache-Control"); !strings.Contains(cc, "private") || strings.Contains(cc, "public") ||
			leaf.header.Get("Vary") != "Authorization" {
			t.Fatalf("leaf headers %v", leaf.header)
		}
	}
	var raw map[string]any
	if err := json.Unmarshal(manifest.body, &raw); err != nil || raw["list"] != "restricted-list" {
		t.Fatalf("manifest %s", manifest.body)
	}
}
