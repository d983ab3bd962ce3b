package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/mirror"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
)

// releasedNode makes a stopped node in a new data directory with list
// "open" (readable by every role) released versions times, and returns
// the directory and the node's public keys.
func releasedNode(t testing.TB, versions int) (string, client.Keys) {
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
	defer n.Close()
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
	if _, err := n.Hub.CreateList(admin, lists.List{Name: "open", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: every}}); err != nil {
		t.Fatal(err)
	}
	addVersions(t, n, admin, analyst, 0, versions)
	k := n.Server.PublicKeys()
	raw, _ := json.Marshal(k)
	var ck client.Keys
	if err := json.Unmarshal(raw, &ck); err != nil {
		t.Fatal(err)
	}
	return dir, ck
}

// addVersions releases versions more versions of "open", one new md5
// entry each, numbered from first.
func addVersions(t testing.TB, n *node.Node, admin, analyst hub.Actor, first, versions int) {
	t.Helper()
	for i := first; i < first+versions; i++ {
		h, err := hashes.Parse("md5", hex.EncodeToString(fmt.Appendf(nil, "%016d", i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := n.Hub.Submit(analyst, h, entries.Input{}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Hub.BuildRelease(admin, "open"); err != nil {
			t.Fatal(err)
		}
	}
}

// pullTree pulls "open" from the tree into a mirror in mdir (made on the
// first call, pinning k) and returns the version it holds.
func pullTree(t *testing.T, tree, mdir string, k client.Keys) (uint64, error) {
	t.Helper()
	m, src := openTree(t, tree, mdir, k)
	defer m.Close()
	res, err := m.Pull(context.Background(), src, time.Now(), nil)
	return res.Version, err
}

// openTree opens the mirror in mdir (made on the first call, pinning k)
// and a reader of the tree (a directory, or a URL).
func openTree(t *testing.T, tree, mdir string, k client.Keys) (*mirror.Mirror, *client.Static) {
	t.Helper()
	if !mirror.Exists(mdir) {
		if err := mirror.Init(mdir, "http://127.0.0.1:1", "open", []byte(k.ReleaseKeyPEM), k.LogVerifierKey); err != nil {
			t.Fatal(err)
		}
	}
	m, err := mirror.Open(mdir)
	if err != nil {
		t.Fatal(err)
	}
	from := tree
	if !strings.Contains(tree, "://") {
		from = "file://" + tree
	}
	src, err := client.NewStatic(from, "test")
	if err != nil {
		t.Fatal(err)
	}
	return m, src
}

// actors are the admin and the analyst of a node made by releasedNode.
func actors(t testing.TB, n *node.Node) (admin, analyst hub.Actor) {
	t.Helper()
	all, err := n.Hub.Orgs("", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range all {
		switch o.Kind {
		case orgs.Admin:
			admin = hub.Actor{User: "usr_test", Org: o.ID, Role: orgs.Admin, Jurisdiction: "NL"}
		case orgs.Hotline:
			us, err := n.Hub.Users(o.ID)
			if err != nil || len(us) == 0 {
				t.Fatalf("users: %v", err)
			}
			analyst = hub.Actor{User: us[0].ID, Org: o.ID, Role: orgs.Hotline, Jurisdiction: "NL"}
		}
	}
	return admin, analyst
}

func TestPublishCommand(t *testing.T) {
	dir, k := releasedNode(t, 3)
	tree := filepath.Join(t.TempDir(), "tree")
	code, _, stderr := runCmd("publish", "--data", dir, "--to", "file://"+tree, "--snapshot-every", "2")
	if code != 0 {
		t.Fatalf("publish: exit %d\n%s", code, stderr)
	}
	for _, w := range []string{"open: version 0 → 3", "published to " + tree, "log size 3"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	// A list every role reads goes to a public target, with the log's
	// entry bundles.
	for _, p := range []string{"lists/open/3/snapshot.ndjson", "log/tile/entries/000.p/3", "lists/open/latest.json"} {
		if _, err := os.Stat(filepath.Join(tree, p)); err != nil {
			t.Errorf("the tree lacks %s: %v", p, err)
		}
	}
	code, _, stderr = runCmd("publish", "--data", dir, "--to", tree)
	if code != 0 || !strings.Contains(stderr, "0 files written") || !strings.Contains(stderr, "open: version 3, already published") {
		t.Fatalf("a publish with nothing new: exit %d\n%s", code, stderr)
	}
	if v, err := pullTree(t, tree, filepath.Join(t.TempDir(), "m"), k); err != nil || v != 3 {
		t.Fatalf("pull: version %d, %v", v, err)
	}

	// Version 4 gets no snapshot of its own (every 2 versions): a new
	// mirror starts from version 3's and applies the delta after it.
	n, err := node.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	admin, analyst := actors(t, n)
	addVersions(t, n, admin, analyst, 3, 1)
	n.Close()
	if code, _, stderr := runCmd("publish", "--data", dir, "--to", tree, "--snapshot-every", "2"); code != 0 {
		t.Fatalf("publish: %s", stderr)
	}
	if _, err := os.Stat(filepath.Join(tree, "lists/open/4/snapshot.ndjson")); err == nil {
		t.Error("version 4 has a snapshot, one version after the last")
	}
	m, src := openTree(t, tree, filepath.Join(t.TempDir(), "m2"), k)
	m.SnapshotAfter = 1
	res, err := m.Pull(context.Background(), src, time.Now(), nil)
	m.Close()
	if err != nil || len(res.Steps) != 2 || !res.Steps[0].Snapshot || res.Steps[0].Version != 3 || res.Steps[1].Version != 4 || res.Entries != 4 {
		t.Fatalf("pull from the snapshot of version 3: %+v, %v", res, err)
	}

	code, _, stderr = runCmd("publish", "--data", dir, "--to", tree, "--list", "nosuch")
	if code != 1 || !strings.Contains(stderr, "nosuch") {
		t.Fatalf("publish of a missing list: exit %d\n%s", code, stderr)
	}
	for _, to := range []string{"ftp://host/x", "s3://Bucket_Name/x", "s3://bucket:9000/x", "s3://bucket/../x"} {
		code, _, stderr = runCmd("publish", "--data", dir, "--to", to)
		if code != 1 || !strings.Contains(stderr, "bad publish target") {
			t.Errorf("publish to %s: exit %d\n%s", to, code, stderr)
		}
	}
}

// TestPublishKilledThenResumed kills hashhub publish with SIGKILL half way
// through: readers of the tree still see the previous release whole, and
// the next publish sends only what is missing.
func TestPublishKilledThenResumed(t *testing.T) {
	bin := buildBinary(t)
	dir, k := releasedNode(t, 2)
	tree := t.TempDir()
	if code, _, stderr := runCmd("publish", "--data", dir, "--to", tree); code != 0 {
		t.Fatalf("publish: %s", stderr)
	}
	mdir := filepath.Join(t.TempDir(), "m")
	if v, err := pullTree(t, tree, mdir, k); err != nil || v != 2 {
		t.Fatalf("pull: version %d, %v", v, err)
	}

	killThenResume(t, fileTree{tree}, bin, dir, tree, tree, mdir, k)
}

// publishCounts reads the files written and skipped from publish's
// summary line.
func publishCounts(t *testing.T, stderr string) (written, skipped int) {
	t.Helper()
	i := strings.LastIndex(stderr, "published to")
	if i < 0 {
		t.Fatalf("no summary:\n%s", stderr)
	}
	line := stderr[i:]
	if _, err := fmt.Sscanf(line[strings.Index(line, ": ")+2:], "%d files written", &written); err != nil {
		t.Fatalf("summary %q: %v", line, err)
	}
	rest := line[strings.Index(line, "), ")+3:]
	if _, err := fmt.Sscanf(rest, "%d already there", &skipped); err != nil {
		t.Fatalf("summary %q: %v", line, err)
	}
	return written, skipped
}

// published is how the kill-and-resume tests look into what a publish
// wrote: a directory or a bucket.
type published interface {
	exists(t *testing.T, p string) bool
	// stamp identifies the stored file at p (its inode and time, or its
	// ETag and time), so that a resume that rewrote it is seen.
	stamp(t *testing.T, p string) string
}

type fileTree struct{ root string }

func (f fileTree) exists(_ *testing.T, p string) bool {
	_, err := os.Stat(filepath.Join(f.root, p))
	return err == nil
}

func (f fileTree) stamp(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Stat(filepath.Join(f.root, p))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprint(st.Dev, st.Ino, fi.ModTime().UnixNano())
}

// killThenResume adds 150 versions to the stopped node at dir and
// publishes them to target, killing the publish (SIGKILL) once version
// 40 is written. A pull from the target (read at from into the mirror
// mdir, at version 2) still finds version 2 whole. The resumed publish
// skips what was there without rewriting it, and the pull then reaches
// the last version.
func killThenResume(t *testing.T, pub published, bin, dir, target, from, mdir string, k client.Keys) {
	t.Helper()
	const more = 150
	n, err := node.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	admin, analyst := actors(t, n)
	addVersions(t, n, admin, analyst, 2, more)
	n.Close()

	cmd := exec.Command(bin, "publish", "--data", dir, "--to", target)
	var out bytes.Buffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	mid := client.StaticVersion("open", 40) + "/manifest.json"
	for deadline := time.Now().Add(time.Minute); !pub.exists(t, mid); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("publish wrote no version 40 within a minute:\n%s", out.String())
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if pub.exists(t, client.StaticVersion("open", 2+more)+"/manifest.json") {
		t.Fatalf("publish finished before it was killed; the test needs more versions:\n%s", out.String())
	}

	// The target is consistent: its pointers still name version 2.
	if v, err := pullTree(t, from, mdir, k); err != nil || v != 2 {
		t.Fatalf("pull from the interrupted %s: version %d, %v", target, v, err)
	}
	before := pub.stamp(t, mid)
	code, _, stderr := runCmd("publish", "--data", dir, "--to", target)
	if code != 0 {
		t.Fatalf("resume: %s", stderr)
	}
	written, skipped := publishCounts(t, stderr)
	// Versions 3..40 at least were there (4 files each) and were not sent again.
	if skipped < 4*38 || written >= 4*more+10 {
		t.Errorf("resume wrote %d files and skipped %d:\n%s", written, skipped, stderr)
	}
	if after := pub.stamp(t, mid); after != before {
		t.Errorf("the resumed publish rewrote %s: %s, then %s", mid, before, after)
	}
	if v, err := pullTree(t, from, mdir, k); err != nil || v != 2+more {
		t.Fatalf("pull after the resume: version %d, %v", v, err)
	}
}
