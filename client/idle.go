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

// idleBody fails a body that makes no progress: a timer, moved on each
// time MinProgress more bytes have arrived, cancels the request when it
// fires, which unblocks a Read waiting on the connection.
type idleBody struct {
	rc      io.ReadCloser
	idle    time.Duration
	what    string // "GET /v1/…", for the error
	cancel  context.CancelFunc
	timer   *time.Timer
	stalled atomic.Bool
	got     int // bytes since the timer was last moved
}

func newIdleBody(rc io.ReadCloser, idle time.Duration, what string, cancel context.CancelFunc) *idleBody {
	b := &idleBody{rc: rc, idle: idle, what: what, cancel: cancel}
	b.timer = time.AfterFunc(idle, func() {
		b.stalled.Store(true)
		cancel()
	})
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if b.stalled.Load() {
		return n, fmt.Errorf("%w: less than %d bytes of the answer to %s in %s", ErrStalled, MinProgress, b.what, b.idle)
	}
	if b.got += n; b.got >= MinProgress {
		b.got = 0
		b.timer.Reset(b.idle)
	}
	if err != nil {
		// The end, or a failure of its own: nothing more to wait for.
		b.timer.Stop()
	}
	return n, err
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
