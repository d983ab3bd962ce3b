package openapi

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSpecIsCurrent regenerates the spec from the handlers' annotations and
// fails when the committed files differ: the spec may never go stale.
func TestSpecIsCurrent(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("bash", "scripts/openapi.sh", out)
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/openapi.sh: %v\n%s", err, b)
	}
	for _, f := range []string{"docs.go", "swagger.json", "swagger.yaml"} {
		want, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("openapi/%s is stale: run scripts/openapi.sh and commit the result", f)
		}
	}
}
