package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func TestPeersCommands(t *testing.T) {
	a := startNamedNode(t, "hub-nl", "NL")
	b := startNamedNode(t, "hub-gb", "GB")
	res, err := http.Get(b.url + "/v1/keys")
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := io.ReadAll(res.Body)
	res.Body.Close()
	keysFile := filepath.Join(t.TempDir(), "hub-gb-keys.json")
	if err := os.WriteFile(keysFile, keys, 0o600); err != nil {
		t.Fatal(err)
	}
	out := ok(t, a.as(a.admin, "peers", "add", "--name", "Hotline GB", "--jurisdiction", "GB", "--url", b.url,
		"--keys", keysFile, "--lists", "verified", "--routed-jurisdictions", "GB,IE")).stdout
	contains(t, out, "Added peer hub-gb", "verified", "GB,IE", "Hotline GB in GB")
	contains(t, ok(t, a.as(a.admin, "peers", "list")).stdout, "hub-gb", "Hotline GB", "false")
	contains(t, ok(t, a.as(a.admin, "peers", "pause", "hub-gb")).stdout, "Peer hub-gb paused")
	contains(t, ok(t, a.as(a.admin, "peers", "show", "hub-gb")).stdout, "paused:", "true")
	contains(t, ok(t, a.as(a.admin, "peers", "resume", "hub-gb")).stdout, "Peer hub-gb resumed")
	// The tree its lists are read from: set, shown, refused when not
	// http(s), and cleared.
	contains(t, ok(t, a.as(a.admin, "peers", "update", "hub-gb", "--mirror", "https://mirror.example.org/gb/")).stdout,
		"Updated peer hub-gb", "https://mirror.example.org/gb")
	contains(t, ok(t, a.as(a.admin, "peers", "show", "hub-gb")).stdout, "mirror:", "https://mirror.example.org/gb")
	fails(t, a.as(a.admin, "peers", "update", "hub-gb", "--mirror", "file:///etc"), 1, "mirror_url")
	contains(t, ok(t, a.as(a.admin, "peers", "show", "hub-gb")).stdout, "https://mirror.example.org/gb") // unchanged
	fails(t, a.as(a.admin, "peers", "update", "hub-gb"), 2, "nothing to change")
	fails(t, a.as(a.admin, "peers", "update", "hub-xx", "--mirror", ""), 1, "not found")
	contains(t, ok(t, a.as(a.admin, "peers", "update", "hub-gb", "--mirror", "")).stdout, "none (the lists are read from the peer)")
	// A second registration, and a keys file that is not one, fail clearly.
	fails(t, a.as(a.admin, "peers", "add", "--name", "Hotline GB", "--jurisdiction", "GB", "--url", b.url, "--keys", keysFile), 1, "already exists")
	bad := writeFile(t, "notkeys.json", `{"hello":1}`)
	fails(t, a.as(a.admin, "peers", "add", "--name", "X", "--jurisdiction", "GB", "--url", b.url, "--keys", bad), 2, "not a node's /v1/keys answer")
	contains(t, ok(t, a.as(a.admin, "peers", "remove", "hub-gb")).stdout, "Removed peer hub-gb")
	contains(t, ok(t, a.as(a.admin, "peers", "list")).stdout, "No peers.")
	fails(t, a.as(a.admin, "peers", "show", "hub-gb"), 1, "not found")
}
