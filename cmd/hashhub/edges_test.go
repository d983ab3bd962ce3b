package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/keys"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/store"
)

// busyAddr returns an address some listener holds until the test ends.
func busyAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// runCmd runs hashhub in this process; a serve gets no metrics address,
// so that it never contends for the default port with anything else.
func runCmd(args ...string) (code int, stdout, stderr string) {
	if len(args) > 0 && args[0] == "serve" {
		args = append(args, "--metrics-addr", "")
	}
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestServeRefusesAnotherIdentity: --node-id and --jurisdiction that do
// not match the node in the data directory are refused before anything
// else happens (the address given here is taken: were the flags ignored,
// serve would fail on it instead).
func TestServeRefusesAnotherIdentity(t *testing.T) {
	dir := t.TempDir()
	if _, err := node.Init(dir, "hub-nl", "NL"); err != nil {
		t.Fatal(err)
	}
	addr := busyAddr(t)
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--node-id", "hub-gb"}, `is node "hub-nl", not "hub-gb"`},
		{[]string{"--jurisdiction", "GB"}, "has jurisdiction NL, not GB"},
		{[]string{"--node-id", "hub-nl", "--jurisdiction", "uk"}, "did you mean GB"},
	} {
		code, _, errs := runCmd(append([]string{"serve", "--data", dir, "--addr", addr}, c.flags...)...)
		if code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("serve %v: exit %d: %s", c.flags, code, errs)
		}
	}
	if err := node.CheckIdentity(dir, "hub-nl", "nl"); err != nil {
		t.Fatalf("the node's own id and jurisdiction: %v", err)
	}
	if err := node.CheckIdentity(dir, "hub-x", ""); !errors.Is(err, node.ErrIdentity) {
		t.Fatalf("another id: %v", err)
	}
}

// TestServeSaysStoreInUse: a store whose lock another opener holds is
// named as in use, not as bbolt's bare "timeout".
func TestServeSaysStoreInUse(t *testing.T) {
	dir := t.TempDir()
	if _, err := node.Init(dir, "hub-nl", "NL"); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, _, errs := runCmd("serve", "--data", dir, "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errs, "store is in use by another process") || strings.HasSuffix(strings.TrimSpace(errs), "timeout") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// TestServeChecksTheAddressFirst: with the address taken, serve on a new
// data directory creates nothing and prints no admin secret.
func TestServeChecksTheAddressFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	code, out, errs := runCmd("serve", "--data", dir, "--addr", busyAddr(t))
	if code != 1 || !strings.Contains(errs, "listen on") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != "" {
		t.Fatalf("serve printed %q", out)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the data directory was made: %v", err)
	}
}

// TestInitRefusesAForeignDirectory: init takes a new or empty directory,
// or one with only the report settings in it.
func TestInitRefusesAForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600)
	code, out, errs := runCmd("init", "--data", dir)
	if code != 1 || !strings.Contains(errs, `holds "notes.txt" but no node.json`) || out != "" {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, keys.Dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("init wrote keys into a foreign directory")
	}
	// A half-made node (keys, no node.json) is refused the same way.
	os.Remove(filepath.Join(dir, "notes.txt"))
	os.Mkdir(filepath.Join(dir, keys.Dir), 0o700)
	if code, _, errs := runCmd("init", "--data", dir); code != 1 || !strings.Contains(errs, `holds "keys"`) {
		t.Fatalf("exit %d: %s", code, errs)
	}
	os.Remove(filepath.Join(dir, keys.Dir))
	os.WriteFile(filepath.Join(dir, node.ReportsFile), []byte("{}"), 0o600)
	if code, _, errs := runCmd("init", "--data", dir); code != 0 {
		t.Fatalf("init next to reports.json: exit %d: %s", code, errs)
	}
}

// TestAuditVerifyNamesAMissingDirectory.
func TestAuditVerifyNamesAMissingDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere")
	if code, _, errs := runCmd("audit", "verify", "--data", missing); code != 1 || !strings.Contains(errs, "no data directory at") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if code, _, errs := runCmd("audit", "verify", "--data", t.TempDir()); code != 1 || !strings.Contains(errs, "holds no node store") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		code, out, _ := runCmd(arg)
		if code != 0 || !strings.HasPrefix(out, "hashhub ") || !strings.Contains(out, runtime.Version()) {
			t.Fatalf("%s: exit %d: %q", arg, code, out)
		}
	}
}

// TestServeRefusesNegativeBreakAfter: the break reminder's setting is a
// number of reviews, 0 or more; anything else is refused before the node
// starts.
func TestServeRefusesNegativeBreakAfter(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runCmd("serve", "--data", dir, "--addr", "127.0.0.1:0", "--metrics-addr", "", "--break-after", "-1")
	if code != 1 || !strings.Contains(errs, "--break-after: want 0 or more reviews, got -1") {
		t.Errorf("serve --break-after -1: exit %d: %s", code, errs)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused serve left %d files in the data directory", len(entries))
	}
}
