package keys

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/release"
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

func TestRotateRelease(t *testing.T) {
	dir := t.TempDir()
	before, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := RotateRelease(dir, "hub-nl", time.Unix(100, 0))
	if err != nil {
		t.Fatal(err)
	}
	after, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if after.Release.Equal(before.Release) || !after.Log.Equal(before.Log) {
		t.Fatal("rotation did not replace exactly the release key")
	}
	oldSigner, _ := release.NewSigner(before.Release)
	newSigner, _ := release.NewSigner(after.Release)
	oldV, _ := release.NewVerifier(oldSigner.PublicKeyPEM())
	next, _, err := sr.Follow(oldV)
	if err != nil || next.KeyID() != newSigner.KeyID() {
		t.Fatalf("the statement does not lead from the old key to the new: %v", err)
	}
	rots, err := LoadRotations(dir)
	if err != nil || len(rots) != 1 {
		t.Fatalf("rotations: %v %v", rots, err)
	}
	if _, err := os.Stat(filepath.Join(dir, Dir, RetiredDir, oldSigner.KeyID()+".pub.pem")); err != nil {
		t.Fatalf("retired public key: %v", err)
	}
	// A second rotation chains on.
	if _, err := RotateRelease(dir, "hub-nl", time.Unix(200, 0)); err != nil {
		t.Fatal(err)
	}
	rots, _ = LoadRotations(dir)
	third, _ := Load(dir)
	ts, _ := release.NewSigner(third.Release)
	if chain, err := release.FollowChain(oldV, rots, ts.KeyID()); err != nil || len(chain) != 3 {
		t.Fatalf("chain after two rotations: %v", err)
	}
}
