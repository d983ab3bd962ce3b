package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// BundleMediaType is the Sigstore bundle version a release's
// manifest.sigstore.json follows.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// Bundle wraps a manifest's signature in a Sigstore bundle: the message
// digest, the DER signature and, as the verification material, a hint
// naming the release key (its key id). The node uses no transparency log
// of Sigstore's (its own log is the one that counts), so the bundle has no
// tlog entries: verify it with the node's public key, e.g.
// `cosign verify-blob --bundle manifest.sigstore.json --new-bundle-format
// --key node.pub.pem --insecure-ignore-tlog=true manifest.json`.
func Bundle(manifest, sig []byte, keyID string) ([]byte, error) {
	der, err := base64.StdEncoding.DecodeString(string(sig))
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	digest := sha256.Sum256(manifest)
	b := &protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: keyID}},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     der,
		}},
	}
	raw, err := protojson.Marshal(b)
	if err != nil {
		return nil, err
	}
	// protojson varies its whitespace from build to build on purpose; the
	// node serves immutable bytes, so they are compacted.
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
