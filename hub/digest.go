package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"time"

	"github.com/hashhub/hashhub/audit"
	"github.com/hashhub/hashhub/entries"
)

// digester hashes a batch of imported lines in their sorted canonical form,
// so one audit event commits to exactly what a batch wrote.
type digester struct {
	h   hash.Hash
	enc *json.Encoder
}

func newDigester() *digester {
	d := &digester{h: sha256.New()}
	d.enc = json.NewEncoder(d.h)
	return d
}

func (d *digester) reset() { d.h.Reset() }

func (d *digester) add(key string, in entries.Input) {
	_ = d.enc.Encode(submitDigest{key, in}) // writes to a hash never fail
}

func (d *digester) event(a audit.Actor, at time.Time, object string) *audit.Event {
	return &audit.Event{Time: at, Actor: a, Action: "hashes.import", Object: object,
		Digest: hex.EncodeToString(d.h.Sum(nil))}
}
