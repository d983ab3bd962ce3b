package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/node"
)

// TestReportsUnrouted: on a node with no peer and no fallback, a report
// hosted in another jurisdiction shows status unrouted and an admin finds
// it with `hashctl reports unrouted`; a hotline may not list them.
func TestReportsUnrouted(t *testing.T) {
	dir := t.TempDir()
	c, err := node.Init(dir, "test-node", "NL")
	if err != nil {
		t.Fatal(err)
	}
	settings := `{"rdap_off": true, "hosts": {"localhost": ["127.0.0.1"]}}`
	if err := os.WriteFile(filepath.Join(dir, node.ReportsFile), []byte(settings), 0o600); err != nil {
		t.Fatal(err)
	}
	url, _ := serveNode(t, dir, nil)
	n := &testNode{url: url, dir: dir, admin: creds{c.ClientID, c.ClientSecret}}

	hot := field(t, ok(t, n.as(n.admin, "orgs", "create", "--name", "Hotline NL", "--kind", "hotline", "--jurisdiction", "NL")).stdout, "id")
	r := ok(t, n.as(n.admin, "users", "create", "--org", hot, "--name", "Analyst"))
	analyst := creds{field(t, r.stdout, "client_id"), field(t, r.stdout, "client_secret")}

	contains(t, ok(t, n.as(n.admin, "reports", "unrouted")).stdout, "no unrouted reports")

	r = ok(t, n.as(analyst, "reports", "submit", "--url", "https://cdn.elsewhere.example/x/1.jpg", "--detection", "manual_review",
		"--explanation", "Analyst confirmed.", "--hosting-jurisdiction", "DE"))
	id := field(t, r.stdout, "id")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(ok(t, n.as(analyst, "reports", "show", id)).stdout, "unrouted") {
		if time.Now().After(deadline) {
			t.Fatalf("report %s never routed:\n%s", id, n.as(analyst, "reports", "show", id))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := field(t, ok(t, n.as(analyst, "reports", "show", id)).stdout, "status"); got != "unrouted" {
		t.Errorf("status %q, want unrouted", got)
	}
	r = ok(t, n.as(n.admin, "reports", "unrouted"))
	contains(t, r.stdout, "REPORT", "UNROUTED", id, "https://cdn.elsewhere.example/x/1.jpg (DE)", "Hotline NL")
	fails(t, n.as(analyst, "reports", "unrouted"), 1, "hashctl: Not allowed")
}
