package openapi

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/internal/needtool"
)

// RedoclyCLI is the pinned linter. 1.34 runs on Node.js 18 (Debian 12's
// nodejs) as well as on 20 and later; 2.x needs 20.19 or later.
const RedoclyCLI = "@redocly/cli@1.34.20"

// TestSpecLints runs Redocly's recommended rules over the committed spec
// with the repository's redocly.yaml, which says why each rule it turns off
// is off. Any error or warning fails: every operation has an operationId
// (@ID), public ones say `security: []` (an empty @Security), and those that
// take input or a token document their 4xx answers (@Failure).
func TestSpecLints(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the OpenAPI linter through npx")
	}
	npx := needtool.Command(t, "npx")
	cmd := exec.Command(npx, "--yes", RedoclyCLI, "lint", "--config", "redocly.yaml",
		"--max-problems", "1000", "--format", "stylish", "openapi/swagger.yaml", "openapi/swagger.json")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil && (strings.Contains(string(out), "npm error") || strings.Contains(string(out), "npm ERR!")) {
		// npx could not fetch the linter (offline, registry unreachable).
		needtool.Missing(t, RedoclyCLI+" (npx could not fetch it from the npm registry)",
			"`npm install --global "+RedoclyCLI+"`, or allow access to registry.npmjs.org")
	}
	if err != nil {
		t.Fatalf("redocly lint: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "warning") {
		t.Fatalf("redocly lint warns (fix the annotations, or turn the rule off in redocly.yaml with the reason):\n%s", out)
	}
}
