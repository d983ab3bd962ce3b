package people

import (
	"sync"
	"time"
)

// Throttle slows down password guessing, per account and per address.
// Each key (an account name, a client address) may fail FreeFailures times
// in a row; after that every further failure doubles the wait before the
// next attempt is heard, from BaseDelay up to MaxDelay; LockoutAfter
// failures in a row lock the key for Lockout. A success clears the
// account's count (not the address's: one good password from an address
// does not excuse its other guesses).
//
// The state is kept in memory: a restart forgets it, which gives an
// attacker at most one more round of FreeFailures per restart; every
// failure is in the audit chain regardless.
type Throttle struct {
	FreeFailures int
	BaseDelay    time.Duration
	MaxDelay     time.Duration
	LockoutAfter int
	Lockout      time.Duration

	mu   sync.Mutex
	keys map[string]*throttleState
}

type throttleState struct {
	failures int
	until    time.Time // no attempt heard before this
	last     time.Time
}

// Defaults for the console's sign-in.
const (
	DefaultFreeFailures = 3
	DefaultBaseDelay    = 2 * time.Second
	DefaultMaxDelay     = 5 * time.Minute
	DefaultLockoutAfter = 10
	DefaultLockout      = time.Hour
)

// NewThrottle returns a throttle with the defaults.
func NewThrottle() *Throttle {
	return &Throttle{FreeFailures: DefaultFreeFailures, BaseDelay: DefaultBaseDelay, MaxDelay: DefaultMaxDelay,
		LockoutAfter: DefaultLockoutAfter, Lockout: DefaultLockout, keys: map[string]*throttleState{}}
}

// Wait returns how long key must still wait before an attempt is heard
// (0: now), and whether that wait is a lockout.
func (t *Throttle) Wait(key string, now time.Time) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.keys[key]
	if st == nil || !now.Before(st.until) {
		return 0, false
	}
	return st.until.Sub(now), st.failures >= t.LockoutAfter
}

// Fail records a failed attempt by key and returns the wait it now has.
func (t *Throttle) Fail(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(now)
	st := t.keys[key]
	if st == nil {
		st = &throttleState{}
		t.keys[key] = st
	}
	st.failures++
	st.last = now
	var d time.Duration
	switch {
	case st.failures >= t.LockoutAfter:
		d = t.Lockout
	case st.failures > t.FreeFailures:
		d = t.BaseDelay << (st.failures - t.FreeFailures - 1)
		if d > t.MaxDelay || d <= 0 {
			d = t.MaxDelay
		}
	}
	st.until = now.Add(d)
	return d
}

// Succeed clears key's failures.
func (t *Throttle) Succeed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
}

// Failures is key's count of failures in a row.
func (t *Throttle) Failures(key string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.keys[key]; st != nil {
		return st.failures
	}
	return 0
}

// sweep forgets keys quiet for longer than a lockout, so a flood of
// addresses cannot grow the map without bound. Called with mu held.
func (t *Throttle) sweep(now time.Time) {
	if len(t.keys) < 10_000 {
		return
	}
	for k, st := range t.keys {
		if now.Sub(st.last) > t.Lockout && !now.Before(st.until) {
			delete(t.keys, k)
		}
	}
}
