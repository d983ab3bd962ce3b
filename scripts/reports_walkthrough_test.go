package scripts

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/internal/needtool"
)

// TestREADMEReportsWalkthrough runs the README's reports walk as written
// (on free ports).
func TestREADMEReportsWalkthrough(t *testing.T) {
	needtool.Command(t, "curl")
	// The block picks a python3 with aiosmtpd itself, as a reader's shell
	// would run it; this only skips (or fails on CI) when there is none.
	needtool.Aiosmtpd(t)
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- reports-walkthrough:start -->\\s*```sh\\n(.*?)```\\s*<!-- reports-walkthrough:end -->").FindSubmatch(raw)
	if m == nil {
		t.Fatal("README.md has no reports walkthrough block")
	}
	script := string(m[1])
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/hashhub", "./cmd/hashctl")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	script = strings.NewReplacer("127.0.0.1:8081", free(), "127.0.0.1:2525", free()).Replace(script)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	// The node's metrics address (127.0.0.1:9090 by default) is off, so
	// that walkthroughs and other nodes on this machine do not collide.
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HASHHUB_METRICS_ADDR=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "reports-node.log"))
		mail, _ := os.ReadFile(filepath.Join(dir, "mail.log"))
		t.Fatalf("walkthrough failed: %v\n--- output\n%s\n--- node log\n%s\n--- mail\n%s", err, out, log, mail)
	}
	text := string(out)
	for _, want := range []string{
		"Registered hosting provider Example Hoster",
		"received",
		"registered_range 192.0.2.0/24",
		"Politie NL",
		"MP-2026-001",
		"Acknowledged report rep_",
		"Subject: URGENT Takedown notice ntc_",
		"abuse@example-hoster.nl",
		"is removed",
		"100%",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("walkthrough output lacks %q\n%s", want, text)
		}
	}
}
