package keys

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateLoadAndPermissions(t *testing.T) {
	dir := t.TempDir()
	made, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !made.Release.Equal(got.Release) || !made.Log.Equal(got.Log) || !made.Token.Equal(got.Token) {
		t.Fatal("loaded keys differ from the created ones")
	}
	if _, err := Create(dir); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create: %v", err)
	}
	// A key readable by others is refused, not silently used.
	if err := os.Chmod(filepath.Join(dir, Dir, LogKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("Load with a 0644 key: %v", err)
	}
	// A key of the wrong type is refused.
	os.Chmod(filepath.Join(dir, Dir, LogKeyFile), 0o600)
	rel, _ := os.ReadFile(filepath.Join(dir, Dir, ReleaseKeyFile))
	os.WriteFile(filepath.Join(dir, Dir, TokenKeyFile), rel, 0o600)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "want ed25519") {
		t.Fatalf("Load with an ECDSA token key: %v", err)
	}
}
