package auth

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Peer nodes authenticate with a JWT client assertion (RFC 7523 §2.2)
// signed by their Ed25519 node key, at POST /v1/oauth/token with
// grant_type=client_credentials: no secret is shared between nodes.

// AssertionType is the client_assertion_type a peer sends.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// MaxAssertionLifetime bounds exp − iat of an assertion.
const MaxAssertionLifetime = 5 * time.Minute

// NewAssertion makes the client assertion peer selfID presents to the node
// audienceNodeID.
func NewAssertion(key ed25519.PrivateKey, selfID, audienceNodeID string, now time.Time) (string, error) {
	c := jwt.RegisteredClaims{
		Issuer:    selfID,
		Subject:   selfID,
		Audience:  jwt.ClaimStrings{Issuer(audienceNodeID)},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(2 * time.Minute)),
		ID:        randomHex(16),
	}
	return jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(key)
}

// ErrInvalidAssertion is wrapped by every refused assertion.
var ErrInvalidAssertion = errors.New("invalid client assertion")

// AssertionIssuer reads an assertion's issuer without verifying it, so
// that the node can look up the key to verify it with. Nothing else of an
// unverified token is used.
func AssertionIssuer(raw string) (string, error) {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &c); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidAssertion, err)
	}
	if c.Issuer == "" {
		return "", fmt.Errorf("%w: no iss", ErrInvalidAssertion)
	}
	return c.Issuer, nil
}

// VerifyAssertion checks a peer's assertion: EdDSA only, signed by the
// peer's key, iss = sub = the peer, audience this node, short-lived, and
// never seen before (its jti is remembered until it expires).
func (t *Tokens) VerifyAssertion(raw, peerID string, key ed25519.PublicKey) error {
	var c jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(peerID),
		jwt.WithSubject(peerID),
		jwt.WithAudience(t.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidAssertion, err)
	}
	if c.IssuedAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxAssertionLifetime {
		return fmt.Errorf("%w: lifetime over %v", ErrInvalidAssertion, MaxAssertionLifetime)
	}
	if c.ID == "" {
		return fmt.Errorf("%w: no jti", ErrInvalidAssertion)
	}
	if !t.replay.first(peerID+" "+c.ID, c.ExpiresAt.Add(Leeway), t.now()) {
		return fmt.Errorf("%w: replayed (jti seen before)", ErrInvalidAssertion)
	}
	return nil
}

// replayCache remembers assertion ids until they expire.
type replayCache struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// maxReplayEntries bounds the cache; past it, expired ids are swept, and
// if none expired the assertion is refused rather than the cache grown.
const maxReplayEntries = 100_000

func (r *replayCache) first(id string, until, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]time.Time{}
	}
	if exp, ok := r.seen[id]; ok && now.Before(exp) {
		return false
	}
	if len(r.seen) >= maxReplayEntries {
		for k, exp := range r.seen {
			if !now.Before(exp) {
				delete(r.seen, k)
			}
		}
		if len(r.seen) >= maxReplayEntries {
			return false
		}
	}
	r.seen[id] = until
	return true
}
