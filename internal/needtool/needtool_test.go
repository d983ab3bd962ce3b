package needtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDepsScriptInstallsEveryTool keeps scripts/deps.sh, which CI runs to
// install the tools, in step with the packages the skip messages name.
func TestDepsScriptInstallsEveryTool(t *testing.T) {
	raw, err := os.ReadFile("../../" + DepsScript)
	if err != nil {
		t.Fatal(err)
	}
	for tool, pkg := range Debian {
		if !strings.Contains(string(raw), "need "+pkg+"\n") {
			t.Errorf("%s does not install %s (for %s)", DepsScript, pkg, tool)
		}
	}
}

// TestMissingSkipsOutsideCIAndFailsOnCI runs Missing in a subprocess of
// this test binary with and without CI set.
func TestMissingSkipsOutsideCIAndFailsOnCI(t *testing.T) {
	if os.Getenv("NEEDTOOL_CHILD") != "" {
		Command(t, "hashhub-no-such-tool")
		t.Fatal("Command returned for a missing tool")
	}
	for _, ci := range []string{"", "1"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingSkipsOutsideCIAndFailsOnCI$", "-test.v")
		cmd.Env = append(os.Environ(), "NEEDTOOL_CHILD=1", "CI="+ci)
		out, err := cmd.CombinedOutput()
		if ci == "" {
			if err != nil || !strings.Contains(string(out), "--- SKIP") || !strings.Contains(string(out), "apt-get install hashhub-no-such-tool") {
				t.Errorf("outside CI: want a skip that says how to install, got err=%v\n%s", err, out)
			}
		} else if err == nil || !strings.Contains(string(out), "--- FAIL") || !strings.Contains(string(out), "CI must run this test") {
			t.Errorf("on CI: want a failure, got err=%v\n%s", err, out)
		}
	}
}

// TestWeedScriptBuildsTheVersionLookedFor keeps scripts/weed.sh, which
// builds weed, in step with WeedVersion and WeedPath, and deps.sh running
// it.
func TestWeedScriptBuildsTheVersionLookedFor(t *testing.T) {
	raw, err := os.ReadFile("../../" + WeedScript)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "\nWEED_VERSION="+WeedVersion+"\n") {
		t.Errorf("%s does not build %s", WeedScript, WeedVersion)
	}
	deps, err := os.ReadFile("../../" + DepsScript)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(deps), "weed.sh") {
		t.Errorf("%s does not run %s", DepsScript, WeedScript)
	}
	// The script and WeedPath agree on where the binary goes.
	cache := t.TempDir()
	cmd := exec.Command("bash", "../../"+WeedScript, "--check")
	cmd.Env = append(os.Environ(), "HASHHUB_CACHE="+cache)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("--check in an empty cache succeeded: %s", out)
	}
	t.Setenv("HASHHUB_CACHE", cache)
	if err := os.MkdirAll(filepath.Dir(WeedPath()), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(WeedPath(), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("bash", "../../"+WeedScript, "--check")
	cmd.Env = append(os.Environ(), "HASHHUB_CACHE="+cache)
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != WeedPath() {
		t.Errorf("weed.sh --check printed %q (%v), WeedPath is %s", out, err, WeedPath())
	}
}
