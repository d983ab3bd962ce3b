package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashhub/hashhub/node"
)

// TestSIGTERMEndsLongPollsAndFinishesWrites runs the real binary with a
// peer-style long poll open (waiting 25 s for a first release) and a write
// whose body is still arriving when SIGTERM comes. The poll is answered at
// once, the write completes, and the process exits long before the poll's
// wait would have ended. It also checks that /metrics is served on its own
// address and not on the API's.
func TestSIGTERMEndsLongPollsAndFinishesWrites(t *testing.T) {
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve", "--data", dir, "--addr", addr, "--metrics-addr", metricsAddr)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill() // if the test failed before it exited
		<-exited
	})
	base := "http://" + addr
	waitReady(t, base)
	raw, err := os.ReadFile(filepath.Join(dir, node.AdminFile))
	if err != nil {
		t.Fatal(err)
	}
	var creds node.Credentials
	json.Unmarshal(raw, &creds)
	resp, err := http.PostForm(base+"/v1/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	call := func(method, path, body string) *http.Request {
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, base+path, r)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return req
	}
	resp, err = http.DefaultClient.Do(call("POST", "/v1/lists", `{"name":"shared","policy":{"min_assessments":1}}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create list: %v %v", resp, err)
	}
	resp.Body.Close()

	// Metrics: on their own address, not on the API's.
	if resp, err = http.Get(base + "/metrics"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /metrics on the API address: %v %v, want 404", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(m), `hashhub_http_requests_total{code="201",method="POST",route="/v1/lists"} 1`) {
		t.Fatalf("metrics address: %d\n%.500s", resp.StatusCode, m)
	}

	// A long poll for the list's first release, as a peer's sync loop
	// keeps open, and a write whose body has not all arrived.
	polled := make(chan int, 1)
	go func() {
		r, err := http.DefaultClient.Do(call("GET", "/v1/lists/shared/releases/latest?after=0&wait=25", ""))
		if err != nil {
			polled <- -1
			return
		}
		r.Body.Close()
		polled <- r.StatusCode
	}()
	pr, pw := io.Pipe()
	wrote := make(chan int, 1)
	go func() {
		req := call("POST", "/v1/orgs", "")
		req.Body = pr
		req.Header.Set("Content-Type", "application/json")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			wrote <- -1
			return
		}
		r.Body.Close()
		wrote <- r.StatusCode
	}()
	pw.Write([]byte(`{"name":"Late Org",`))
	time.Sleep(300 * time.Millisecond) // both requests reach their handlers
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	pw.Write([]byte(`"kind":"hotline","jurisdiction":"DE"}`))
	pw.Close()

	// Before long polls ended at shutdown, the node waited out the poll's
	// 25 s; a limit well below that tells the two apart.
	limit := time.After(10 * time.Second)
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("serve exited with %v", waitErr)
		}
	case <-limit:
		t.Fatal("the node was still running 10 s after SIGTERM with a 25 s long poll open")
	}
	// The poll was answered (no release yet: 404 no-release), not cut off.
	if code := <-polled; code != http.StatusNotFound {
		t.Fatalf("long poll answered %d at shutdown, want 404 (no release yet)", code)
	}
	if code := <-wrote; code != http.StatusCreated {
		t.Fatalf("in-flight write finished with %d, want 201", code)
	}
}
