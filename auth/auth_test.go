package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestVerifyCacheKeepsChecks: a token verified once is served from the
// cache, but still expires, and a token differing in any byte is checked
// in full.
func TestVerifyCacheKeepsChecks(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	clock := time.Unix(1_800_000_000, 0)
	tk := NewTokens(key, "node-a", time.Minute)
	tk.SetClock(func() time.Time { return clock })
	raw, err := tk.Issue("u", "o", "hotline", "NL")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the second call is a cache hit
		c, err := tk.Verify(raw)
		if err != nil || c.Subject != "u" || c.Role != "hotline" {
			t.Fatalf("verify %d: %+v %v", i, c, err)
		}
	}
	if len(tk.verified) != 1 {
		t.Fatalf("cache holds %d tokens", len(tk.verified))
	}
	// A changed signature byte is not a cache hit.
	forged := raw[:len(raw)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(raw, "AA")]
	if _, err := tk.Verify(forged); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("forged token: %v", err)
	}
	// Past expiry (and the leeway) the cached token is refused.
	clock = clock.Add(time.Minute + Leeway + time.Second)
	if _, err := tk.Verify(raw); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired cached token accepted: %v", err)
	}
	if len(tk.verified) != 0 {
		t.Fatal("an expired token stayed in the cache")
	}
}
