package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashhub/hashhub/delivery"
	"github.com/hashhub/hashhub/hosting"
	"github.com/hashhub/hashhub/internal/needtool"
	"github.com/hashhub/hashhub/orgs"
)

// TestREADMEWebhookRecipe runs the README's webhook check as written, with
// curl and openssl, on a notice this node really sent: it fetches node.pem
// from the node and accepts the delivery, and refuses it once the body is
// changed.
func TestREADMEWebhookRecipe(t *testing.T) {
	needtool.Command(t, "curl")
	needtool.Command(t, "openssl")
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- webhook-verify:start -->\\s*```sh\\n(.*?)```\\s*<!-- webhook-verify:end -->").FindSubmatch(raw)
	if m == nil {
		t.Fatal("README.md has no webhook-verify block")
	}

	w := newDeskWorld(t)
	prov := w.tn.member(orgs.HostingProvider, "NL")
	var mu sync.Mutex
	var hdr http.Header
	var body []byte
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		if hdr == nil {
			hdr, body = r.Header.Clone(), b
		}
		mu.Unlock()
		rw.WriteHeader(http.StatusAccepted)
	}))
	defer hook.Close()
	w.tn.postJSON("/v1/providers", w.tn.admin.Token, map[string]any{"org": prov.Org, "domains": []string{"hosting-c.example"},
		"webhook_url": hook.URL + "/notices"}).decode(t, http.StatusCreated, nil)
	w.tn.startOutbox(hosting.Static{}, nil)
	w.submit(t, w.hotline, validReport("https://www.hosting-c.example/1"))
	eventually(t, "a webhook delivery", func() bool { mu.Lock(); defer mu.Unlock(); return hdr != nil })

	dir := t.TempDir()
	run := func(b []byte) (string, error) {
		if err := os.WriteFile(filepath.Join(dir, "body.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", string(m[1]))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "NODE="+w.tn.url, "TS="+hdr.Get(delivery.HeaderTimestamp),
			"KEY="+hdr.Get(delivery.HeaderIdempotency), "SIG="+hdr.Get(delivery.HeaderSignature))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(body)
	if err != nil || !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("the README's check refused a real delivery: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "node.pem")); err != nil {
		t.Fatalf("the recipe did not write node.pem: %v", err)
	}
	if out, err := run(append(body, ' ')); err == nil {
		t.Fatalf("the README's check accepted a changed body:\n%s", out)
	}
}
