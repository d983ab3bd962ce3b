package delivery_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/hashhub/hashhub/delivery"
)

func TestSignVerify(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	body := []byte(`{"type":"takedown_notice"}`)
	h := http.Header{}
	delivery.Sign(h, key, "node-a", "ntc_1/1", body, now)
	if err := delivery.Verify(pub, h, body, now.Add(time.Minute), delivery.DefaultMaxSkew); err != nil {
		t.Fatal(err)
	}
	clone := func(k, v string) http.Header {
		c := h.Clone()
		c.Set(k, v)
		return c
	}
	for name, tc := range map[string]struct {
		pub  ed25519.PublicKey
		h    http.Header
		body []byte
		at   time.Time
	}{
		"other key":      {otherPub, h, body, now},
		"changed body":   {pub, h, []byte(`{"type":"other"}`), now},
		"changed key":    {pub, clone(delivery.HeaderIdempotency, "ntc_2/1"), body, now},
		"changed time":   {pub, clone(delivery.HeaderTimestamp, "12345"), body, now},
		"replayed later": {pub, h, body, now.Add(time.Hour)},
		"no signature":   {pub, clone(delivery.HeaderSignature, ""), body, now},
	} {
		if err := delivery.Verify(tc.pub, tc.h, tc.body, tc.at, delivery.DefaultMaxSkew); !errors.Is(err, delivery.ErrBadSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
