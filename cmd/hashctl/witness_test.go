package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/witness"
)

// TestWitnessedPull: two real nodes witness each other's logs. After a
// release, node A asks B to cosign its checkpoint, serves the cosignature
// with it, and a platform's pull requiring B's cosignature succeeds; a
// policy B alone cannot meet is refused and leaves the mirror unchanged.
func TestWitnessedPull(t *testing.T) {
	a, b, keysA, keysB := witnessPair(t)
	if keysB.WitnessKey == "" {
		t.Fatal("/v1/keys has no witness_verifier_key")
	}

	a.submit(t, "one", "two")
	a.build(t)
	// The release prompts A's cosigner; wait for B's line on A's checkpoint.
	var cp []byte
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(a.url + "/v1/log/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		cp, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if bytes.Count(cp, []byte("\n— ")) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cosignature from hub-gb on:\n%s", cp)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(string(cp), "— hashhub/hub-gb/witness ") {
		t.Fatalf("checkpoint:\n%s", cp)
	}

	dir := filepath.Join(t.TempDir(), "mirror")
	policy := func(quorum, jurs int, extra ...witness.PolicyWitness) string {
		p := witness.Policy{Quorum: quorum, MinJurisdictions: jurs,
			Witnesses: append([]witness.PolicyWitness{{Name: "hashhub/hub-gb/witness", VerifierKey: keysB.WitnessKey, Jurisdiction: "GB"}}, extra...)}
		raw, _ := json.Marshal(p)
		return writeFile(t, "policy.json", string(raw))
	}
	pull := func(policyFile string) result {
		return hashctl(nil, "pull", "--list", listName, "--dir", dir, "--trust-on-first-use", "--witness-policy", policyFile,
			"--server", a.url, "--client-id", a.platform.id, "--client-secret", a.platform.secret)
	}
	// A policy needing two witnesses in two jurisdictions: only hub-gb
	// cosigned, so the pull is refused and nothing is written.
	// hub-nl is a witness too, but never of its own log.
	other := witness.PolicyWitness{Name: "hashhub/hub-nl/witness", VerifierKey: keysA.WitnessKey, Jurisdiction: "NL"}
	r := pull(policy(2, 2, other))
	fails(t, r, 1, "witness policy not met")
	if _, err := os.Stat(filepath.Join(dir, "mirror.db")); err == nil {
		// A mirror made before the refusal is left byte for byte.
		before := dirFiles(t, dir)
		fails(t, pull(policy(2, 2, other)), 1, "witness policy not met")
		unchanged(t, dir, before)
	}
	out := ok(t, pull(policy(1, 1))).stdout
	contains(t, out, "version:     1")

	// B's witness refuses a stale old size with 409 and the size it holds.
	signedNote := cp[:bytes.Index(cp, []byte("\n— hashhub/hub-gb/witness"))+1]
	res, err := http.Post(b.url+"/v1/witness/add-checkpoint", "text/plain", strings.NewReader("old 0\n\n"+string(signedNote)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusConflict || res.Header.Get("Content-Type") != witness.ContentTypeSize || string(body) != "1\n" {
		t.Fatalf("stale add-checkpoint: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	// An unknown log is 404; garbage is 400.
	res, _ = http.Post(b.url+"/v1/witness/add-checkpoint", "text/plain", strings.NewReader("old 0\n\nhashhub/nobody\n1\nAAAA\n\n— x y\n"))
	if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown log: %d", res.StatusCode)
	}
	res.Body.Close()
	res, _ = http.Post(b.url+"/v1/witness/add-checkpoint", "text/plain", strings.NewReader("\x00garbage"))
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("garbage: %d", res.StatusCode)
	}
	res.Body.Close()
}

// witnessPair starts nodes hub-nl (a) and hub-gb (b), each registered as
// the other's peer with the keys it serves, so that each witnesses the
// other's log; it returns the keys each serves too.
func witnessPair(t *testing.T) (a, b *relNode, keysA, keysB *client.Keys) {
	t.Helper()
	a = startRelNodeID(t, "hub-nl", nil, nil)
	b = startRelNodeID(t, "hub-gb", nil, nil)
	bg := context.Background()
	var err error
	keysA, err = a.admin.Keys(bg)
	if err != nil {
		t.Fatal(err)
	}
	keysB, err = b.admin.Keys(bg)
	if err != nil {
		t.Fatal(err)
	}
	register := func(on *relNode, id, url string, k *client.Keys) {
		if _, err := on.admin.AddPeer(bg, peers.Peer{ID: id, Name: "Peer " + id, Jurisdiction: "GB", BaseURL: url,
			NodeKeyPEM: k.NodeKeyPEM, ReleaseKeyPEM: k.ReleaseKeyPEM, LogKey: k.LogVerifierKey, WitnessKey: k.WitnessKey}); err != nil {
			t.Fatal(err)
		}
	}
	register(a, "hub-gb", b.url, keysB)
	register(b, "hub-nl", a.url, keysA)
	return a, b, keysA, keysB
}
