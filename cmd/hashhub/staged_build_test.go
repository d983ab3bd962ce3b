package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/store"
)

// get fetches path with tok and returns the status and body.
func (a api) get(path, tok string) (int, []byte) {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// stagedState reads, from a stopped node's store, list l's published
// version and whether a staged build is under way (and its phase).
func stagedState(t *testing.T, dir string) (version uint64, staged bool, phase uint64) {
	t.Helper()
	db, err := store.Open(dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *store.Tx) error {
		ls, err := tx.ListState("l", false)
		if err != nil {
			return nil
		}
		version = ls.Counter("version")
		if bs := ls.Build(); bs != nil {
			staged, phase = true, bs.Counter("phase")
		}
		return nil
	})
	return version, staged, phase
}

// copyDir copies a stopped node's data directory.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		if !fi.Mode().IsRegular() {
			return nil // the backup socket
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, fi.Mode())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStagedFirstBuildSurvivesKill builds a list's first version in small
// steps (--build-chunk) in a real `hashhub serve`, killed with SIGKILL
// again and again while it builds. After each kill the store holds the
// old state (no version, a staged build at most) or the new one, never a
// half-published version, and the API serves nothing of the version until
// it is whole; the build, resumed by the next request, publishes the same
// manifest, delta and snapshot bytes as a copy of the node that finished
// the same build without interruption, and the same delta, snapshot and
// set root as a build in one transaction.
func TestStagedFirstBuildSurvivesKill(t *testing.T) {
	bin := buildBinary(t)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "node")
	creds, err := node.Init(dir, "hub-sb", "NL")
	if err != nil {
		t.Fatal(err)
	}
	base, stop := serveNode(t, dir)
	a := api{t, base}
	admin := a.token(creds.ClientID, creds.ClientSecret)
	_, hot := a.member(admin, "Hotline", "hotline", "NL")
	a.call("POST", "/v1/lists", admin, map[string]any{"name": "l", "policy": map[string]int{"min_assessments": 1}}, 201, nil)
	for i := 0; i < 8000; i += 4000 {
		a.importRange(hot, i, i+4000)
	}
	stop()
	whole := filepath.Join(tmp, "whole")
	copyDir(t, dir, whole)

	// serve starts the binary on a data directory; kill stops it with
	// SIGKILL and waits for it.
	serve := func(data string, chunk string) (api, func()) {
		addr := freeAddr(t)
		cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr, "--metrics-addr", "",
			"--release-interval", "0", "--build-chunk", chunk)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		kill := func() { cmd.Process.Kill(); <-done }
		t.Cleanup(kill)
		b := api{t, "http://" + addr}
		waitReady(t, b.base)
		return b, kill
	}
	build := func(b api, tok string) chan int {
		out := make(chan int, 1)
		go func() {
			req, _ := http.NewRequest("POST", b.base+"/v1/lists/l/releases", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				out <- -1
				return
			}
			resp.Body.Close()
			out <- resp.StatusCode
		}()
		return out
	}
	type served struct{ manifest, delta, snapshot []byte }
	fetch := func(b api, tok string) served {
		var s served
		for _, f := range []struct {
			path string
			into *[]byte
		}{{"/v1/lists/l/releases/1/manifest.json", &s.manifest}, {"/v1/lists/l/delta?from=0&to=1", &s.delta}, {"/v1/lists/l/snapshot", &s.snapshot}} {
			code, body := b.get(f.path, tok)
			if code != 200 {
				t.Fatalf("GET %s: %d %s", f.path, code, body)
			}
			*f.into = body
		}
		return s
	}

	// Kill the build again and again, each time a little later after its
	// request (the step it reaches varies with the machine's load).
	var reference string
	kills, midway := 0, 0
	for delay := 30 * time.Millisecond; ; delay += 90 * time.Millisecond {
		b, kill := serve(dir, "200")
		tok := b.token(creds.ClientID, creds.ClientSecret)
		if code, body := b.get("/v1/lists/l/releases/latest", tok); code == 200 {
			var m struct {
				Latest uint64 `json:"latest"`
			}
			json.Unmarshal(body, &m)
			if m.Latest != 1 {
				t.Fatalf("after the kills: version %d", m.Latest)
			}
			kill()
			break
		} else if code/100 == 5 {
			t.Fatalf("GET releases/latest mid-build: %d %s", code, body)
		}
		done := build(b, tok)
		time.Sleep(delay)
		kill()
		kills++
		select {
		case code := <-done:
			if code != 201 && code != -1 {
				t.Fatalf("build answered %d", code)
			}
		default:
		}
		version, staged, phase := stagedState(t, dir)
		switch {
		case version == 0 && staged:
			midway++
			t.Logf("kill %d after %s: staged build in phase %d", kills, delay, phase)
			if reference == "" {
				// A copy that will finish this build uninterrupted.
				reference = filepath.Join(tmp, "reference")
				copyDir(t, dir, reference)
			}
		case version == 0:
			t.Logf("kill %d after %s: the build had not started", kills, delay)
		case version == 1 && !staged:
			t.Logf("kill %d after %s: the build had finished", kills, delay)
		default:
			t.Fatalf("kill %d: version %d with a staged build (phase %d)", kills, version, phase)
		}
		if kills > 60 {
			t.Fatal("the build never finished")
		}
	}
	if midway < 2 {
		t.Fatalf("only %d of %d kills came during the build", midway, kills)
	}
	b, kill := serve(dir, "200")
	tok := b.token(creds.ClientID, creds.ClientSecret)
	got := fetch(b, tok)
	kill()

	b, kill = serve(reference, "200")
	tok = b.token(creds.ClientID, creds.ClientSecret)
	if code := <-build(b, tok); code != 201 {
		t.Fatalf("reference build: %d", code)
	}
	want := fetch(b, tok)
	kill()
	if !bytes.Equal(got.manifest, want.manifest) || !bytes.Equal(got.delta, want.delta) || !bytes.Equal(got.snapshot, want.snapshot) {
		t.Fatalf("the killed build publishes other bytes than the uninterrupted one:\n%s\nwant\n%s", got.manifest, want.manifest)
	}

	b, kill = serve(whole, "0")
	tok = b.token(creds.ClientID, creds.ClientSecret)
	if code := <-build(b, tok); code != 201 {
		t.Fatalf("build in one transaction: %d", code)
	}
	one := fetch(b, tok)
	kill()
	if !bytes.Equal(got.delta, one.delta) || !bytes.Equal(got.snapshot, one.snapshot) {
		t.Fatal("the staged build's delta or snapshot differs from a build in one transaction")
	}
	field := func(raw []byte, name string) string {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		v, _ := json.Marshal(m[name])
		return string(v)
	}
	for _, name := range []string{"set_root", "entries", "delta"} {
		if field(got.manifest, name) != field(one.manifest, name) {
			t.Fatalf("manifest %s: staged %s, one transaction %s", name, field(got.manifest, name), field(one.manifest, name))
		}
	}
	if n := strings.Count(string(got.snapshot), "\n"); n != 8000 {
		t.Fatalf("snapshot of %d lines, want 8000", n)
	}
}
