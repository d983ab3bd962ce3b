package hub

import (
	"crypto/rand"
	"encoding/hex"
)

// newID returns a random identifier with a readable prefix, for
// organisations and users: random rather than sequential so ids never
// collide across federated nodes and reveal nothing about how many a node
// holds. Disputes and feedback instead take zero-padded sequence numbers
// (store.Tx.NextID), so that they list in the order they were opened;
// only analysts and admins see those.
func newID(prefix string) string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b[:])
}
