package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hashhub/hashhub/keys"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/release"
)

func TestInitCreatesKeysAndAdmin(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var out, errb bytes.Buffer
	if code := run([]string{"init", "--data", dir, "--node-id", "hub-nl", "--jurisdiction", "NL"}, &out, &errb); code != 0 {
		t.Fatalf("init exit %d: %s", code, errb.String())
	}
	for _, f := range []string{"keys/" + keys.ReleaseKeyFile, "keys/" + keys.LogKeyFile, "keys/" + keys.TokenKeyFile, "keys/" + keys.WitnessKeyFile, node.AdminFile, node.ConfigFile, "hashhub.db"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	var creds node.Credentials
	raw, _ := os.ReadFile(filepath.Join(dir, node.AdminFile))
	if err := json.Unmarshal(raw, &creds); err != nil || creds.ClientID == "" || creds.ClientSecret == "" {
		t.Fatalf("admin.json: %s %v", raw, err)
	}
	if !strings.Contains(out.String(), creds.ClientSecret) {
		t.Fatal("the secret was not printed once")
	}
	// The secret is stored only hashed.
	db, _ := os.ReadFile(filepath.Join(dir, "hashhub.db"))
	if bytes.Contains(db, []byte(creds.ClientSecret)) {
		t.Fatal("the client secret is stored in clear")
	}
	// A second init refuses and changes nothing.
	errb.Reset()
	if code := run([]string{"init", "--data", dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "already holds a node") {
		t.Fatalf("second init: exit %d: %s", code, errb.String())
	}
	raw2, _ := os.ReadFile(filepath.Join(dir, node.AdminFile))
	if !bytes.Equal(raw, raw2) {
		t.Fatal("second init rewrote admin.json")
	}
	if code := run([]string{"init", "--data", t.TempDir() + "/x", "--jurisdiction", "XX"}, &out, &errb); code == 0 {
		t.Fatal("init accepted an invalid jurisdiction")
	}
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hashhub")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("node did not become ready")
}

// TestServeInitialisesAndShutsDownGracefully runs the real binary: serve on
// an empty data dir initialises it, answers, logs JSON, and exits 0 on
// SIGTERM after finishing an in-flight request.
func TestServeInitialisesAndShutsDownGracefully(t *testing.T) {
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "HASHHUB_DATA="+dir, "HASHHUB_ADDR="+addr, "HASHHUB_METRICS_ADDR=")
	var stdout bytes.Buffer
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs <- sc.Text()
		}
		close(logs)
	}()
	base := "http://" + addr
	waitReady(t, base)
	raw, err := os.ReadFile(filepath.Join(dir, node.AdminFile))
	if err != nil {
		t.Fatal(err)
	}
	var creds node.Credentials
	json.Unmarshal(raw, &creds)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}}
	resp, err := http.PostForm(base+"/v1/oauth/token", form)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %v %v", resp, err)
	}
	resp.Body.Close()

	// A slow import is in flight when SIGTERM arrives; it still completes.
	pr, pw := io.Pipe()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	resp, _ = http.PostForm(base+"/v1/oauth/token", form)
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	// Admins may not import: use the error path, which still reads the body.
	req, _ := http.NewRequest("GET", base+"/v1/audit", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	done := make(chan int, 1)
	go func() {
		slow, _ := http.NewRequest("POST", base+"/v1/orgs", pr)
		slow.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		slow.Header.Set("Content-Type", "application/json")
		r, err := http.DefaultClient.Do(slow)
		if err != nil {
			done <- -1
			return
		}
		r.Body.Close()
		done <- r.StatusCode
	}()
	pw.Write([]byte(`{"name":"Late Org",`))
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	pw.Write([]byte(`"kind":"hotline","jurisdiction":"DE"}`))
	pw.Close()
	if code := <-done; code != 201 {
		t.Fatalf("in-flight request finished with %d, want 201", code)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v", err)
	}
	var sawJSON bool
	for l := range logs {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] != nil {
			sawJSON = true
		}
	}
	if !sawJSON || !strings.Contains(stdout.String(), "client_secret") {
		t.Fatalf("no JSON logs or no credentials printed; stdout: %s", stdout.String())
	}
	// The org created during shutdown is durable and the chain intact.
	var out, errb bytes.Buffer
	if code := run([]string{"audit", "verify", "--data", dir}, &out, &errb); code != 0 {
		t.Fatalf("audit verify: %s", errb.String())
	}
	if !strings.Contains(out.String(), "audit chain intact: 3 events") {
		t.Fatalf("audit verify: %s", out.String())
	}
}

// TestAuditVerifyCatchesTampering edits and deletes events in the bbolt
// file and checks that the offline verifier names the first broken link.
func TestAuditVerifyCatchesTampering(t *testing.T) {
	mk := func(t *testing.T) string {
		dir := t.TempDir()
		if _, err := node.Init(dir, "hub-test", "NL"); err != nil {
			t.Fatal(err)
		}
		n, err := node.Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if _, err := n.Hub.CreateUser(adminActor(t, n), mustAdminOrg(t, n), fmt.Sprintf("user %d", i)); err != nil {
				t.Fatal(err)
			}
		}
		n.Close()
		return dir
	}
	verify := func(dir string) (int, string) {
		var out, errb bytes.Buffer
		code := run([]string{"audit", "verify", "--data", dir}, &out, &errb)
		return code, out.String() + errb.String()
	}
	edit := func(t *testing.T, dir string, fn func(b *bolt.Bucket)) {
		db, err := bolt.Open(filepath.Join(dir, "hashhub.db"), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Update(func(tx *bolt.Tx) error { fn(tx.Bucket([]byte("audit"))); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	key := func(n uint64) []byte { var k [8]byte; binary.BigEndian.PutUint64(k[:], n); return k[:] }

	t.Run("intact", func(t *testing.T) {
		if code, out := verify(mk(t)); code != 0 || !strings.Contains(out, "7 events") {
			t.Fatalf("exit %d: %s", code, out)
		}
	})
	t.Run("edited", func(t *testing.T) {
		dir := mk(t)
		edit(t, dir, func(b *bolt.Bucket) {
			v := bytes.Replace(b.Get(key(4)), []byte(`"action":"user.create"`), []byte(`"action":"user.delete"`), 1)
			b.Put(key(4), v)
		})
		if code, out := verify(dir); code != 1 || !strings.Contains(out, "broken at event 4") || !strings.Contains(out, "edited") {
			t.Fatalf("exit %d: %s", code, out)
		}
	})
	t.Run("deleted", func(t *testing.T) {
		dir := mk(t)
		edit(t, dir, func(b *bolt.Bucket) { b.Delete(key(3)) })
		if code, out := verify(dir); code != 1 || !strings.Contains(out, "broken at event 3") || !strings.Contains(out, "missing") {
			t.Fatalf("exit %d: %s", code, out)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		dir := mk(t)
		edit(t, dir, func(b *bolt.Bucket) { b.Delete(key(7)) })
		if code, out := verify(dir); code != 1 || !strings.Contains(out, "broken at event 7") {
			t.Fatalf("exit %d: %s", code, out)
		}
	})
}

// TestKeyRotation: releases before a rotation stay verifiable with the old
// key, releases after it verify with the new one, and a client that pins
// the old key reaches the new one through the statement the node serves.
func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	if _, err := node.Init(dir, "hub-rot", "NL"); err != nil {
		t.Fatal(err)
	}
	publish := func() (manifest, sig []byte, rots []release.SignedRotation) {
		n, err := node.Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		a := adminActor(t, n)
		if _, err := n.Hub.CreateList(a, lists.List{Name: "l", Policy: lists.Policy{MinAssessments: 1}}); err != nil && !errors.Is(err, lists.ErrExists) {
			t.Fatal(err)
		}
		m, err := n.Hub.BuildRelease(a, "l")
		if err != nil {
			t.Fatal(err)
		}
		manifest, sig, err = n.Hub.Manifest("l", m.Version)
		if err != nil {
			t.Fatal(err)
		}
		rots, _ = keys.LoadRotations(dir)
		return manifest, sig, rots
	}
	m1, s1, _ := publish()
	oldPEM, _ := os.ReadFile(filepath.Join(dir, keys.Dir, keys.ReleasePubFile))
	var out, errb bytes.Buffer
	if code := run([]string{"keys", "rotate", "--data", dir}, &out, &errb); code != 0 {
		t.Fatalf("rotate: %s", errb.String())
	}
	if !strings.Contains(out.String(), "new key id:") {
		t.Fatalf("rotate output: %s", out.String())
	}
	m2, s2, rots := publish()
	pinned, err := release.NewVerifier(oldPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := pinned.Verify(m1, s1); err != nil {
		t.Fatalf("old release with the old key: %v", err)
	}
	if err := pinned.Verify(m2, s2); err == nil {
		t.Fatal("the old key verifies a release signed after rotation")
	}
	man2, _ := release.ParseManifest(m2)
	chain, err := release.FollowChain(pinned, rots, man2.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if err := chain[len(chain)-1].Verify(m2, s2); err != nil {
		t.Fatalf("new release with the followed key: %v", err)
	}
}

// A peer idle timeout that is not positive is refused before anything is
// initialised.
func TestServeRefusesBadPeerIdleTimeout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var stdout, stderr bytes.Buffer
	err := cmdServe([]string{"--data", dir, "--addr", "127.0.0.1:0", "--peer-idle-timeout", "0s"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--peer-idle-timeout") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the data dir was created: %v", err)
	}
}

// A mirror poll interval that is not positive is refused before anything
// is initialised.
func TestServeRefusesBadPeerMirrorPoll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var stdout, stderr bytes.Buffer
	err := cmdServe([]string{"--data", dir, "--addr", "127.0.0.1:0", "--peer-mirror-poll", "-1s"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--peer-mirror-poll") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the data dir was created: %v", err)
	}
}
