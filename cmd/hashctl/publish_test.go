package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/internal/needtool"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/publish"
)

// serveTree runs Debian's nginx as the test's user, with its own
// configuration, prefix and loopback port, serving dir until the test
// ends, and returns its base URL.
func serveTree(t *testing.T, dir string) string {
	t.Helper()
	bin := needtool.Nginx(t)
	prefix := t.TempDir()
	for _, d := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tmp := filepath.Join(prefix, "tmp")
	conf := fmt.Sprintf(`master_process off;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  types { application/json json; application/x-ndjson ndjson; text/plain sig pem; }
  default_type application/octet-stream;
  server {
    listen %[3]s;
    root %[4]s;
    location ~ (/latest\.json|/checkpoint|/keys\.json)$ { add_header Cache-Control "public, max-age=60"; }
    location / { add_header Cache-Control "public, max-age=31536000, immutable"; }
  }
}
`, prefix, tmp, addr, dir)
	cf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", prefix, "-c", cf, "-e", filepath.Join(prefix, "logs", "error.log"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(prefix, "logs", "error.log"))
			t.Fatalf("nginx exited: %v\n%s\n%s", err, out.String(), log)
		default:
		}
		if resp, err := http.Get(base + "/"); err == nil {
			resp.Body.Close()
			return base
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not answer on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publishTree publishes rn's releases to dir as hashhub serve
// --publish-to does (the list's readers are restricted, so the target is
// private).
func (rn *relNode) publishTree(t *testing.T, dir string) *publish.Summary {
	t.Helper()
	target, err := publish.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := rn.n.Publisher(target, true).Publish(context.Background())
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return sum
}

// pullFrom pulls from a published tree, pinning the node's keys from
// files; --server names the node, which is asked only for its checkpoint.
func (rn *relNode) pullFrom(t *testing.T, from, dir string, extra ...string) result {
	t.Helper()
	bg := context.Background()
	pem, err := rn.plat.ReleaseKeyPEM(bg)
	if err != nil {
		t.Fatal(err)
	}
	k, err := rn.plat.Keys(bg)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"pull", "--list", listName, "--dir", dir, "--from", from, "--server", rn.url,
		"--key", writeFile(t, "node.pub.pem", string(pem)), "--log-key", k.LogVerifierKey}, extra...)
	return hashctl(nil, args...)
}

// TestPullFromPublishedTree publishes a real node's releases to a
// directory, serves it with nginx, and mirrors the list through it: the
// same checks as against the node, a stale tree noticed through the
// node's checkpoint, and every kind of tampering refused with the mirror
// unchanged.
func TestPullFromPublishedTree(t *testing.T) {
	rn := startRelNode(t, nil, nil)
	rn.submit(t, "h1", "h2", "h3")
	rn.build(t)
	rn.submit(t, "h4")
	rn.build(t)
	tree := t.TempDir()

	// A list with restricted readers goes only to a private target.
	target, err := publish.Open(tree)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rn.n.Publisher(target, false).Publish(context.Background(), listName); !errors.Is(err, publish.ErrRestricted) {
		t.Fatalf("publish of a restricted list to a public target: %v", err)
	}
	sum, err := rn.n.Publisher(target, false).Publish(context.Background())
	if err != nil || len(sum.Lists) != 1 || sum.Lists[0].Skipped == "" {
		t.Fatalf("publish to a public target: %v %+v", err, sum)
	}
	if _, err := os.Stat(filepath.Join(tree, client.StaticLatest(listName))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the restricted list reached a public target: %v", err)
	}

	sum = rn.publishTree(t, tree)
	if sum.LogSize != 2 || sum.Lists[0].Version != 2 || sum.Lists[0].Snapshot != 2 {
		t.Fatalf("publish: %+v", sum)
	}
	for _, p := range []string{"lists/verified/1/manifest.json", "lists/verified/1/manifest.sig", "lists/verified/1/manifest.sigstore.json",
		"lists/verified/1/delta.ndjson", "lists/verified/2/delta.ndjson", "lists/verified/2/snapshot.ndjson",
		"log/checkpoint", "log/tile/0/000.p/2", "log/tile/entries/000.p/2", "keys.json", "keys/release.pem"} {
		if _, err := os.Stat(filepath.Join(tree, p)); err != nil {
			t.Errorf("the tree lacks %s: %v", p, err)
		}
	}
	again := rn.publishTree(t, tree)
	if again.FilesWritten != 0 {
		t.Errorf("a second publish with nothing new wrote %d files", again.FilesWritten)
	}

	base := serveTree(t, tree)
	dir := filepath.Join(t.TempDir(), "mirror")
	r := ok(t, rn.pullFrom(t, base, dir))
	contains(t, r.stdout, "version 0 → 2", "version 1: 3 added", "version 2: 1 added, 0 removed, 0 updated, 4 entries")
	lacks(t, r.stderr, "behind")

	// The node moves on: the tree is behind, and the node says so.
	rn.submit(t, "h5")
	rn.build(t)
	r = ok(t, rn.pullFrom(t, base, dir))
	contains(t, r.stdout, "up to date at version 2")
	contains(t, r.stderr, "the published tree is behind", "log has 3 entries, the tree's checkpoint 2")
	rn.publishTree(t, tree)
	r = ok(t, rn.pullFrom(t, base, dir))
	contains(t, r.stdout, "version 2 → 3", "version 3: 1 added, 0 removed, 0 updated, 5 entries")
	lacks(t, r.stderr, "behind")

	// Version 4, published; then each file of it broken in turn.
	rn.submit(t, "h6", "h7")
	rn.build(t)
	rn.publishTree(t, tree)
	// A first pull of more entries than a batch starts from the tree's
	// newest snapshot (version 2), chained from version 1, then follows
	// the deltas after it.
	fresh := filepath.Join(t.TempDir(), "fresh")
	r = ok(t, rn.pullFrom(t, base, fresh, "--batch", "2"))
	contains(t, r.stderr, "verifying the manifests from version 1 and loading the snapshot of version 2 in batches of 2 lines")
	contains(t, r.stdout, "version 0 → 4")
	if exportOf(t, fresh) != string(rn.snapshot(t)) {
		t.Fatal("a first pull through the tree's snapshot holds other entries than the node's snapshot of version 4")
	}

	refusals(t, dirTree(tree), dir, func() result { return rn.pullFrom(t, base, dir) })
	r = ok(t, rn.pullFrom(t, base, dir))
	contains(t, r.stdout, "version 3 → 4", "7 entries")

	// The same tree read straight from the directory, as file://.
	fdir := filepath.Join(t.TempDir(), "mirror")
	r = ok(t, rn.pullFrom(t, "file://"+tree, fdir))
	contains(t, r.stdout, "version 0 → 4", "7 entries")
	ok(t, hashctl(nil, "verify", "--dir", fdir))
}

// treeFiles is how a test reaches into a published tree to break it: a
// directory or a bucket. Paths are the tree's.
type treeFiles interface {
	read(t *testing.T, p string) []byte
	write(t *testing.T, p string, b []byte)
	remove(t *testing.T, p string)
}

type dirTree string

func (d dirTree) read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(string(d), p))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (d dirTree) write(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(string(d), p), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (d dirTree) remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(filepath.Join(string(d), p)); err != nil {
		t.Fatal(err)
	}
}

// refusals breaks the tree's version 4 of listName (the latest) in each
// way a mirror must refuse: pull, which pulls into the mirror at dir
// (at version 3), fails each time saying why, and the mirror is
// unchanged. Each break is undone before the next.
func refusals(t *testing.T, tree treeFiles, dir string, pull func() result) {
	t.Helper()
	before := dirFiles(t, dir)
	v4 := client.StaticVersion(listName, 4)
	tile := "log/tile/0/000.p/4"
	flip := func(p string) func() {
		b := tree.read(t, p)
		c := []byte(string(b))
		c[len(c)/2] ^= 0x01
		tree.write(t, p, c)
		return func() { tree.write(t, p, b) }
	}
	remove := func(p string) func() {
		b := tree.read(t, p)
		tree.remove(t, p)
		return func() { tree.write(t, p, b) }
	}
	rollback := func() func() {
		p := client.StaticLatest(listName)
		b := tree.read(t, p)
		old := strings.Replace(string(b), `"latest":4`, `"latest":2`, 1)
		if old == string(b) {
			t.Fatalf("latest.json: %s", b)
		}
		tree.write(t, p, []byte(old))
		return func() { tree.write(t, p, b) }
	}
	for _, c := range []struct {
		name   string
		break_ func() func()
		want   []string
	}{
		{"tampered delta", func() func() { return flip(v4 + "/delta.ndjson") }, []string{"refused version 4", "delta"}},
		{"tampered manifest", func() func() { return flip(v4 + "/manifest.json") }, []string{"refused version 4"}},
		{"tampered signature", func() func() { return flip(v4 + "/manifest.sig") }, []string{"refused version 4"}},
		{"tampered tile", func() func() { return flip(tile) }, []string{"refused checkpoint", "inconsistent tile"}},
		{"rolled-back latest pointer", rollback, []string{"refused version 2", "rollback"}},
		{"deleted delta", func() func() { return remove(v4 + "/delta.ndjson") }, []string{"4/delta.ndjson", "Not Found"}},
		{"deleted tile", func() func() { return remove(tile) }, []string{"log/tile/0/000.p/4", "Not Found"}},
		{"deleted manifest", func() func() { return remove(v4 + "/manifest.json") }, []string{"refused version 4", "no manifest"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			restore := c.break_()
			defer restore()
			r := pull()
			if r.code == 0 {
				t.Fatalf("a pull from a tree with a %s succeeded:\n%s", c.name, r)
			}
			for _, w := range c.want {
				if !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(w)) {
					t.Errorf("stderr lacks %q:\n%s", w, r)
				}
			}
			unchanged(t, dir, before)
		})
	}
}

// TestServePublishesAfterEachRelease runs a node with --publish-to: each
// release reaches the tree without anyone asking, the metrics say which
// version was published, and a target that fails is counted and retried
// without holding up a release.
func TestServePublishesAfterEachRelease(t *testing.T) {
	tree := t.TempDir()
	broken := filepath.Join(t.TempDir(), "broken")
	var n1, n2 *node.Node
	rn := startRelNode(t, nil, func(n *node.Node) {
		target, err := publish.Open(tree)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.PublishTo(target, true, time.Hour); err != nil {
			t.Fatal(err)
		}
		n1 = n
	})
	// A second node whose target is a directory replaced by a file after
	// it was opened: every write fails.
	rn2 := startRelNodeID(t, "other-node", nil, func(n *node.Node) {
		target, err := publish.Open(broken)
		if err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(broken)
		os.WriteFile(broken, []byte("not a directory"), 0o600)
		if err := n.PublishTo(target, true, time.Hour); err != nil {
			t.Fatal(err)
		}
		n2 = n
	})
	rn.submit(t, "h1", "h2")
	rn.build(t)
	rn.submit(t, "h3")
	rn.build(t)
	rn2.submit(t, "h1")
	if v := rn2.build(t); v != 1 {
		t.Fatalf("the node with a failing target released version %d", v)
	}

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s", what)
			}
		}
	}
	metrics := func(n *node.Node) string {
		rec := httptest.NewRecorder()
		n.Server.Metrics().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Body.String()
	}
	waitFor("version 2 in the tree", func() bool {
		b, _ := os.ReadFile(filepath.Join(tree, client.StaticLatest(listName)))
		return strings.Contains(string(b), `"latest":2`)
	})
	waitFor("the metrics of version 2", func() bool {
		return strings.Contains(metrics(n1), `hashhub_publish_version{list="verified"} 2`)
	})
	contains(t, metrics(n1), "hashhub_publish_failures_total 0")
	waitFor("a failure counted", func() bool {
		return !strings.Contains(metrics(n2), "hashhub_publish_failures_total 0")
	})
	lacks(t, metrics(n2), `hashhub_publish_version{list="verified"}`)

	dir := filepath.Join(t.TempDir(), "mirror")
	r := ok(t, rn.pullFrom(t, "file://"+tree, dir))
	contains(t, r.stdout, "version 0 → 2", "3 entries")
	rn.submit(t, "h4")
	rn.build(t)
	waitFor("version 3 in the tree", func() bool {
		b, _ := os.ReadFile(filepath.Join(tree, client.StaticLatest(listName)))
		return strings.Contains(string(b), `"latest":3`)
	})
	r = ok(t, rn.pullFrom(t, "file://"+tree, dir))
	contains(t, r.stdout, "version 2 → 3", "4 entries")
}
