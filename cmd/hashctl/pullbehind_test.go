package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/witness"
)

// TestPullFromTreeAsksWitness: node hub-gb witnesses hub-nl's log.
// hub-nl publishes a tree (served by nginx), then releases again without
// publishing, and hub-gb cosigns the grown log. A pull from the tree that
// names hub-gb with --witness, the node itself unreachable, says the tree
// is behind; with --fail-if-behind it exits 3, keeping what it verified.
// A "witness" serving a forged newer checkpoint is not believed.
func TestPullFromTreeAsksWitness(t *testing.T) {
	a, b, _, _ := witnessPair(t)
	// cosigned waits until hub-gb has cosigned hub-nl's log at size n.
	witnessed := b.url + "/v1/witness/" + witness.OriginHash("hashhub/hub-nl") + "/checkpoint"
	cosigned := func(n string) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; {
			if res, err := http.Get(witnessed); err == nil {
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if strings.Contains(string(body), "\n"+n+"\n") {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("hub-gb never cosigned size %s", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	a.submit(t, "one", "two")
	a.build(t)
	cosigned("1")
	tree := t.TempDir()
	a.publishTree(t, tree)
	base := serveTree(t, tree)
	dir := filepath.Join(t.TempDir(), "mirror")
	down := "http://127.0.0.1:1" // the node, unreachable: only the witness is asked
	pull := func(extra ...string) result {
		return a.pullFrom(t, base, dir, append([]string{"--server", down}, extra...)...)
	}
	r := ok(t, pull("--witness", b.url, "--fail-if-behind"))
	contains(t, r.stdout, "version 0 → 1")
	contains(t, r.stderr, "could not ask the node")
	lacks(t, r.stderr, "behind", "could not ask the witness")

	// hub-nl moves on without publishing; hub-gb cosigns size 2.
	a.submit(t, "three")
	a.build(t)
	cosigned("2")
	r = ok(t, pull("--witness", b.url))
	contains(t, r.stdout, "up to date at version 1")
	contains(t, r.stderr, "the published tree is behind: the witness at "+b.url+" cosigned a log of 2 entries, the tree's checkpoint 1")
	r = ok(t, pull("--witness", b.url, "--json"))
	var js struct {
		Version uint64 `json:"version"`
		Behind  *struct {
			TreeSize   int64  `json:"tree_size"`
			NewestSize int64  `json:"newest_size"`
			From       string `json:"from"`
		} `json:"behind"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || js.Version != 1 || js.Behind == nil ||
		js.Behind.TreeSize != 1 || js.Behind.NewestSize != 2 || js.Behind.From != "witness "+b.url {
		t.Fatalf("--json: %v %s", err, r.stdout)
	}
	before := dirFiles(t, dir)
	fails(t, pull("--witness", b.url, "--fail-if-behind"), 3, "the published tree is behind: the witness "+b.url+" shows log size 2, the tree's checkpoint 1",
		"what the tree holds was verified and kept")
	unchanged(t, dir, before)

	// A witness that serves a "newer" checkpoint the log never signed is
	// refused, and the tree is not taken for behind.
	cp, err := os.ReadFile(filepath.Join(tree, client.StaticCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(cp), "\n", 3)
	forged := lines[0] + "\n7\n" + lines[2]
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", witness.ContentTypeText)
		io.WriteString(w, forged)
	}))
	defer liar.Close()
	r = ok(t, pull("--witness", liar.URL, "--fail-if-behind"))
	contains(t, r.stderr, "refused the checkpoint of hashhub/hub-nl from the witness at "+liar.URL, "bad checkpoint")
	lacks(t, r.stderr, "is behind")

	// Published again, the tree is current.
	a.publishTree(t, tree)
	r = ok(t, pull("--witness", b.url, "--fail-if-behind"))
	contains(t, r.stdout, "version 1 → 2")
	lacks(t, r.stderr, "behind")

	// The flags are for a published tree only.
	fails(t, hashctl(nil, "pull", "--list", listName, "--dir", dir, "--witness", b.url), 2, "use them with --from")
}
