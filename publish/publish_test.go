package publish_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/publish"
)

// released opens a new node with list "open" (every role reads it) and
// list "closed" (platforms only), each released twice.
func released(t *testing.T) *node.Node {
	t.Helper()
	dir := t.TempDir()
	creds, err := node.Init(dir, "pub-node", "NL")
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	admin, err := n.Hub.Authenticate(creds.ClientID, creds.ClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	o, err := n.Hub.CreateOrg(admin, orgs.Org{Name: "Hotline", Kind: orgs.Hotline, Jurisdiction: "NL"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := n.Hub.CreateUser(admin, o.ID, "analyst")
	if err != nil {
		t.Fatal(err)
	}
	analyst := hub.Actor{User: u.User.ID, Org: o.ID, Role: orgs.Hotline, Jurisdiction: "NL"}
	every := []orgs.Role{orgs.Hotline, orgs.LawEnforcement, orgs.Platform, orgs.HostingProvider, orgs.Peer}
	for name, roles := range map[string][]orgs.Role{"open": every, "closed": {orgs.Platform}} {
		if _, err := n.Hub.CreateList(admin, lists.List{Name: name, Policy: lists.Policy{MinAssessments: 1},
			Readers: lists.Readers{Roles: roles}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		h, err := hashes.Parse("md5", hex.EncodeToString(fmt.Appendf(nil, "%016d", i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := n.Hub.Submit(analyst, h, entries.Input{}); err != nil {
			t.Fatal(err)
		}
		for _, l := range []string{"open", "closed"} {
			if _, err := n.Hub.BuildRelease(admin, l); err != nil {
				t.Fatal(err)
			}
		}
	}
	return n
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	for _, ok := range []string{dir, "file://" + dir, "file://localhost" + dir, filepath.Join(dir, "new/sub")} {
		if _, err := publish.Open(ok); err != nil {
			t.Errorf("Open(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "file://host/x", "https://example.org/x",
		"s3:bucket/x", "s3://", "s3://B/x", "s3://bucket:9000/x", "s3://k:s@bucket/x", "s3://bucket/a/../b", "s3://bucket/x?y=1"} {
		if _, err := publish.Open(bad); !errors.Is(err, publish.ErrTarget) {
			t.Errorf("Open(%q): %v, want ErrTarget", bad, err)
		}
	}
	// An s3:// target is opened without asking the service anything; its
	// endpoint must be a URL.
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
	to, err := publish.Open("s3://bucket/prefix")
	if err != nil || to.String() != "s3://bucket/prefix" {
		t.Errorf("Open(s3://bucket/prefix): %v %v", to, err)
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", "127.0.0.1:8333")
	if _, err := publish.Open("s3://bucket/prefix"); !errors.Is(err, publish.ErrTarget) || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL_S3") {
		t.Errorf("Open with a bad endpoint: %v", err)
	}
}

func TestDirPut(t *testing.T) {
	root := t.TempDir()
	d := &publish.Dir{Root: root}
	ctx := context.Background()
	for _, bad := range []string{"../x", "/etc/x", "a/../../x", "a//b", ""} {
		if err := d.Put(ctx, bad, strings.NewReader("x"), ""); !errors.Is(err, publish.ErrTarget) {
			t.Errorf("Put(%q): %v", bad, err)
		}
	}
	if err := d.Put(ctx, "a/b/c.json", strings.NewReader("one"), ""); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "a/b/c.json", strings.NewReader("two"), ""); err != nil {
		t.Fatal(err)
	}
	b, err := d.Get(ctx, "a/b/c.json", 10)
	if err != nil || string(b) != "two" {
		t.Fatalf("Get: %q %v", b, err)
	}
	if _, err := d.Get(ctx, "a/b/none", 10); !errors.Is(err, publish.ErrNotExist) {
		t.Errorf("Get of a missing file: %v", err)
	}
	if _, err := d.Get(ctx, "a/b/c.json", 2); err == nil {
		t.Error("Get over its limit succeeded")
	}
	ents, _ := os.ReadDir(filepath.Join(root, "a/b"))
	if len(ents) != 1 {
		t.Errorf("a/b holds %v, want c.json alone (no temporary files left)", ents)
	}
}

func TestPublishAccessConflictsAndAhead(t *testing.T) {
	n := released(t)
	ctx := context.Background()
	tree := t.TempDir()
	target, err := publish.Open(tree)
	if err != nil {
		t.Fatal(err)
	}

	// A public target gets the open list, not the closed one, and no
	// entry bundles (they hold the closed list's manifests).
	sum, err := n.Publisher(target, false).Publish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]publish.ListSummary{}
	for _, l := range sum.Lists {
		got[l.List] = l
	}
	if got["open"].Version != 2 || got["open"].Skipped != "" || got["closed"].Skipped == "" {
		t.Fatalf("public publish: %+v", sum.Lists)
	}
	for path, want := range map[string]bool{"lists/open/latest.json": true, "lists/closed/latest.json": false,
		"log/tile/0/000.p/4": true, "log/tile/entries/000.p/4": false} {
		if _, err := os.Stat(filepath.Join(tree, path)); (err == nil) != want {
			t.Errorf("%s: exists=%v, want %v", path, err == nil, want)
		}
	}
	if _, err := n.Publisher(target, false).Publish(ctx, "closed"); !errors.Is(err, publish.ErrRestricted) {
		t.Errorf("naming the closed list for a public target: %v", err)
	}
	// Marked private, the same target takes both and the entry bundles.
	if _, err := n.Publisher(target, true).Publish(ctx); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"lists/closed/latest.json", "log/tile/entries/000.p/4"} {
		if _, err := os.Stat(filepath.Join(tree, path)); err != nil {
			t.Errorf("private publish: %v", err)
		}
	}

	// Another file where an immutable one is: refused, not overwritten.
	sig := filepath.Join(tree, client.StaticVersion("open", 1), "manifest.sig")
	os.WriteFile(sig, []byte("forged"), 0o644)
	os.Remove(filepath.Join(tree, client.StaticLatest("open")))
	if _, err := n.Publisher(target, true).Publish(ctx); !errors.Is(err, publish.ErrConflict) {
		t.Errorf("publish over another signature: %v", err)
	}
	if b, _ := os.ReadFile(sig); string(b) != "forged" {
		t.Errorf("the conflicting file was overwritten: %q", b)
	}

	// A tree ahead of the node: refused.
	os.WriteFile(filepath.Join(tree, client.StaticLatest("closed")), []byte(`{"list":"closed","latest":9}`), 0o644)
	if _, err := n.Publisher(target, true).Publish(ctx, "closed"); !errors.Is(err, publish.ErrAhead) {
		t.Errorf("publish to a tree ahead of the node: %v", err)
	}
}
