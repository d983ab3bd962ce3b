// Package delivery sends what the node pushes to others — takedown notices
// to hosting providers, reports to law enforcement and peers — by signed
// webhook and by email, and builds the XARF v4 part of a notice. It does
// not retry: the outbox decides when to try again.
package delivery

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook headers. The signature is Ed25519 by the node's key (its
// node_key_pem at GET /v1/keys) over SigningInput: no secret is shared
// with the receiver, who needs only the node's public key.
const (
	HeaderTimestamp   = "Hashhub-Timestamp"
	HeaderSignature   = "Hashhub-Signature"
	HeaderNode        = "Hashhub-Node"
	HeaderIdempotency = "Idempotency-Key"
	signaturePrefix   = "ed25519="
	// signingContext separates these signatures from anything else the
	// key signs (access tokens' signing input never holds a newline).
	signingContext = "hashhub-webhook-v1"
)

// DefaultMaxSkew is how far a receiver should accept a timestamp from its
// own clock.
const DefaultMaxSkew = 5 * time.Minute

// SigningInput is the message a webhook signature covers:
//
//	hashhub-webhook-v1 LF <timestamp> LF <idempotency key> LF <body>
//
// timestamp is decimal Unix seconds as sent in Hashhub-Timestamp.
func SigningInput(timestamp, key string, body []byte) []byte {
	msg := make([]byte, 0, len(signingContext)+len(timestamp)+len(key)+len(body)+3)
	msg = append(msg, signingContext...)
	msg = append(msg, '\n')
	msg = append(msg, timestamp...)
	msg = append(msg, '\n')
	msg = append(msg, key...)
	msg = append(msg, '\n')
	return append(msg, body...)
}

// Sign sets the signature headers of a webhook request.
func Sign(h http.Header, key ed25519.PrivateKey, nodeID, idemKey string, body []byte, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := ed25519.Sign(key, SigningInput(ts, idemKey, body))
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, signaturePrefix+base64.StdEncoding.EncodeToString(sig))
	h.Set(HeaderNode, nodeID)
	h.Set(HeaderIdempotency, idemKey)
}

// ErrBadSignature is returned by Verify for a request the node did not sign.
var ErrBadSignature = errors.New("webhook signature does not verify")

// Verify checks a webhook request's signature with the node's public key
// and its timestamp against now (within maxSkew). A receiver calls it
// before acting on the body, then deduplicates by the Idempotency-Key.
func Verify(pub ed25519.PublicKey, h http.Header, body []byte, now time.Time, maxSkew time.Duration) error {
	ts := h.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad %s", ErrBadSignature, HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("%w: timestamp %s is %v from now", ErrBadSignature, ts, d.Round(time.Second))
	}
	enc, ok := strings.CutPrefix(h.Get(HeaderSignature), signaturePrefix)
	if !ok {
		return fmt.Errorf("%w: no %s%s", ErrBadSignature, HeaderSignature, ": ed25519=…")
	}
	sig, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || !ed25519.Verify(pub, SigningInput(ts, h.Get(HeaderIdempotency), body), sig) {
		return ErrBadSignature
	}
	return nil
}
