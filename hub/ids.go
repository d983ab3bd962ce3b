package hub

import (
	"crypto/rand"
	"encoding/hex"
)

// newID returns a random identifier with a readable prefix. Random rather
// than sequential so ids never collide across federated nodes and reveal
// nothing about how many objects a node holds.
func newID(prefix string) string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b[:])
}
