package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashhub/hashhub/delivery"
	"github.com/hashhub/hashhub/node"
)

// api is a minimal client for the binary under test.
type api struct {
	t    *testing.T
	base string
}

func (a api) token(id, secret string) string {
	a.t.Helper()
	resp, err := http.PostForm(a.base+"/v1/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&tr) != nil {
		a.t.Fatalf("token: %d", resp.StatusCode)
	}
	return tr.AccessToken
}

func (a api) call(method, path, tok string, body any, status int, out any) {
	a.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw bytes.Buffer
	raw.ReadFrom(resp.Body)
	if resp.StatusCode != status {
		a.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw.String())
	}
	if out != nil {
		if err := json.Unmarshal(raw.Bytes(), out); err != nil {
			a.t.Fatal(err)
		}
	}
}

// member creates an organisation with one user and returns its id and token.
func (a api) member(admin, name, kind, jur string) (org, tok string) {
	var o struct {
		ID string `json:"id"`
	}
	a.call("POST", "/v1/orgs", admin, map[string]string{"name": name, "kind": kind, "jurisdiction": jur}, 201, &o)
	var u struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	a.call("POST", "/v1/orgs/"+o.ID+"/users", admin, map[string]string{"name": "user"}, 201, &u)
	return o.ID, a.token(u.ClientID, u.ClientSecret)
}

// slowHook is a provider's webhook. While slow, it processes a delivery
// and answers only after a delay (the node is killed meanwhile, so the
// delivery is "in flight": done at the receiver, not recorded at the node).
type slowHook struct {
	mu        sync.Mutex
	slow      bool
	calls     map[string]int
	processed []string
}

func (h *slowHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get(delivery.HeaderIdempotency)
	h.mu.Lock()
	h.calls[key]++
	if h.calls[key] == 1 {
		h.processed = append(h.processed, key)
	}
	slow := h.slow
	h.mu.Unlock()
	if slow {
		time.Sleep(3 * time.Second)
	}
	w.WriteHeader(http.StatusAccepted)
}

func (h *slowHook) state() (processed int, redelivered int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.calls {
		if n > 1 {
			redelivered++
		}
	}
	return len(h.processed), redelivered
}

// TestNoticesSurviveKill: the real binary is killed (SIGKILL) with
// notices in flight and queued; restarted on the same data directory, it
// delivers every notice, and the receiver processes each exactly once by
// its idempotency key.
func TestNoticesSurviveKill(t *testing.T) {
	const reports = 12
	bin := buildBinary(t)
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"init", "--data", dir, "--node-id", "node-a", "--jurisdiction", "NL"}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	settings := `{"rdap_off": true, "retry_base": "50ms", "retry_max": "200ms", "retry_attempts": 1000}`
	if err := os.WriteFile(filepath.Join(dir, node.ReportsFile), []byte(settings), 0o600); err != nil {
		t.Fatal(err)
	}
	hook := &slowHook{slow: true, calls: map[string]int{}}
	hs := httptest.NewServer(hook)
	defer hs.Close()

	addr := freeAddr(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--data", dir, "--addr", addr, "--metrics-addr", "")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitReady(t, "http://"+addr)
		return cmd
	}
	cmd := start()
	a := api{t, "http://" + addr}
	raw, _ := os.ReadFile(filepath.Join(dir, node.AdminFile))
	var creds node.Credentials
	json.Unmarshal(raw, &creds)
	admin := a.token(creds.ClientID, creds.ClientSecret)
	_, hot := a.member(admin, "Hotline NL", "hotline", "NL")
	prov, _ := a.member(admin, "Hoster NL", "hosting_provider", "NL")
	a.call("POST", "/v1/providers", admin, map[string]any{"org": prov, "domains": []string{"hoster.example"}, "webhook_url": hs.URL}, 201, nil)
	for i := range reports {
		a.call("POST", "/v1/reports", hot, map[string]any{"urls": []string{fmt.Sprintf("https://s%d.hoster.example/f", i)},
			"classification": map[string]any{"category": "baseline"}, "detection": "hash_match", "explanation": "known hash",
			"observed_at": time.Now().Add(-time.Minute).Format(time.RFC3339)}, 201, nil)
	}
	// Kill once some deliveries are at the receiver but unanswered.
	deadline := time.Now().Add(15 * time.Second)
	for p, _ := hook.state(); p < 3; p, _ = hook.state() {
		if time.Now().After(deadline) {
			t.Fatal("no delivery reached the receiver")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	atKill, _ := hook.state()
	if atKill >= reports {
		t.Fatalf("all %d notices were out before the kill; nothing was left in flight", atKill)
	}
	hook.mu.Lock()
	hook.slow = false
	hook.mu.Unlock()

	cmd = start()
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline = time.Now().Add(30 * time.Second)
	for p, _ := hook.state(); p < reports; p, _ = hook.state() {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d notices processed after restart", p, reports)
		}
		time.Sleep(20 * time.Millisecond)
	}
	processed, redelivered := hook.state()
	if processed != reports || redelivered == 0 {
		t.Fatalf("processed %d (want %d), redelivered %d (the in-flight ones must come again)", processed, reports, redelivered)
	}
	// The node records every notice as sent.
	var page struct {
		Notices []struct {
			ID, Status string
			Sends      int
		} `json:"notices"`
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		a.call("GET", "/v1/notices?status=sent", admin, nil, 200, &page)
		if len(page.Notices) == reports || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(page.Notices) != reports {
		t.Fatalf("%d notices sent, want %d", len(page.Notices), reports)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	for _, n := range page.Notices {
		if hook.calls[n.ID+"/1"] == 0 || n.Sends != 1 {
			t.Errorf("notice %s: %d calls, %d sends", n.ID, hook.calls[n.ID+"/1"], n.Sends)
		}
	}
}
