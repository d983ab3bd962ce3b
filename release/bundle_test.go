package release

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// The bundle carries the manifest's digest and the same DER signature the
// .sig file holds, hinting at the release key; its bytes are stable.
func TestBundle(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, err := NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	manifest := []byte(`{"format":"hashhub.release.v1"}`)
	sig, err := s.Sign(manifest)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Bundle(manifest, sig, s.KeyID())
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Bundle(manifest, sig, s.KeyID())
	if !bytes.Equal(raw, again) || bytes.ContainsAny(raw, " \n") {
		t.Fatalf("bundle bytes are not stable and compact: %s", raw)
	}
	var b protobundle.Bundle
	if err := protojson.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	ms := b.GetMessageSignature()
	digest := sha256.Sum256(manifest)
	if b.GetMediaType() != BundleMediaType || b.GetVerificationMaterial().GetPublicKey().GetHint() != s.KeyID() ||
		ms.GetMessageDigest().GetAlgorithm() != protocommon.HashAlgorithm_SHA2_256 || !bytes.Equal(ms.GetMessageDigest().GetDigest(), digest[:]) {
		t.Fatalf("bundle: %s", raw)
	}
	v, err := NewVerifier(s.PublicKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(manifest, []byte(base64.StdEncoding.EncodeToString(ms.GetSignature()))); err != nil {
		t.Fatalf("the bundle's signature does not verify: %v", err)
	}
	if _, err := Bundle(manifest, []byte("not base64!"), s.KeyID()); err == nil {
		t.Fatal("a bad signature made a bundle")
	}
}
