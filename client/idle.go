package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// DefaultIdleTimeout bounds how long an answer's body may make no
// progress (see [Config.IdleTimeout]).
const DefaultIdleTimeout = 30 * time.Second

// MinProgress is the least of a body that counts as progress: an answer
// that brings less than this (and not its end) within the idle timeout is
// stalled. A byte now and then does not keep a connection alive: a node
// that trickles its answer at one byte a second is as stuck as one that
// sends nothing, and would otherwise hold its reader for days.
const MinProgress = 1 << 10

// ErrStalled is wrapped by the error of a request whose node stopped
// making progress: no answer within the timeout (for a long poll: within
// its wait and the idle timeout), or a body that brought less than
// MinProgress within the idle timeout.
var ErrStalled = errors.New("stalled")

// idleBody fails a body that makes no progress. The idle budget is spent
// only while a Read waits on the connection, not while the caller works
// between reads (a slow import must not make its peer look stalled); it
// is renewed each time MinProgress more bytes have arrived. A timer runs
// during each Read with what is left of the budget and, when it fires,
// cancels the request, which unblocks the Read.
type idleBody struct {
	rc      io.ReadCloser
	idle    time.Duration
	what    string // "GET /v1/…", for the error
	cancel  context.CancelFunc
	timer   *time.Timer
	stalled atomic.Bool
	got     int           // bytes since the budget was renewed
	waited  time.Duration // time spent in Read since then
}

func newIdleBody(rc io.ReadCloser, idle time.Duration, what string, cancel context.CancelFunc) *idleBody {
	b := &idleBody{rc: rc, idle: idle, what: what, cancel: cancel}
	b.timer = time.AfterFunc(idle, func() {
		b.stalled.Store(true)
		cancel()
	})
	b.timer.Stop()
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.stalled.Load() {
		return 0, b.stallError()
	}
	start := time.Now()
	b.timer.Reset(b.idle - b.waited)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if b.stalled.Load() {
		return n, b.stallError()
	}
	b.waited += time.Since(start)
	if b.got += n; b.got >= MinProgress {
		b.got, b.waited = 0, 0
	}
	return n, err
}

func (b *idleBody) stallError() error {
	return fmt.Errorf("%w: less than %d bytes of the answer to %s in %s", ErrStalled, MinProgress, b.what, b.idle)
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel()
	return err
}

// noAnswer is the error of an attempt that got no answer within d.
func (c *Client) noAnswer(d time.Duration) error {
	return &NetError{Server: c.server, Err: fmt.Errorf("%w: no answer within %s", ErrStalled, d)}
}
