// Package benchnode starts the node the pull and match benchmarks pull
// from: a real node served on 127.0.0.1 from a fresh data directory, with
// a Dutch hotline (its analysts act through the hub directly), a platform
// user whose credentials file hashctl reads, and a list "bench" that
// platforms read and one assessment qualifies.
package benchnode

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
)

// Bench is a running benchmark node.
type Bench struct {
	// Work is the benchmark's temporary directory (the node's data is in
	// Work/node); CredFile, in it, holds the platform user's credentials.
	Work, CredFile string
	URL            string // the node's API
	Hub            *hub.Service
	Admin          hub.Actor
	// Analysts are the hotline's users, as many as Start was asked for.
	Analysts []hub.Actor

	node *node.Node
	stop context.CancelFunc
	keep bool
}

// Start makes the work directory (named after prefix; kept, and printed,
// when the environment variable keepEnv is set) and serves the node.
func Start(prefix, keepEnv string, analysts int) (b *Bench, err error) {
	work, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	b = &Bench{Work: work, keep: os.Getenv(keepEnv) != ""}
	if b.keep {
		fmt.Printf("work=%s\n", work)
	}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	dir := filepath.Join(work, "node")
	if _, err := node.Init(dir, "bench", "NL"); err != nil {
		return b, err
	}
	if b.node, err = node.Open(dir, slog.New(slog.DiscardHandler)); err != nil {
		return b, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return b, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.stop = cancel
	go b.node.Serve(ctx, ln)
	b.URL = "http://" + ln.Addr().String()
	h := b.node.Hub
	b.Hub = h
	orgList, err := h.Orgs("", 10)
	if err != nil {
		return b, err
	}
	b.Admin = hub.Actor{User: "bench-admin", Org: orgList[0].ID, Role: orgs.Admin, Jurisdiction: "NL"}
	hot, err := h.CreateOrg(b.Admin, orgs.Org{Name: "Hotline", Kind: orgs.Hotline, Jurisdiction: "NL"})
	if err != nil {
		return b, err
	}
	for i := range analysts {
		u, err := h.CreateUser(b.Admin, hot.ID, fmt.Sprintf("Analyst %d", i+1))
		if err != nil {
			return b, err
		}
		b.Analysts = append(b.Analysts, hub.Actor{User: u.User.ID, Org: hot.ID, Role: orgs.Hotline, Jurisdiction: "NL"})
	}
	plat, err := h.CreateOrg(b.Admin, orgs.Org{Name: "Platform", Kind: orgs.Platform, Jurisdiction: "IE"})
	if err != nil {
		return b, err
	}
	pu, err := h.CreateUser(b.Admin, plat.ID, "Puller")
	if err != nil {
		return b, err
	}
	if _, err := h.CreateList(b.Admin, lists.List{Name: "bench", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		return b, err
	}
	b.CredFile = filepath.Join(work, "platform.json")
	cj, err := json.Marshal(map[string]string{"client_id": pu.ClientID, "client_secret": pu.ClientSecret})
	if err != nil {
		return b, err
	}
	return b, os.WriteFile(b.CredFile, cj, 0o600)
}

// Stop stops serving; the store stays open for the hub.
func (b *Bench) Stop() {
	if b.stop != nil {
		b.stop()
	}
}

// Close stops the node and removes the work directory unless it is kept.
func (b *Bench) Close() {
	b.Stop()
	if b.node != nil {
		b.node.Close()
	}
	if !b.keep {
		os.RemoveAll(b.Work)
	}
}

// Node is the running node (its publisher, its store).
func (b *Bench) Node() *node.Node { return b.node }
