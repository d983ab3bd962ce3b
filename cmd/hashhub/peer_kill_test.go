package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/mirror"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/peers"
)

// procNode is a `hashhub serve` process.
type procNode struct {
	id, jur, dir, addr string
	args               []string
	cmd                *exec.Cmd
	// lines receives the process's log lines (closed when it ends).
	lines chan string
	admin *client.Client
}

func startProc(t *testing.T, bin, id, jur string, args ...string) *procNode {
	t.Helper()
	p := &procNode{id: id, jur: jur, dir: filepath.Join(t.TempDir(), id), addr: freeAddr(t), args: args}
	if out, err := exec.Command(bin, "init", "--data", p.dir, "--node-id", id, "--jurisdiction", jur).CombinedOutput(); err != nil {
		t.Fatalf("init %s: %v\n%s", id, err, out)
	}
	var creds node.Credentials
	raw, err := os.ReadFile(filepath.Join(p.dir, node.AdminFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &creds); err != nil {
		t.Fatal(err)
	}
	p.serve(t, bin)
	p.admin, err = client.New(client.Config{Server: "http://" + p.addr, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret, Tries: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	return p
}

// serve starts the process and waits until it is ready.
func (p *procNode) serve(t *testing.T, bin string) {
	t.Helper()
	p.cmd = exec.Command(bin, append([]string{"serve", "--data", p.dir, "--addr", p.addr, "--metrics-addr", ""}, p.args...)...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.lines = make(chan string, 4096)
	go func(ch chan string) {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case ch <- sc.Text():
			default: // nobody reads: keep the process writing
			}
		}
		close(ch)
	}(p.lines)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready: %v", p.id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no shutdown code runs.
func (p *procNode) kill() {
	if p.cmd != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
		p.cmd = nil
	}
}

// killAfter kills the process once it has logged n lines containing
// what, and reports whether it did before the log ended.
func (p *procNode) killAfter(what string, n int) bool {
	seen := 0
	for l := range p.lines {
		if strings.Contains(l, what) {
			if seen++; seen == n {
				p.kill()
				return true
			}
		}
	}
	return false
}

// register makes other a peer of p, pulling ls from it.
func (p *procNode) register(t *testing.T, other *procNode, ls ...string) {
	t.Helper()
	k, err := other.admin.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.admin.AddPeer(context.Background(), peers.Peer{ID: other.id, Name: "Hotline " + other.id, Jurisdiction: other.jur,
		BaseURL: "http://" + other.addr, NodeKeyPEM: k.NodeKeyPEM, ReleaseKeyPEM: k.ReleaseKeyPEM, LogKey: k.LogVerifierKey, Lists: ls}); err != nil {
		t.Fatal(err)
	}
}

// TestPeerKilledDuringSnapshotLoad kills a real peer node (SIGKILL) while
// it loads another node's list from a snapshot in small batches — its
// mirror's staging, then its store's batches — twice, at different
// points, and once while its store takes the entries in parts. After each
// kill the peer's mirror holds no version or the whole list; restarted,
// the peer finishes with exactly the source's snapshot and every entry.
func TestPeerKilledDuringSnapshotLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	bg := context.Background()
	src := startProc(t, bin, "src", "NL")
	org, err := src.admin.CreateOrg(bg, client.CreateOrgRequest{Name: "Hotline NL", Kind: orgs.Hotline, Jurisdiction: "NL"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := src.admin.CreateUser(bg, org.ID, "analyst")
	if err != nil {
		t.Fatal(err)
	}
	analyst, err := client.New(client.Config{Server: "http://" + src.addr, ClientID: u.ClientID, ClientSecret: u.ClientSecret, Tries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.admin.CreateList(bg, client.CreateListRequest{Name: "shared", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Peer}}}); err != nil {
		t.Fatal(err)
	}
	const n = 1500
	var body bytes.Buffer
	values := make([]string, n)
	for i := range values {
		h := sha256.Sum256([]byte(fmt.Sprint("peer-kill-", i)))
		values[i] = hex.EncodeToString(h[:])
		fmt.Fprintf(&body, `{"algo":"sha256","value":%q,"severity":"B"}`+"\n", values[i])
	}
	if _, err := analyst.Import(bg, &body, "ndjson", int64(body.Len())); err != nil {
		t.Fatal(err)
	}
	man, err := src.admin.BuildRelease(bg, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if man.Entries != n {
		t.Fatalf("version 1 has %d entries, want %d", man.Entries, n)
	}
	rc, _, err := src.admin.Snapshot(bg, "shared", 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}

	peer := startProc(t, bin, "peer", "GB", "--peer-batch", "40")
	src.register(t, peer)
	mirrorDir := filepath.Join(peer.dir, "peers", "src", "shared")
	// check: after a kill the peer's mirror holds nothing or everything.
	check := func() {
		t.Helper()
		if !mirror.Exists(mirrorDir) {
			return
		}
		m, err := mirror.OpenReadOnly(mirrorDir)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		st, err := m.State()
		if err != nil {
			t.Fatal(err)
		}
		switch st.Version {
		case 0:
			if st.Entries != 0 {
				t.Fatalf("version 0 with %d entries", st.Entries)
			}
		case 1:
			var got bytes.Buffer
			if err := m.Export(&got, mirror.ExportNDJSON); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatal("the killed peer's mirror holds version 1 with other entries than the source's snapshot")
			}
		default:
			t.Fatalf("the killed peer's mirror holds version %d", st.Version)
		}
	}
	peer.register(t, src, "shared")
	if !peer.killAfter(": staged ", 3) {
		t.Fatal("the peer's log ended before it staged three batches")
	}
	check()
	peer.serve(t, bin)
	// Restarted, it resumes the staged load where it stopped.
	if !peer.killAfter(": staged ", 15) {
		t.Fatal("the restarted peer's log ended before it staged fifteen more batches")
	}
	check()
	peer.serve(t, bin)
	// Restarted again, it finishes staging and imports the entries into
	// its store in parts: killed there, it imports the step again.
	if !peer.killAfter(": imported part ", 5) {
		t.Fatal("the restarted peer's log ended before it imported five parts")
	}
	check()
	peer.serve(t, bin)
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, err := peer.admin.Peer(bg, "src")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Sync) > 0 && p.Sync[0].Applied == 1 && p.Sync[0].Entries == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the peer did not finish: %+v", p.Sync)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Entries all over the list (single lookups are rate-limited), each
	// with the source's assessment once, however often its part was
	// imported.
	for i := 0; i < n; i += 29 {
		e, err := peer.admin.Entry(bg, "sha256", values[i])
		if err != nil {
			t.Fatalf("entry %d on the peer: %v", i, err)
		}
		if len(e.Assessments) != 1 || e.Assessments[0].Origin != "src" {
			t.Fatalf("entry %d on the peer: %+v", i, e.Assessments)
		}
	}
	peer.kill()
	check()
	m, err := mirror.OpenReadOnly(mirrorDir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if st, err := m.State(); err != nil || st.Version != 1 {
		t.Fatalf("finished peer mirror: %+v, %v", st, err)
	}
}
