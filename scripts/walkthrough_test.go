// Package scripts holds the project's scripts; this test runs the README's
// walkthrough exactly as written, so the README cannot drift from the code.
package scripts

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/internal/needtool"
)

// walkthrough returns the shell block between the README's markers.
func walkthrough(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- walkthrough:start -->\\s*```sh\\n(.*?)```\\s*<!-- walkthrough:end -->").FindSubmatch(raw)
	if m == nil {
		t.Fatal("README.md has no walkthrough block")
	}
	return string(m[1])
}

// buildBins builds hashhub and hashctl into a temporary directory.
func buildBins(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/hashhub", "./cmd/hashctl")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// runWalkthrough runs the README's walkthrough with the node on addr
// instead of 127.0.0.1:8080, in a new directory, which it returns.
func runWalkthrough(t *testing.T, bin, addr string) (string, []byte, error) {
	t.Helper()
	script := strings.ReplaceAll(walkthrough(t), "127.0.0.1:8080", addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	// The node's metrics address (127.0.0.1:9090 by default) is off, so
	// that walkthroughs and other nodes on this machine do not collide.
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HASHHUB_METRICS_ADDR=")
	out, err := cmd.CombinedOutput()
	return dir, out, err
}

func TestREADMEWalkthrough(t *testing.T) {
	needtool.Command(t, "curl")
	needtool.Command(t, "openssl")
	// The README uses 127.0.0.1:8080; the test takes a free port instead.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir, out, err := runWalkthrough(t, buildBins(t), addr)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "node.log"))
		t.Fatalf("walkthrough failed: %v\n--- output\n%s\n--- node log\n%s", err, out, log)
	}
	text := string(out)
	md5 := "00112233445566778899aabbccddeeff"
	for _, want := range []string{
		"first admin credentials",
		"role:          admin",
		"rejected:   1",
		"line 3: value:",
		"audit chain intact",
		"Released verified version 1",
		"): OK",
		"Verified OK",
		`{"algo":"md5","value":"` + md5 + `","severity":"B"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("walkthrough output lacks %q", want)
		}
	}
	// The md5 entry is listed after the second jurisdiction's assessment,
	// gone while disputed, and back once upheld: three listings show it
	// exactly twice, and the history shows the dispute upheld.
	listings := regexp.MustCompile(`(?m)^md5\s+`+md5+`\s+-\s+B\s*$`).FindAllString(text, -1)
	if len(listings) != 2 {
		t.Errorf("md5 entry listed %d times, want 2 (after assessment, after upholding)\n%s", len(listings), text)
	}
	if !strings.Contains(text, "upheld") {
		t.Errorf("history does not show the upheld dispute\n%s", text)
	}
}

// TestWalkthroughStopsWhenPortIsTaken runs the walkthrough while another
// server, which answers /readyz as a different node, holds the port: the
// node cannot start, and the walkthrough must stop there with the node's
// log instead of waiting forever or driving the other server.
func TestWalkthroughStopsWhenPortIsTaken(t *testing.T) {
	needtool.Command(t, "curl")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"node":"someone-else","status":"ready"}`)
	}))
	defer other.Close()
	dir, out, err := runWalkthrough(t, buildBins(t), other.Listener.Addr().String())
	if err == nil {
		t.Fatalf("the walkthrough went on with another server on its port:\n%s", out)
	}
	if !strings.Contains(string(out), "has exited; see its log") || !strings.Contains(string(out), "address already in use") {
		t.Errorf("the walkthrough did not stop at the start with the node's log:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "nl.json")); err == nil {
		t.Errorf("the walkthrough went past the start")
	}
}
