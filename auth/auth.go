// Package auth issues and checks the node's credentials: client secrets
// (stored only as hashes) and short-lived EdDSA access tokens.
package auth

import (
	"sync"

	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults.
const (
	DefaultTokenTTL = 15 * time.Minute
	// Leeway tolerates small clock differences between node and client.
	Leeway = 30 * time.Second
)

// NewClientCredentials returns a fresh client id and secret, and the hash
// to store. The secret has 256 bits of entropy, so a plain SHA-256 is a
// sound way to store it (unlike a human password, it cannot be guessed, and
// a slow hash would only slow down every token request).
func NewClientCredentials() (clientID, secret, secretHash string) {
	clientID = "hh_" + randomHex(12)
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	secret = "hhs_" + base64.RawURLEncoding.EncodeToString(b[:])
	return clientID, secret, HashSecret(secret)
}

// HashSecret returns the stored form of a secret.
func HashSecret(secret string) string {
	s := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(s[:])
}

// CheckSecret compares a presented secret with the stored hash in constant time.
func CheckSecret(secret, stored string) bool {
	return subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(stored)) == 1
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Claims are the access token's claims: the user (subject), their
// organisation, its role and jurisdiction.
type Claims struct {
	jwt.RegisteredClaims
	Org          string `json:"org"`
	Role         string `json:"role"`
	Jurisdiction string `json:"jur"`
}

// Tokens issues and verifies access tokens for one node.
type Tokens struct {
	key      ed25519.PrivateKey
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	replay   replayCache

	// verified caches tokens whose signature and claims checked out, so
	// that a client reusing its token (every request, for 15 minutes) is
	// not charged an Ed25519 verification each time; expiry is checked
	// again on every use.
	mu       sync.Mutex
	verified map[string]Claims
}

// maxVerified bounds the cache; when full it starts afresh.
const maxVerified = 4096

// NewTokens returns a token issuer/verifier. Issuer and audience name the node.
func NewTokens(key ed25519.PrivateKey, nodeID string, ttl time.Duration) *Tokens {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return &Tokens{key: key, issuer: Issuer(nodeID), audience: Audience(nodeID), ttl: ttl, now: time.Now}
}

// Issuer is the iss claim of a node's tokens.
func Issuer(nodeID string) string { return "urn:hashhub:node:" + nodeID }

// Audience is the aud claim a node requires.
func Audience(nodeID string) string { return "urn:hashhub:node:" + nodeID + ":api" }

// SetClock replaces the clock (tests).
func (t *Tokens) SetClock(now func() time.Time) { t.now = now }

// PublicKey is the node key: it verifies the node's access tokens, and the
// client assertions the node presents to its peers.
func (t *Tokens) PublicKey() ed25519.PublicKey { return t.key.Public().(ed25519.PublicKey) }

// TTL is how long issued tokens live.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Issue signs a token for the user.
func (t *Tokens) Issue(user, org, role, jur string) (string, error) {
	now := t.now()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   user,
			Audience:  jwt.ClaimStrings{t.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
			ID:        randomHex(16),
		},
		Org: org, Role: role, Jurisdiction: jur,
	}
	return jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(t.key)
}

// ErrInvalidToken is wrapped by every verification failure.
var ErrInvalidToken = errors.New("invalid access token")

// Verify checks signature (EdDSA only: none, HS256 and every other
// algorithm are refused before any key is used), issuer, audience, expiry
// and the presence of the claims the node relies on.
func (t *Tokens) Verify(raw string) (*Claims, error) {
	t.mu.Lock()
	c, ok := t.verified[raw]
	t.mu.Unlock()
	if ok {
		now := t.now()
		if now.Before(c.ExpiresAt.Add(Leeway)) && !now.Before(c.NotBefore.Add(-Leeway)) {
			return &c, nil
		}
		t.mu.Lock()
		delete(t.verified, raw)
		t.mu.Unlock()
		return nil, fmt.Errorf("%w: token has invalid claims: token is expired", ErrInvalidToken)
	}
	out, err := t.verify(raw)
	if err != nil {
		return nil, err
	}
	if out.NotBefore != nil && out.ExpiresAt != nil {
		t.mu.Lock()
		if t.verified == nil || len(t.verified) >= maxVerified {
			t.verified = make(map[string]Claims, 64)
		}
		t.verified[raw] = *out
		t.mu.Unlock()
	}
	return out, nil
}

// verify is the full check of a token not seen before.
func (t *Tokens) verify(raw string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(raw, &c, func(tok *jwt.Token) (any, error) {
		return t.key.Public(), nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if c.Subject == "" || c.Org == "" || c.Role == "" {
		return nil, fmt.Errorf("%w: missing subject, org or role", ErrInvalidToken)
	}
	return &c, nil
}
