// Package keys creates and loads a node's key material: the ECDSA P-256
// release key that signs list manifests (verifiable with cosign and
// openssl), the Ed25519 log key that signs transparency-log checkpoints,
// and the Ed25519 token key that signs short-lived access tokens. Each is a
// PEM file readable only by the node's user (0600).
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// File names inside the keys directory.
const (
	Dir            = "keys"
	ReleaseKeyFile = "release.key"
	ReleasePubFile = "release.pub.pem"
	LogKeyFile     = "log.key"
	TokenKeyFile   = "token.key"
	// WitnessKeyFile signs the cosignatures this node makes as a witness
	// of its peers' logs: a key of its own, so that cosigning and signing
	// this node's own log never share a key.
	WitnessKeyFile = "witness.key"
)

// Set is a node's keys.
type Set struct {
	Release *ecdsa.PrivateKey
	Log     ed25519.PrivateKey
	Token   ed25519.PrivateKey
	Witness ed25519.PrivateKey
}

// ErrExists is returned by Create when keys are already there: a node's
// keys are never silently replaced.
var ErrExists = errors.New("keys already exist")

// Create generates new keys under dataDir/keys.
func Create(dataDir string) (*Set, error) {
	dir := filepath.Join(dataDir, Dir)
	if _, err := os.Stat(filepath.Join(dir, ReleaseKeyFile)); err == nil {
		return nil, fmt.Errorf("%w in %q", ErrExists, dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create keys dir: %w", err)
	}
	rel, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	_, logKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	_, tokKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	_, witKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	for name, k := range map[string]crypto.PrivateKey{ReleaseKeyFile: rel, LogKeyFile: logKey, TokenKeyFile: tokKey, WitnessKeyFile: witKey} {
		pemBytes, err := cryptoutils.MarshalPrivateKeyToPEM(k)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", name, err)
		}
		if err := writeExclusive(filepath.Join(dir, name), pemBytes); err != nil {
			return nil, err
		}
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(rel.Public())
	if err != nil {
		return nil, err
	}
	if err := writeExclusive(filepath.Join(dir, ReleasePubFile), pub); err != nil {
		return nil, err
	}
	return &Set{Release: rel, Log: logKey, Token: tokKey, Witness: witKey}, nil
}

func writeExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write key %q: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Load reads the keys under dataDir/keys.
func Load(dataDir string) (*Set, error) {
	dir := filepath.Join(dataDir, Dir)
	var s Set
	var err error
	if s.Release, err = load[*ecdsa.PrivateKey](filepath.Join(dir, ReleaseKeyFile)); err != nil {
		return nil, err
	}
	if s.Log, err = load[ed25519.PrivateKey](filepath.Join(dir, LogKeyFile)); err != nil {
		return nil, err
	}
	if s.Token, err = load[ed25519.PrivateKey](filepath.Join(dir, TokenKeyFile)); err != nil {
		return nil, err
	}
	if s.Witness, err = loadOrCreateEd25519(filepath.Join(dir, WitnessKeyFile)); err != nil {
		return nil, err
	}
	return &s, nil
}

func load[K crypto.PrivateKey](path string) (K, error) {
	var zero K
	fi, err := os.Stat(path)
	if err != nil {
		return zero, fmt.Errorf("load key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return zero, fmt.Errorf("key %q is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return zero, fmt.Errorf("load key: %w", err)
	}
	k, err := cryptoutils.UnmarshalPEMToPrivateKey(raw, cryptoutils.SkipPassword)
	if err != nil {
		return zero, fmt.Errorf("parse key %q: %w", path, err)
	}
	typed, ok := k.(K)
	if !ok {
		return zero, fmt.Errorf("key %q is a %T, want %T", path, k, zero)
	}
	return typed, nil
}

// Exist reports whether dataDir already holds keys.
func Exist(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, Dir, ReleaseKeyFile))
	return !errors.Is(err, fs.ErrNotExist)
}

// loadOrCreateEd25519 loads an Ed25519 key, creating it first if the data
// directory predates it.
func loadOrCreateEd25519(path string) (ed25519.PrivateKey, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		pemBytes, err := cryptoutils.MarshalPrivateKeyToPEM(k)
		if err != nil {
			return nil, err
		}
		if err := writeExclusive(path, pemBytes); err != nil {
			return nil, err
		}
	}
	return load[ed25519.PrivateKey](path)
}
