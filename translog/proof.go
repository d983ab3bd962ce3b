package translog

import (
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// MaxProofHashes bounds a decoded proof. An inclusion proof in a tree of n
// leaves has at most ⌈log₂ n⌉ hashes and a consistency proof one more, so
// 64 covers any tree an int64 can count; longer input is hostile and is
// refused before any of it is decoded.
const MaxProofHashes = 64

// ErrBadProof is returned by DecodeProof for input that is not a proof's
// encoding. HTTP handlers map it to 400.
var ErrBadProof = errors.New("translog: malformed proof")

// EncodeProof encodes proof hashes for JSON as standard padded base64, one
// string per hash. An empty proof encodes as an empty, non-nil slice so it
// marshals as [] rather than null.
func EncodeProof(p []tlog.Hash) []string {
	out := make([]string, len(p))
	for i, h := range p {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

// DecodeProof decodes what EncodeProof produced. It refuses more than
// MaxProofHashes entries, any entry that is not exactly 44 characters, and
// non-canonical base64, all before doing work proportional to the input.
// The result converts to tlog.RecordProof or tlog.TreeProof.
func DecodeProof(enc []string) ([]tlog.Hash, error) {
	if len(enc) > MaxProofHashes {
		return nil, fmt.Errorf("%w: %d hashes, limit %d", ErrBadProof, len(enc), MaxProofHashes)
	}
	out := make([]tlog.Hash, len(enc))
	for i, s := range enc {
		if len(s) != hashB64Len {
			return nil, fmt.Errorf("%w: hash %d is %d characters, want %d", ErrBadProof, i, len(s), hashB64Len)
		}
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("%w: hash %d is not 32 bytes of canonical base64", ErrBadProof, i)
		}
		copy(out[i][:], b)
	}
	return out, nil
}
