package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/store"
)

// serveNode runs the node in dir in this process on 127.0.0.1 (releases
// only on request) and returns its base URL and a stop function that waits
// for the node to shut down and close its store.
func serveNode(t *testing.T, dir string) (string, func()) {
	t.Helper()
	n, err := node.Open(dir, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	n.ReleaseInterval, n.ReleaseAfterSync = 0, -1
	n.Hub.ImportBatch = 100 // many transactions per import
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- n.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	waitReady(t, base)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-served; err != nil {
				t.Errorf("serve: %v", err)
			}
			n.Close()
		})
	}
	t.Cleanup(stop)
	return base, stop
}

// importRange imports md5 hashes number from to to-1 and checks all were
// accepted.
func (a api) importRange(tok string, from, to int) {
	a.t.Helper()
	var b bytes.Buffer
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "{\"algo\":\"md5\",\"value\":\"%032x\"}\n", i)
	}
	req, _ := http.NewRequest("POST", a.base+"/v1/hashes/import", &b)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Error(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), fmt.Sprintf(`"accepted":%d`, to-from)) {
		a.t.Errorf("import %d..%d: %d %s", from, to, resp.StatusCode, body)
	}
}

func (a api) manifest(tok string, v uint64) []byte {
	a.t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/lists/l/releases/%d/manifest.json", a.base, v), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		a.t.Fatalf("manifest %d: %d %s", v, resp.StatusCode, raw)
	}
	return raw
}

func auditEvents(t *testing.T, dir string) int {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run([]string{"audit", "verify", "--data", dir}, &out, &errb); code != 0 {
		t.Fatalf("audit verify %s: exit %d: %s", dir, code, errb.String())
	}
	m := regexp.MustCompile(`intact: (\d+) events`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("audit verify: %s", out.String())
	}
	k, _ := strconv.Atoi(m[1])
	return k
}

// TestBackupDuringImport backs up a running node while imports commit,
// restores the archive into a new directory, checks its audit chain, and
// starts a node on it whose next release chains onto the last one backed
// up. The backup is the store as of one moment: an import that commits
// while the archive is still streaming is not in it.
func TestBackupDuringImport(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "live")
	creds, err := node.Init(dir, "hub-bk", "NL")
	if err != nil {
		t.Fatal(err)
	}
	base, stopLive := serveNode(t, dir)
	a := api{t, base}
	admin := a.token(creds.ClientID, creds.ClientSecret)
	_, hot := a.member(admin, "Hotline", "hotline", "NL")
	a.call("POST", "/v1/lists", admin, map[string]any{"name": "l", "policy": map[string]int{"min_assessments": 1}}, 201, nil)
	a.importRange(hot, 0, 1000)
	a.call("POST", "/v1/lists/l/releases", admin, nil, 201, nil)
	a.importRange(hot, 1000, 1500)
	a.call("POST", "/v1/lists/l/releases", admin, nil, 201, nil)
	m2 := a.manifest(admin, 2)

	// Start a backup and hold it open right after the store's header: its
	// read transaction has begun. An import runs to its end meanwhile.
	archive := filepath.Join(tmp, "held.tar")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := node.RequestBackup(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(io.TeeReader(rc, f))
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("backup stream ended before the store: %v", err)
		}
		if hdr.Name == store.FileName {
			break
		}
	}
	a.importRange(hot, 1500, 3000) // 15 transactions while the backup streams
	if _, err := io.Copy(f, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	f.Close()

	// Restore refuses a non-empty directory, and a running node's even when
	// forced, and changes neither.
	var out, errb bytes.Buffer
	if code := run([]string{"restore", "--from", archive, "--data", tmp}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "not empty") {
		t.Fatalf("restore into a non-empty dir: exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"restore", "--from", archive, "--data", dir, "--force"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "in use") {
		t.Fatalf("forced restore over a running node: exit %d: %s", code, errb.String())
	}
	// A cut archive is refused before anything is written.
	raw, _ := os.ReadFile(archive)
	cut := filepath.Join(tmp, "cut.tar")
	os.WriteFile(cut, raw[:len(raw)/2], 0o600)
	errb.Reset()
	if code := run([]string{"restore", "--from", cut, "--data", filepath.Join(tmp, "cut")}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "not a valid hashhub backup") {
		t.Fatalf("restore of a cut archive: exit %d: %s", code, errb.String())
	}
	if des, _ := os.ReadDir(filepath.Join(tmp, "cut")); len(des) != 0 {
		t.Fatalf("a refused restore left %d files", len(des))
	}

	restored := filepath.Join(tmp, "restored")
	out.Reset()
	errb.Reset()
	if code := run([]string{"restore", "--from", archive, "--data", restored}, &out, &errb); code != 0 {
		t.Fatalf("restore: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "restored node hub-bk (NL)") {
		t.Fatalf("restore output: %s", out.String())
	}

	// Concurrently with another import, a backup through the command line;
	// then the node stops and a backup is taken offline.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.importRange(hot, 3000, 4000) }()
	out.Reset()
	if code := run([]string{"backup", "--data", dir, "--to", filepath.Join(tmp, "online.tar")}, &out, &errb); code != 0 {
		t.Fatalf("backup of a running node: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "backup of node hub-bk (NL) written") {
		t.Fatalf("backup output: %s", out.String())
	}
	wg.Wait()
	stopLive()
	live := auditEvents(t, dir)
	if code := run([]string{"backup", "--data", dir, "--to", filepath.Join(tmp, "offline.tar")}, &out, &errb); code != 0 {
		t.Fatalf("backup of a stopped node: exit %d: %s", code, errb.String())
	}
	for _, name := range []string{"online", "offline"} {
		d := filepath.Join(tmp, name)
		errb.Reset()
		if code := run([]string{"restore", "--from", d + ".tar", "--data", d}, &out, &errb); code != 0 {
			t.Fatalf("restore %s: exit %d: %s", name, code, errb.String())
		}
		auditEvents(t, d)
	}
	if got := auditEvents(t, filepath.Join(tmp, "offline")); got != live {
		t.Fatalf("offline backup: %d audit events, the node has %d", got, live)
	}
	held := auditEvents(t, restored)
	if held >= live {
		t.Fatalf("the held backup has %d audit events, the node %d at the end: it saw later imports", held, live)
	}
	// --force replaces a stopped node's directory, never one of other files.
	other := filepath.Join(tmp, "other")
	os.Mkdir(other, 0o700)
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o600)
	errb.Reset()
	if code := run([]string{"restore", "--from", archive, "--data", other, "--force"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "holds no node to replace") {
		t.Fatalf("forced restore over other files: exit %d: %s", code, errb.String())
	}
	replaced := filepath.Join(tmp, "replaced")
	if code := run([]string{"restore", "--from", filepath.Join(tmp, "offline.tar"), "--data", replaced}, &out, &errb); code != 0 {
		t.Fatalf("restore: %s", errb.String())
	}
	os.MkdirAll(filepath.Join(replaced, "peers", "hub-x", "l"), 0o700)
	if code := run([]string{"restore", "--from", archive, "--data", replaced, "--force"}, &out, &errb); code != 0 {
		t.Fatalf("forced restore over a stopped node: exit %d: %s", code, errb.String())
	}
	if got := auditEvents(t, replaced); got != held {
		t.Fatalf("after the forced restore: %d audit events, the archive has %d", got, held)
	}
	if _, err := os.Stat(filepath.Join(replaced, "peers")); !os.IsNotExist(err) {
		t.Fatalf("the replaced node's peer mirrors survived the restore: %v", err)
	}

	// A node on the restored directory: the same keys and credentials (the
	// hotline's token still works), the imports before the backup and none
	// of the one that committed while it streamed.
	base2, _ := serveNode(t, restored)
	b := api{t, base2}
	b.call("GET", fmt.Sprintf("/v1/hashes/md5/%032x", 1499), hot, nil, 200, nil)
	b.call("GET", fmt.Sprintf("/v1/hashes/md5/%032x", 1500), hot, nil, 404, nil)
	admin2 := b.token(creds.ClientID, creds.ClientSecret)
	b.call("POST", "/v1/lists/l/releases", admin2, nil, 201, nil)
	m3, err := release.ParseManifest(b.manifest(admin2, 3))
	if err != nil {
		t.Fatal(err)
	}
	prev := sha256.Sum256(m2)
	if m3.Version != 3 || m3.Previous != hex.EncodeToString(prev[:]) || m3.Entries != 1500 {
		t.Fatalf("release after restore: version %d, previous %s (want %x), %d entries", m3.Version, m3.Previous, prev, m3.Entries)
	}
}

// TestBackupNeedsANode: backup names what is missing.
func TestBackupNeedsANode(t *testing.T) {
	var out, errb bytes.Buffer
	dir := t.TempDir()
	if code := run([]string{"backup", "--data", dir, "--to", filepath.Join(dir, "b.tar")}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "holds no node") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"backup", "--data", dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "--to FILE is required") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if _, err := node.Restore(strings.NewReader("not a tar"), filepath.Join(dir, "x"), false); !errors.Is(err, node.ErrInvalidBackup) {
		t.Fatalf("restore of garbage: %v", err)
	}
}
