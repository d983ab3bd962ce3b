package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
