package server

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// Request bodies must keep arriving: a client that promises 1,000 bytes
// and sends 10 would otherwise hold its connection (and a handler) for as
// long as it likes, before any authentication. The server's own timeouts
// cannot help: ReadHeaderTimeout ends with the headers, and ReadTimeout
// would cut off a long import however fast its bytes come.
const (
	// DefaultBodyTimeout is how long a body may take to start and, beyond
	// what its size allows at the minimum rate, to finish.
	DefaultBodyTimeout = 10 * time.Second
	// DefaultBodyMinRate is the slowest rate (bytes per second) a body may
	// arrive at: each byte read extends the deadline by 1/rate seconds.
	DefaultBodyMinRate = 4 << 10
)

// ErrBodyTimeout is a request body that stopped arriving, or came slower
// than the minimum rate. It maps to 408.
var ErrBodyTimeout = errors.New("the request body did not arrive in time")

// pBodyTimeout is a body read that hit its deadline.
var pBodyTimeout = problemKind{"body-timeout", "Request body too slow", http.StatusRequestTimeout}

// BodyLimits bound how slowly a request body may arrive. Zero fields take
// the defaults; a negative Timeout turns the deadline off.
type BodyLimits struct {
	Timeout time.Duration
	MinRate int64 // bytes per second
}

func (l BodyLimits) withDefaults() BodyLimits {
	if l.Timeout == 0 {
		l.Timeout = DefaultBodyTimeout
	}
	if l.MinRate <= 0 {
		l.MinRate = DefaultBodyMinRate
	}
	return l
}

// deadlineBody sets a read deadline on the connection that moves on as
// bytes arrive: start + Timeout + read/MinRate. A body that stalls or
// trickles fails with ErrBodyTimeout, and net/http closes the connection
// after the answer. The deadline is cleared at the end of the body, so it
// never cuts a handler that is still working, nor the next request.
type deadlineBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	limits   BodyLimits
	start    time.Time
	read     int64
	deadline time.Time // as last set
	done     bool
}

// watchBody puts a body deadline on r, if it has a body and the writer
// reaches the connection (an httptest.ResponseRecorder does not).
func watchBody(w http.ResponseWriter, r *http.Request, l BodyLimits) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || l.Timeout < 0 {
		return
	}
	b := &deadlineBody{ReadCloser: r.Body, rc: http.NewResponseController(w), limits: l, start: time.Now()}
	b.deadline = b.start.Add(l.Timeout)
	if b.rc.SetReadDeadline(b.deadline) != nil {
		return
	}
	r.Body = b
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	switch {
	case err == io.EOF && !b.done:
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, ErrBodyTimeout
	case n > 0:
		// Move the deadline on in steps of a second or more: a reset per
		// read of a multi-gigabyte import would cost for nothing.
		d := b.start.Add(b.limits.Timeout + time.Duration(float64(b.read)/float64(b.limits.MinRate)*float64(time.Second)))
		if d.Sub(b.deadline) >= time.Second {
			b.deadline = d
			b.rc.SetReadDeadline(d)
		}
	}
	return n, err
}
