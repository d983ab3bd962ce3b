package hashes

// MD5 is still the most common digest in legacy hash lists, so it is
// accepted for exact matching despite being broken as a cryptographic hash:
// collisions do not matter for recognising files that are already known.
func init() {
	Register(hexDigest{name: "md5", size: 16, match: Exact})
}
