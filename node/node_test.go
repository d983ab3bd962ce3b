package node

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
)

// A serving node folds a list's member overlay in the background once a
// release takes it past the limit, and stops with the server.
func TestServeFoldsMemberOverlay(t *testing.T) {
	dir := t.TempDir()
	creds, err := Init(dir, "node-a", "NL")
	if err != nil {
		t.Fatal(err)
	}
	n, err := Open(dir, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	n.ReleaseInterval, n.ReleaseAfterSync = 0, -1
	n.Hub.SetOverlayLimit(20)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- n.Serve(ctx, ln) }()

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
	if _, err := n.Hub.CreateList(admin, lists.List{Name: "l", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	next := 0
	submit := func(k int) {
		for range k {
			h, err := hashes.Parse("md5", hex.EncodeToString(fmt.Appendf(nil, "%016d", next)), nil)
			if err != nil {
				t.Fatal(err)
			}
			next++
			if _, _, err := n.Hub.Submit(analyst, h, entries.Input{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	writes := func() uint64 {
		w, err := n.Hub.OverlayWrites("l")
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	submit(30) // version 1: straight into the base
	if _, err := n.Hub.BuildRelease(admin, "l"); err != nil {
		t.Fatal(err)
	}
	submit(15)
	if _, err := n.Hub.BuildRelease(admin, "l"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // a fold, if one (wrongly) ran
	if w := writes(); w != 15 {
		t.Fatalf("overlay under the limit holds %d writes, want 15", w)
	}
	submit(15)
	if _, err := n.Hub.BuildRelease(admin, "l"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for writes() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("overlay past the limit still holds %d writes", writes())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
