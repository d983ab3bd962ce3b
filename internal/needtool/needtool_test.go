package needtool

import (
	"os"
	"os/exec"
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
