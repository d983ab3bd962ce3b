package mirror

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/release"
)

// rotatingPub is a fakePub that also serves its keys and rotation
// statements, as a node's /v1/keys does.
type rotatingPub struct {
	*fakePub
	rotations []release.SignedRotation
}

func (r *rotatingPub) Keys(context.Context) (*client.Keys, error) {
	return &client.Keys{Node: r.node, ReleaseKeyPEM: string(r.signer.PublicKeyPEM()), ReleaseKeyID: r.signer.KeyID(),
		LogVerifierKey: r.logSigner.VerifierKey(), Rotations: r.rotations}, nil
}

// rotate makes the publisher sign with a new key, announcing it with a
// statement signed by oldKey (which must be the current key for a genuine
// rotation).
func (r *rotatingPub) rotate(t *testing.T, oldKey *ecdsa.PrivateKey) *ecdsa.PrivateKey {
	t.Helper()
	next, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sr, err := release.SignRotation(r.node, oldKey, next, r.clock)
	if err != nil {
		t.Fatal(err)
	}
	r.rotations = append(r.rotations, *sr)
	if r.signer, err = release.NewSigner(next); err != nil {
		t.Fatal(err)
	}
	return next
}

func TestPullFollowsKeyRotation(t *testing.T) {
	key1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p := &rotatingPub{fakePub: newFakePub(t)}
	p.signer, _ = release.NewSigner(key1)
	p.publish([]release.Change{add(a)}, pubOpts{})
	m, dir := newMirror(t, p.fakePub)
	pull(t, m, p, p.now())

	// Two rotations, then a release with the newest key: the mirror walks
	// the statements from the key it pinned.
	key2 := p.rotate(t, key1)
	p.rotate(t, key2)
	p.publish([]release.Change{add(b)}, pubOpts{})
	res := pull(t, m, p, p.now())
	if res.Version != 2 || res.Entries != 2 {
		t.Fatalf("pull after rotation: %+v", res)
	}
	m.Close()
	// Offline verification checks version 1 with the first key and
	// version 2 with the third, through the stored statements.
	if _, err := Verify(dir, p.now()); err != nil {
		t.Fatalf("verify after rotation: %v", err)
	}
	m2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()

	// A "rotation" signed by a key the mirror never trusted leads nowhere:
	// the release is refused and the mirror is left as it was.
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.rotate(t, stranger)
	p.publish([]release.Change{add(c)}, pubOpts{})
	before := files(t, dir)
	_, err = m2.Pull(context.Background(), p, p.now(), nil)
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("pull of a release signed by an unannounced key: %v", err)
	}
	m2.Close()
	sameFiles(t, before, files(t, dir))
}
