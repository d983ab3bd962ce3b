// Package audit defines hashhub's tamper-evident audit log: every state
// change appends an event that names who did what to which object, and each
// event carries the SHA-256 of the one before it, so editing, deleting or
// reordering any stored event breaks the chain at that point.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event is one entry in the chain.
type Event struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Actor  Actor     `json:"actor"`
	Action string    `json:"action"`
	Object string    `json:"object"`
	// Digest is the SHA-256 (hex) of the canonical bytes of the change.
	Digest string `json:"digest"`
	// Prev is the Hash of the event before (empty for the first).
	Prev string `json:"prev"`
	// Hash is SHA-256 over the event's canonical form without Hash.
	Hash string `json:"hash"`
}

// Actor is the human accountable for a change.
type Actor struct {
	User string `json:"user"`
	Org  string `json:"org"`
	Role string `json:"role"`
}

// System is the actor of changes the node makes itself (initialisation).
var System = Actor{User: "system", Org: "system", Role: "system"}

// DigestOf returns the hex SHA-256 of v's JSON encoding: the fingerprint of
// a change that the event commits to.
func DigestOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Values passed here are plain data structs; failing to encode one
		// is a programming error.
		panic(fmt.Sprintf("audit: digest of %T: %v", v, err))
	}
	return DigestBytes(b)
}

// DigestBytes returns the hex SHA-256 of b.
func DigestBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Seal computes e.Hash from the other fields.
func (e *Event) Seal() { e.Hash = e.compute() }

func (e *Event) compute() string {
	c := *e
	c.Hash = ""
	c.Time = c.Time.UTC()
	b, _ := json.Marshal(c)
	return DigestBytes(b)
}

// ErrBroken is wrapped by every chain verification failure.
var ErrBroken = errors.New("audit chain broken")

// BrokenError names the first event where the chain fails.
type BrokenError struct {
	Seq    uint64
	Reason string
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit chain broken at event %d: %s", e.Seq, e.Reason)
}

// Unwrap returns ErrBroken.
func (e *BrokenError) Unwrap() error { return ErrBroken }

// Verifier checks events in order. Feed it every stored event, then call
// Finish with the head the store recorded.
type Verifier struct {
	next uint64
	prev string
	n    int
}

// Add checks one stored event (its key's sequence number and raw bytes).
func (v *Verifier) Add(keySeq uint64, raw []byte) error {
	want := v.next + 1
	if keySeq != want {
		return &BrokenError{Seq: want, Reason: fmt.Sprintf("event missing (next stored event is %d)", keySeq)}
	}
	var e Event
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return &BrokenError{Seq: keySeq, Reason: fmt.Sprintf("unreadable event: %v", err)}
	}
	if e.Seq != keySeq {
		return &BrokenError{Seq: keySeq, Reason: fmt.Sprintf("event says it is %d", e.Seq)}
	}
	if e.Prev != v.prev {
		return &BrokenError{Seq: keySeq, Reason: "does not link to the event before it"}
	}
	if e.compute() != e.Hash {
		return &BrokenError{Seq: keySeq, Reason: "content does not match its hash (edited)"}
	}
	v.next, v.prev = keySeq, e.Hash
	v.n++
	return nil
}

// Finish checks that the last event seen is the head the store recorded,
// which catches events deleted from the end.
func (v *Verifier) Finish(headSeq uint64, headHash string) (int, error) {
	if headSeq != v.next || headHash != v.prev {
		return v.n, &BrokenError{Seq: v.next + 1, Reason: fmt.Sprintf("chain ends at event %d but the recorded head is event %d (events removed from the end, or head altered)", v.next, headSeq)}
	}
	return v.n, nil
}

// ResumeVerifier continues a verification from an event already checked
// (its sequence number and hash), so that a long chain is checked once
// and then only its new events; a zero seq starts from the beginning.
func ResumeVerifier(seq uint64, hash string) *Verifier {
	return &Verifier{next: seq, prev: hash}
}

// Last is the last event verified: its sequence number and hash.
func (v *Verifier) Last() (uint64, string) { return v.next, v.prev }
