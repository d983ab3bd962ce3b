package hashes

// SHA-1 and SHA-256 file digests, matched exactly.
func init() {
	Register(hexDigest{name: "sha1", size: 20, match: Exact})
	Register(hexDigest{name: "sha256", size: 32, match: Exact})
}
