package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/node"
)

// testNode is a real node serving on a loopback port.
type testNode struct {
	url   string
	dir   string
	admin creds
}

type creds struct{ id, secret string }

// startNode initialises a node in a temporary directory and serves it
// until the test ends.
func startNode(t *testing.T, jur string) *testNode {
	t.Helper()
	return startNamedNode(t, "test-node", jur)
}

// startNamedNode is startNode with a node id of the caller's choosing, for
// tests with several nodes.
func startNamedNode(t *testing.T, id, jur string) *testNode {
	t.Helper()
	dir := t.TempDir()
	c, err := node.Init(dir, id, jur)
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	url, _ := serveNode(t, dir, nil)
	return &testNode{url: url, dir: dir, admin: creds{c.ClientID, c.ClientSecret}}
}

// serveNode opens the node in dir, lets configure adjust it, and serves it
// on a loopback port until the test ends.
func serveNode(t *testing.T, dir string, configure func(*node.Node)) (string, *node.Node) {
	t.Helper()
	n, err := node.Open(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if configure != nil {
		configure(n)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		n.Close()
	})
	return "http://" + ln.Addr().String(), n
}

// result is one hashctl run.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// hashctl runs the command line as main would.
func hashctl(stdin io.Reader, args ...string) result {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	code := run(args, stdin, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// as runs hashctl against n with c's credentials, given after the
// command's own arguments (as users type them).
func (n *testNode) as(c creds, args ...string) result {
	return hashctl(nil, append(args, "--server", n.url, "--client-id", c.id, "--client-secret", c.secret)...)
}

// ok fails the test unless r exited 0.
func ok(t *testing.T, r result) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("want exit 0, got:\n%s", r)
	}
	return r
}

// fails fails the test unless r exited with code and stderr holds every want.
func fails(t *testing.T, r result, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got:\n%s", code, r)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r)
		}
	}
}

// contains fails unless s holds every want.
func contains(t *testing.T, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("output lacks %q:\n%s", w, s)
		}
	}
}

func lacks(t *testing.T, s string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(s, b) {
			t.Errorf("output holds %q:\n%s", b, s)
		}
	}
}

// field reads "name: value" from human output.
func field(t *testing.T, out, name string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no field %q in:\n%s", name, out)
	return ""
}

// decode parses --json output.
func decode[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("stdout is not the JSON expected: %v\n%s", err, r)
	}
	return v
}

// sha is a synthetic sha256 hash value.
func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
