package federation_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/peers"
)

var bg = context.Background()

// fedNode is a real node on a loopback port with its own data directory,
// keys and store, and a hotline analyst of its jurisdiction.
type fedNode struct {
	id, jur, dir string
	addr         string // host:port, kept across restarts
	url          string
	admin        *client.Client
	analyst      *client.Client
	n            *node.Node
	stop         func()
	tune         func(*node.Node) // run before each serve
}

// startFed initialises and serves a node whose peer sync is tuned for
// tests (short long polls and backoffs).
func startFed(t *testing.T, id, jur string) *fedNode {
	t.Helper()
	return startFedInit(t, id, jur, nil)
}

// startFedInit is startFed with a hook run between init and serve.
func startFedInit(t *testing.T, id, jur string, hook func(dir string)) *fedNode {
	t.Helper()
	return startFedTuned(t, id, jur, hook, nil)
}

// startFedTuned is startFedInit with tune run on the node (each time it
// is served) after the test settings, before it serves.
func startFedTuned(t *testing.T, id, jur string, hook func(dir string), tune func(*node.Node)) *fedNode {
	t.Helper()
	dir := t.TempDir()
	c, err := node.Init(dir, id, jur)
	if err != nil {
		t.Fatal(err)
	}
	if hook != nil {
		hook(dir)
	}
	f := &fedNode{id: id, jur: jur, dir: dir, tune: tune}
	f.serve(t, "127.0.0.1:0")
	f.admin = newClient(t, f.url, c.ClientID, c.ClientSecret)
	org, err := f.admin.CreateOrg(bg, client.CreateOrgRequest{Name: "Hotline " + jur, Kind: orgs.Hotline, Jurisdiction: jur})
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.admin.CreateUser(bg, org.ID, "analyst")
	if err != nil {
		t.Fatal(err)
	}
	f.analyst = newClient(t, f.url, u.ClientID, u.ClientSecret)
	t.Cleanup(func() {
		if f.stop != nil {
			f.stop()
		}
	})
	return f
}

func newClient(t *testing.T, url, id, secret string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Server: url, ClientID: id, ClientSecret: secret, Tries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fedNode) serve(t *testing.T, addr string) {
	t.Helper()
	n, err := node.Open(f.dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	n.ReleaseAfterSync = 20 * time.Millisecond
	n.Syncer.LongPoll = 3 * time.Second
	n.Syncer.MinBackoff = 50 * time.Millisecond
	n.Syncer.MaxBackoff = 500 * time.Millisecond
	n.Syncer.Reconcile = 50 * time.Millisecond
	if f.tune != nil {
		f.tune(n)
	}
	var ln net.Listener
	for i := 0; ; i++ {
		ln, err = net.Listen("tcp", addr)
		if err == nil || i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond) // the old listener's port is being released
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, ln) }()
	f.n = n
	f.addr = ln.Addr().String()
	f.url = "http://" + f.addr
	f.stop = func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("%s: serve: %v", f.id, err)
		}
		n.Close()
		f.stop = nil
	}
}

// restart stops the node and serves it again from the same directory on
// the same address.
func (f *fedNode) restart(t *testing.T) {
	t.Helper()
	f.stop()
	f.serve(t, f.addr)
}

// createList makes a list that peers (and platforms) may read.
func (f *fedNode) createList(t *testing.T, name string, minJurisdictions int) {
	t.Helper()
	_, err := f.admin.CreateList(bg, client.CreateListRequest{Name: name,
		Policy:  lists.Policy{MinAssessments: minJurisdictions, MinOrgs: minJurisdictions, MinJurisdictions: minJurisdictions},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Peer, orgs.Platform}}})
	if err != nil {
		t.Fatal(err)
	}
}

// pulls registers other as a peer of f, pulling lists from it (none: its
// keys are only known, to verify records that originated there), and f as
// a peer of other (so that f can authenticate there) if it is not yet.
func (f *fedNode) pulls(t *testing.T, other *fedNode, lists ...string) {
	t.Helper()
	// other learns f first, so that f's first pull can authenticate.
	if _, err := other.admin.Peer(bg, f.id); err != nil {
		other.register(t, f, nil)
	}
	f.register(t, other, lists)
}

func (f *fedNode) register(t *testing.T, other *fedNode, lists []string) {
	t.Helper()
	k, err := other.admin.Keys(bg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.admin.AddPeer(bg, peers.Peer{ID: other.id, Name: "Hotline " + other.id, Jurisdiction: other.jur,
		BaseURL: other.url, NodeKeyPEM: k.NodeKeyPEM, ReleaseKeyPEM: k.ReleaseKeyPEM, LogKey: k.LogVerifierKey,
		Lists: lists})
	if err != nil {
		t.Fatal(err)
	}
}

// submit records synthetic sha256 hashes as the node's analyst and
// returns their values.
func (f *fedNode) submit(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		v := randomHash()
		if _, _, err := f.analyst.Submit(bg, client.SubmitRequest{Algo: "sha256", Value: v}); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func (f *fedNode) release(t *testing.T, list string) uint64 {
	t.Helper()
	m, err := f.admin.BuildRelease(bg, list)
	if err != nil {
		t.Fatal(err)
	}
	return m.Version
}

// entryOf reads an entry on the node (nil if it has none).
func (f *fedNode) entryOf(t *testing.T, value string) *client.Entry {
	t.Helper()
	e, err := f.admin.Entry(bg, "sha256", value)
	var p *client.Problem
	if errors.As(err, &p) && p.Status == http.StatusNotFound {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// latest is the latest version of a list on the node (0: none).
func (f *fedNode) latest(t *testing.T, list string) uint64 {
	t.Helper()
	lr, err := f.admin.LatestRelease(bg, list)
	var p *client.Problem
	if errors.As(err, &p) && p.Status == http.StatusNotFound {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return lr.Latest
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// randomHash is a synthetic sha256 value.
func randomHash() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
