package scripts

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// dockerIgnore reads ../.dockerignore with the parser and matcher that
// Docker's build client uses and says whether a path of the build context
// (slash-separated, relative to the repository root) is left out.
func dockerIgnore(t *testing.T) func(path string) bool {
	t.Helper()
	f, err := os.Open("../.dockerignore")
	if err != nil {
		t.Fatalf("the repository needs a .dockerignore: %v", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return func(path string) bool {
		ok, err := pm.MatchesOrParentMatches(filepath.FromSlash(path))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
}

// TestDockerIgnoreKeepsSecretsOut: node data, keys, credentials, backups
// and the repository's history never reach the Docker daemon, wherever
// they lie in the checkout.
func TestDockerIgnoreKeepsSecretsOut(t *testing.T) {
	ignored := dockerIgnore(t)
	for _, p := range []string{
		".git", ".git/config", "bin/hashhub", "hashhub", "hashctl",
		"hashhub-data/hashhub.db", "hashhub-data/keys/release.key", "hashhub-data/admin.json",
		"hashhub-data2/node.json", "hashhub-data.old/hashhub.db", "reports-data/reports.json",
		"scripts/bench/nl-data/hashhub.db", "work/hub-nl-data/keys/token.key", "bench-data.1/admin.json",
		"node.pub.pem", "scripts/hub-gb.release.pem", "keys/log.key", "some/where/keys/witness.key",
		"other/admin.json", "credentials.json", "cmd/hashctl/credentials", "my-credentials.json",
		"nl.json", "platform.json", "manifest.json", "hashes.ndjson",
		"hashhub-backup.tar", "backups/2026-12-06.tar", "platform-mirror/mirror.json",
		"node.log", "node.out", "cmd/hashhub/hashhub.test",
	} {
		if !ignored(p) {
			t.Errorf("%s would be sent to the Docker daemon", p)
		}
	}
}

// TestDockerIgnoreKeepsTheBuild: every source the Dockerfile copies and
// every file `go build` needs for the two binaries stay in the context, so
// the image still builds.
func TestDockerIgnoreKeepsTheBuild(t *testing.T) {
	ignored := dockerIgnore(t)
	need := map[string]bool{"go.mod": true, "go.sum": true}

	// COPY sources of the build context (not those --from another stage);
	// "." is the whole context, which the package files below stand for.
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	copies := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || !strings.EqualFold(fields[0], "COPY") {
			continue
		}
		args := fields[1:]
		if strings.HasPrefix(args[0], "--from") {
			continue
		}
		for len(args) > 0 && strings.HasPrefix(args[0], "--") {
			args = args[1:]
		}
		for _, src := range args[:len(args)-1] {
			copies++
			if src != "." {
				need[strings.TrimPrefix(src, "./")] = true
			}
		}
	}
	if copies == 0 {
		t.Fatal("found no COPY in the Dockerfile")
	}

	// The files of every package in the module that the binaries import.
	out, err := exec.Command("go", "list", "-deps",
		"-f", `{{if and .Module .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .CgoFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{end}}`, "../cmd/hashhub", "../cmd/hashctl").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		rel, err := filepath.Rel(root, line)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("package file %q outside the repository", line)
		}
		need[filepath.ToSlash(rel)] = true
	}
	if len(need) < 20 {
		t.Fatalf("only %d files found for the build: %v", len(need), need)
	}
	for p := range need {
		if ignored(p) {
			t.Errorf("%s is needed by the Docker build but .dockerignore leaves it out", p)
		}
		if _, err := os.Stat(filepath.Join("..", filepath.FromSlash(p))); err != nil {
			t.Errorf("the Dockerfile copies %s, which is missing: %v", p, err)
		}
	}
}
