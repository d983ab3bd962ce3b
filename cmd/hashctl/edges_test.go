package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/mirror"
)

// TestFirstPullFailureKeepsNoMirror: a first pull that fails (a list
// name the node does not have, a key that is not the node's) leaves no
// mirror in --dir, so the pull with corrected flags works.
func TestFirstPullFailureKeepsNoMirror(t *testing.T) {
	rn := startRelNode(t, nil, nil)
	rn.submit(t, "h1", "h2")
	rn.build(t)
	bg := context.Background()
	k, err := rn.plat.Keys(bg)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := rn.plat.ReleaseKeyPEM(bg)
	if err != nil {
		t.Fatal(err)
	}
	good := writeFile(t, "node.pub.pem", string(pem))
	other := startRelNodeID(t, "other-node", nil, nil)
	otherPEM, err := other.plat.ReleaseKeyPEM(bg)
	if err != nil {
		t.Fatal(err)
	}
	wrong := writeFile(t, "other.pub.pem", string(otherPEM))

	parent := t.TempDir()
	dir := filepath.Join(parent, "mirror")
	creds := []string{"--server", rn.url, "--client-id", rn.platform.id, "--client-secret", rn.platform.secret}
	r := hashctl(nil, append([]string{"pull", "--list", "verifeid", "--dir", dir, "--key", good, "--log-key", k.LogVerifierKey}, creds...)...)
	fails(t, r, 1, "keeps no mirror")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a failed first pull left %s: %v", dir, err)
	}
	// In a directory that existed, only what the pull added goes.
	os.Mkdir(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "README"), []byte("mine"), 0o600)
	fails(t, rn.pull(rn.url, dir, "--key", wrong, "--log-key", k.LogVerifierKey), 1, "keeps no mirror")
	if mirror.Exists(dir) {
		t.Fatal("a first pull with the wrong key left a mirror")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "README")); err != nil || string(b) != "mine" {
		t.Fatalf("the pull removed a file it did not make: %v", err)
	}
	r = ok(t, rn.pull(rn.url, dir, "--key", good, "--log-key", k.LogVerifierKey))
	contains(t, r.stdout, "version 0 → 1")
	// A later failure keeps the mirror and what it verified.
	fails(t, hashctl(nil, append([]string{"pull", "--list", "verifeid", "--dir", dir}, creds...)...), 2, `mirrors list "verified"`)
	if !mirror.Exists(dir) || mirrorVersion(t, dir) != 1 {
		t.Fatal("the mirror was lost")
	}
}

// TestCLIEdges: an empty import warns, a reserved jurisdiction code gets
// the assigned one suggested, a credentials file with a byte-order mark is
// read, half a client id/secret pair names the missing half, and the help
// table lines up.
func TestCLIEdges(t *testing.T) {
	n := startNode(t, "NL")
	hot := analyst(t, n, "Hotline", "NL")

	empty := writeFile(t, "empty.ndjson", "")
	r := ok(t, n.as(hot, "hashes", "import", empty))
	contains(t, r.stderr, "warning:", "holds no hashes")
	r = ok(t, n.as(hot, "hashes", "import", writeFile(t, "blank.ndjson", "\n\n")))
	contains(t, r.stderr, "holds no hashes")
	r = ok(t, n.as(hot, "hashes", "import", writeFile(t, "one.ndjson", `{"algo":"md5","value":"00112233445566778899aabbccddeeff"}`+"\n")))
	lacks(t, r.stderr, "holds no hashes")

	fails(t, n.as(n.admin, "orgs", "create", "--name", "IWF", "--kind", "hotline", "--jurisdiction", "UK"), 1, "did you mean GB?")

	bom := writeFile(t, "bom.json", "\ufeff"+`{"client_id":"`+n.admin.id+`","client_secret":"`+n.admin.secret+`"}`)
	r = ok(t, hashctl(nil, "--server", n.url, "--credentials", bom, "login"))
	contains(t, r.stdout, "admin")

	fails(t, hashctl(nil, "--server", n.url, "--client-id", n.admin.id, "login"), 2, "no client secret", "--client-secret")
	fails(t, hashctl(nil, "--server", n.url, "--client-secret", n.admin.secret, "login"), 2, "no client id", "--client-id")

	for _, args := range [][]string{{"help"}, {"help", "providers"}, {"help", "notices"}} {
		r = ok(t, hashctl(nil, args...))
		col := -1
		for _, line := range strings.Split(r.stdout, "\n") {
			// The longest name the line starts with: "match serve"
			// starts with "match" too.
			var name, rest string
			for _, c := range commands {
				if after, found := strings.CutPrefix(line, "  "+c.name+" "); found && len(c.name) > len(name) {
					name, rest = c.name, after
				}
			}
			if name != "" {
				at := len(line) - len(strings.TrimLeft(rest, " "))
				if col == -1 {
					col = at
				} else if at != col {
					t.Errorf("hashctl %v: the summary of %q starts at column %d, not %d:\n%s", args, name, at, col, r.stdout)
				}
			}
		}
		if col == -1 {
			t.Fatalf("no command table in:\n%s", r.stdout)
		}
	}
	r = ok(t, hashctl(nil, "--version"))
	contains(t, r.stdout, "hashctl ")
}
