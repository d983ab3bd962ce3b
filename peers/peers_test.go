package peers

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"golang.org/x/mod/sumdb/note"
)

func validPeer(t *testing.T) Peer {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	nodePEM, _ := cryptoutils.MarshalPublicKeyToPEM(pub)
	rk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	relPEM, _ := cryptoutils.MarshalPublicKeyToPEM(rk.Public())
	_, vkey, err := note.GenerateKey(rand.Reader, "hashhub/hub-gb")
	if err != nil {
		t.Fatal(err)
	}
	return Peer{ID: "hub-gb", Name: "Hotline GB", Jurisdiction: "gb", BaseURL: "https://hub.example.org/base/",
		MirrorURL:  "https://mirror.example.org/tree/",
		NodeKeyPEM: string(nodePEM), ReleaseKeyPEM: string(relPEM), LogKey: vkey,
		Lists: []string{"b", "a", "b"}, RoutedJurisdictions: []string{"ie", "gb"}}
}

func TestValidateNormalises(t *testing.T) {
	p := validPeer(t)
	if err := p.Validate("hub-nl"); err != nil {
		t.Fatal(err)
	}
	if p.Jurisdiction != "GB" || p.BaseURL != "https://hub.example.org/base" || p.MirrorURL != "https://mirror.example.org/tree" || len(p.Lists) != 2 || p.Lists[0] != "a" ||
		p.RoutedJurisdictions[0] != "GB" || p.CountAs.Org != "Hotline GB" || p.CountAs.Jurisdiction != "GB" {
		t.Fatalf("normalised: %+v", p)
	}
}

func TestValidateRefuses(t *testing.T) {
	cases := map[string]func(p *Peer){
		"id":                    func(p *Peer) { p.ID = "Hub GB" },
		"name":                  func(p *Peer) { p.Name = "" },
		"jurisdiction":          func(p *Peer) { p.Jurisdiction = "EU" },
		"base_url":              func(p *Peer) { p.BaseURL = "https://user:pw@hub.example.org" },
		"mirror_url":            func(p *Peer) { p.MirrorURL = "file:///etc" },
		"node_key_pem":          func(p *Peer) { p.NodeKeyPEM = p.ReleaseKeyPEM },
		"release_key_pem":       func(p *Peer) { p.ReleaseKeyPEM = p.NodeKeyPEM },
		"log_key":               func(p *Peer) { p.LogKey = "not a key" },
		"witness_key":           func(p *Peer) { p.WitnessKey = "not a key" },
		"lists":                 func(p *Peer) { p.Lists = []string{"Bad Name"} },
		"routed_jurisdictions":  func(p *Peer) { p.RoutedJurisdictions = []string{"XX"} },
		"count_as.jurisdiction": func(p *Peer) { p.CountAs.Jurisdiction = "ZZ" },
	}
	for field, mutate := range cases {
		p := validPeer(t)
		mutate(&p)
		err := p.Validate("hub-nl")
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", field, err)
		}
	}
	p := validPeer(t)
	if err := p.Validate("hub-gb"); err == nil {
		t.Error("a node registered itself as a peer")
	}
	// A log key named for another node is refused: the log's origin must
	// be the peer's.
	p = validPeer(t)
	_, other, _ := note.GenerateKey(rand.Reader, "hashhub/hub-xx")
	p.LogKey = other
	var fe *FieldError
	if err := p.Validate("hub-nl"); !errors.As(err, &fe) || fe.Field != "log_key" {
		t.Errorf("log key of another node: %v", err)
	}
}
