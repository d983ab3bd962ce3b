package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/peers"
)

// peerKeys is the part of a node's GET /v1/keys a peer registration needs.
type peerKeys struct {
	Node           string `json:"node"`
	NodeKeyPEM     string `json:"node_key_pem"`
	ReleaseKeyPEM  string `json:"release_key_pem"`
	LogVerifierKey string `json:"log_verifier_key"`
	WitnessKey     string `json:"witness_verifier_key"`
}

func cmdPeersAdd(e *env, args []string) error {
	fs := e.flags()
	name := fs.String("name", "", "the organisation running the peer (`NAME`)")
	jur := fs.String("jurisdiction", "", "the peer organisation's jurisdiction (`CC`)")
	base := fs.String("url", "", "the peer's base `URL`")
	keysFile := fs.String("keys", "", "`FILE` holding the peer's GET /v1/keys answer, obtained and checked out of band")
	countOrg := fs.String("count-as-org", "", "organisation its assessments count as here (`NAME`; default --name)")
	countJur := fs.String("count-as-jurisdiction", "", "jurisdiction its assessments count in here (`CC`; default --jurisdiction)")
	maxStep := fs.Int64("max-step-bytes", 0, "cap on one delta or snapshot from the peer, whatever its manifest says (`BYTES`; 0: the node's --peer-max-step-bytes)")
	maxRecords := fs.Int64("max-records-bytes", 0, "cap on the signed records one step from the peer brings (`BYTES`; 0: the node's --peer-max-records-bytes)")
	mirrorURL := fs.String("mirror", "", "read the peer's lists from the tree it publishes at `URL` (http(s)), with the same checks; the peer itself when the tree is behind or refused")
	var ls, routed listFlag
	fs.Var(&ls, "lists", "the peer's lists to pull (`NAMES`, comma-separated)")
	fs.Var(&routed, "routed-jurisdictions", "hosting jurisdictions whose reports go to the peer (`CCS`)")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.need("name", *name, "jurisdiction", *jur, "url", *base, "keys", *keysFile); err != nil {
		return err
	}
	raw, err := os.ReadFile(*keysFile)
	if err != nil {
		return e.usagef("--keys: %v", err)
	}
	var k peerKeys
	if err := json.Unmarshal(raw, &k); err != nil || k.Node == "" {
		return e.usagef("--keys %s: not a node's /v1/keys answer", *keysFile)
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	p, err := c.AddPeer(e.call(), peers.Peer{ID: k.Node, Name: *name, Jurisdiction: *jur, BaseURL: *base,
		NodeKeyPEM: k.NodeKeyPEM, ReleaseKeyPEM: k.ReleaseKeyPEM, LogKey: k.LogVerifierKey, WitnessKey: k.WitnessKey,
		Lists: ls, RoutedJurisdictions: routed, CountAs: peers.CountAs{Org: *countOrg, Jurisdiction: *countJur},
		MaxStepBytes: *maxStep, MaxRecordsBytes: *maxRecords, MirrorURL: *mirrorURL})
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Added peer %s\n", p.ID)
	printPeer(e, p)
	return nil
}

func printPeer(e *env, p *peers.Peer) {
	fields(e.stdout,
		"id", p.ID,
		"name", p.Name,
		"jurisdiction", p.Jurisdiction,
		"url", p.BaseURL,
		"mirror", cmp.Or(p.MirrorURL, "none (the lists are read from the peer)"),
		"lists", join(p.Lists),
		"routed_jurisdictions", join(p.RoutedJurisdictions),
		"counts_as", p.CountAs.Org+" in "+p.CountAs.Jurisdiction,
		"org", p.Org,
		"paused", strconv.FormatBool(p.Paused),
		"created", p.Created.Format("2006-01-02T15:04:05Z"))
	for _, s := range p.Sync {
		line := fmt.Sprintf("%s, version %d applied, %d entries, %d records", s.State, s.Applied, s.Entries, s.Records)
		if !s.LastSuccess.IsZero() {
			line += ", last success " + s.LastSuccess.Format(time.RFC3339)
		}
		if s.UnknownOrigins > 0 {
			line += fmt.Sprintf(", %d records of unknown origins skipped", s.UnknownOrigins)
		}
		if s.LastError != "" { // failing or stalled: a success clears it
			line += fmt.Sprintf(", %d failures, last: %s", s.Failures, s.LastError)
		}
		fields(e.stdout, "sync "+s.List, line)
		if m := s.Mirror; m != nil {
			line := fmt.Sprintf("last read from the %s, tree log size %d, newest known %d", cmp.Or(m.Source, "(not yet)"), m.CheckpointSize, m.NewestSize)
			if m.NewestFrom != "" {
				line += " (" + m.NewestFrom + ")"
			}
			if m.Behind {
				line += ", BEHIND"
			}
			if m.RecordsOwed {
				line += ", records owed by the peer"
			}
			if m.Fallbacks > 0 {
				line += fmt.Sprintf(", %d fallbacks to the peer", m.Fallbacks)
			}
			if m.LastError != "" {
				line += ", last refused: " + m.LastError
			}
			fields(e.stdout, "mirror "+s.List, line)
		}
	}
}

// cmdPeersUpdate changes a peer's registration: for now its mirror.
func cmdPeersUpdate(e *env, args []string) error {
	fs := e.flags()
	mirrorURL := fs.String("mirror", "", "read the peer's lists from the tree it publishes at `URL` (http(s)); \"\" reads the peer itself again")
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "mirror" })
	if !set {
		return e.usagef("nothing to change: give --mirror URL (or --mirror \"\" to read the peer itself)")
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	p, err := c.SetPeerMirror(e.call(), pos[0], *mirrorURL)
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Updated peer %s\n", p.ID)
	printPeer(e, p)
	return nil
}

// syncSummary is one word per list: how pulling the peer's lists goes.
func syncSummary(p *peers.Peer) string {
	var parts []string
	for _, s := range p.Sync {
		parts = append(parts, fmt.Sprintf("%s:%s@%d", s.List, s.State, s.Applied))
	}
	return join(parts)
}

func cmdPeersList(e *env, args []string) error {
	return show(e, args, 0, func(c *client.Client, _ []string) ([]peers.Peer, error) { return c.Peers(e.call()) },
		func(ps []peers.Peer) {
			if len(ps) == 0 {
				fmt.Fprintln(e.stdout, "No peers.")
				return
			}
			t := newTable(e.stdout, "ID", "NAME", "JURISDICTION", "URL", "LISTS", "PAUSED", "SYNC")
			for _, p := range ps {
				t.row(p.ID, p.Name, p.Jurisdiction, p.BaseURL, join(p.Lists), strconv.FormatBool(p.Paused), syncSummary(&p))
			}
			t.flush()
		})
}

func cmdPeersShow(e *env, args []string) error {
	return show(e, args, 1, func(c *client.Client, pos []string) (*peers.Peer, error) { return c.Peer(e.call(), pos[0]) },
		func(p *peers.Peer) { printPeer(e, p) })
}

func peerPause(paused bool) func(e *env, args []string) error {
	return func(e *env, args []string) error {
		return show(e, args, 1, func(c *client.Client, pos []string) (*peers.Peer, error) {
			return c.SetPeerPaused(e.call(), pos[0], paused)
		}, func(p *peers.Peer) {
			state := "resumed"
			if p.Paused {
				state = "paused"
			}
			fmt.Fprintf(e.stdout, "Peer %s %s\n", p.ID, state)
		})
	}
}

func cmdPeersRemove(e *env, args []string) error {
	fs := e.flags()
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	if err := c.RemovePeer(e.call(), pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Removed peer %s\n", pos[0])
	return nil
}
