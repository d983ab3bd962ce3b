package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/hashhub/hashhub/release"
)

// RotationsFile lists the node's key-rotation statements, oldest first.
const RotationsFile = "rotations.json"

// RetiredDir keeps the public halves of retired release keys, so releases
// they signed stay verifiable.
const RetiredDir = "retired"

// RotateRelease replaces the node's release key: a new ECDSA P-256 key is
// made, a statement that it succeeds the old one is signed by both and
// appended to keys/rotations.json, the old public key is kept under
// keys/retired/, and the old private key is deleted. Run it with the node
// stopped; the node signs with the new key from its next start.
func RotateRelease(dataDir, nodeID string, now time.Time) (*release.SignedRotation, error) {
	cur, err := Load(dataDir)
	if err != nil {
		return nil, err
	}
	next, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sr, err := release.SignRotation(nodeID, cur.Release, next, now)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(dataDir, Dir)
	rots, err := LoadRotations(dataDir)
	if err != nil {
		return nil, err
	}
	rots = append(rots, *sr)
	oldID, err := release.KeyID(cur.Release.Public())
	if err != nil {
		return nil, err
	}
	oldPub, err := cryptoutils.MarshalPublicKeyToPEM(cur.Release.Public())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, RetiredDir), 0o700); err != nil {
		return nil, err
	}
	newPriv, err := cryptoutils.MarshalPrivateKeyToPEM(next)
	if err != nil {
		return nil, err
	}
	newPub, err := cryptoutils.MarshalPublicKeyToPEM(next.Public())
	if err != nil {
		return nil, err
	}
	rotJSON, err := json.MarshalIndent(rots, "", "  ")
	if err != nil {
		return nil, err
	}
	// Order matters for a crash part-way: the statement and the retired
	// public key are written first; the private key is replaced last, by
	// rename, so the node always has exactly one valid release key.
	for _, w := range []struct {
		name string
		data []byte
	}{
		{filepath.Join(dir, RetiredDir, oldID+".pub.pem"), oldPub},
		{filepath.Join(dir, RotationsFile), append(rotJSON, '\n')},
		{filepath.Join(dir, ReleasePubFile), newPub},
		{filepath.Join(dir, ReleaseKeyFile), newPriv},
	} {
		if err := replaceFile(w.name, w.data); err != nil {
			return nil, err
		}
	}
	return sr, nil
}

func replaceFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// LoadRotations reads the node's rotation statements (none is not an error).
func LoadRotations(dataDir string) ([]release.SignedRotation, error) {
	raw, err := os.ReadFile(filepath.Join(dataDir, Dir, RotationsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return []release.SignedRotation{}, nil
	}
	if err != nil {
		return nil, err
	}
	var rots []release.SignedRotation
	if err := json.Unmarshal(raw, &rots); err != nil {
		return nil, fmt.Errorf("%s: %w", RotationsFile, err)
	}
	return rots, nil
}
