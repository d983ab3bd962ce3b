package release

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// RotationFormat names the key-rotation statement format.
const RotationFormat = "hashhub.key-rotation.v1"

// Rotation says that a node's release key OldKeyID is succeeded by the key
// NewKeyPEM. The old key signs it, so a client that trusts the old key can
// learn the new one without trusting anything else; the new key signs it
// too, proving the node holds it. Releases signed before the rotation stay
// verifiable with the old key, which clients keep.
type Rotation struct {
	Format    string `json:"format"`
	Node      string `json:"node"`
	OldKeyID  string `json:"old_key_id"`
	NewKeyID  string `json:"new_key_id"`
	NewKeyPEM string `json:"new_key_pem"`
	Time      string `json:"time"`
}

// SignedRotation is a statement with both signatures (base64 DER, as
// manifest signatures).
type SignedRotation struct {
	Statement string `json:"statement"`
	OldSig    string `json:"old_signature"`
	NewSig    string `json:"new_signature"`
}

// Encode returns the canonical bytes of the statement.
func (r *Rotation) Encode() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		panic(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// SignRotation makes the statement that newKey succeeds old.
func SignRotation(node string, old, newKey *ecdsa.PrivateKey, at time.Time) (*SignedRotation, error) {
	os, err := NewSigner(old)
	if err != nil {
		return nil, err
	}
	ns, err := NewSigner(newKey)
	if err != nil {
		return nil, err
	}
	r := Rotation{Format: RotationFormat, Node: node, OldKeyID: os.KeyID(), NewKeyID: ns.KeyID(),
		NewKeyPEM: string(ns.PublicKeyPEM()), Time: FormatTime(at)}
	raw := r.Encode()
	oldSig, err := os.Sign(raw)
	if err != nil {
		return nil, err
	}
	newSig, err := ns.Sign(raw)
	if err != nil {
		return nil, err
	}
	return &SignedRotation{Statement: string(raw), OldSig: string(oldSig), NewSig: string(newSig)}, nil
}

// ErrRotation is wrapped by every refused rotation.
var ErrRotation = errors.New("bad key rotation")

// Follow verifies a rotation against the key a client trusts and returns
// the verifier of the key it names. The statement must be canonical, name
// the trusted key as the old one, be signed by it, and be signed by the new
// key.
func (sr *SignedRotation) Follow(trusted *Verifier) (*Verifier, *Rotation, error) {
	var r Rotation
	dec := json.NewDecoder(bytes.NewReader([]byte(sr.Statement)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || !bytes.Equal(r.Encode(), []byte(sr.Statement)) || r.Format != RotationFormat {
		return nil, nil, fmt.Errorf("%w: malformed statement", ErrRotation)
	}
	if r.OldKeyID != trusted.KeyID() {
		return nil, nil, fmt.Errorf("%w: statement succeeds key %s, not the trusted %s", ErrRotation, r.OldKeyID, trusted.KeyID())
	}
	if err := trusted.Verify([]byte(sr.Statement), []byte(sr.OldSig)); err != nil {
		return nil, nil, fmt.Errorf("%w: old key's signature: %w", ErrRotation, err)
	}
	next, err := NewVerifier([]byte(r.NewKeyPEM))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrRotation, err)
	}
	if next.KeyID() != r.NewKeyID {
		return nil, nil, fmt.Errorf("%w: new key id does not match the key", ErrRotation)
	}
	if err := next.Verify([]byte(sr.Statement), []byte(sr.NewSig)); err != nil {
		return nil, nil, fmt.Errorf("%w: new key's signature: %w", ErrRotation, err)
	}
	return next, &r, nil
}

// FollowChain walks rotations from the trusted key to the key with
// keyID, returning the verifiers along the way (the trusted one first).
func FollowChain(trusted *Verifier, rotations []SignedRotation, keyID string) ([]*Verifier, error) {
	chain := []*Verifier{trusted}
	cur := trusted
	for cur.KeyID() != keyID {
		var next *Verifier
		for i := range rotations {
			v, _, err := rotations[i].Follow(cur)
			if err == nil {
				next = v
				break
			}
		}
		if next == nil {
			return nil, fmt.Errorf("%w: no rotation signed by key %s leads to key %s", ErrRotation, cur.KeyID(), keyID)
		}
		if len(chain) > len(rotations) {
			return nil, fmt.Errorf("%w: rotation loop", ErrRotation)
		}
		chain = append(chain, next)
		cur = next
	}
	return chain, nil
}
