package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashhub/hashhub/peers"
)

// The stall and partition modes: node Q pulls node P's list "shared"
// through a proxy on 127.0.0.1 run by this program, with the default sync
// settings of the binary under test.
//
//   - stall: (1) trickle — the proxy passes delta, snapshot and records
//     answers one byte a second; P releases; the time from the release
//     until Q's sync state is no longer ok (failing or stalled). (2)
//     silent — the proxy stops answering anything (requests hang, as
//     behind a partition that drops packets) while Q long-polls; the time
//     until Q's state is no longer ok, -stall-runs times at random points
//     of the long poll. After each, the proxy behaves again and the time
//     until Q is ok again is reported too.
//   - partition: for each length in -partitions, a partition of that
//     length during which P releases a new hash; the time from the heal
//     until Q holds the hash (converged). -partition-kind cut (the
//     default) closes every connection when it starts and every new one
//     during it, so requests fail at once and the backoff grows as fast
//     as it can; silent holds every request unanswered and passes it on
//     at the heal (a network that delivers late), so a request in flight
//     at the heal is answered at once.
var (
	stallRuns  = flag.Int("stall-runs", 3, "stall: silent partitions measured")
	stallLimit = flag.Duration("stall-limit", 3*time.Minute, "stall, partition: give up waiting after this long")
	partitions = flag.String("partitions", "30s,5m", "partition: partition lengths, comma-separated")
	partKind   = flag.String("partition-kind", "cut", "partition: cut (connections closed) or silent (requests held)")
)

// proxy passes requests to upstream, or trickles bulk answers, or holds
// every request without answering until it behaves again (then it passes
// the request on, as a network that delivers late).
type proxy struct {
	srv    *httptest.Server
	mode   atomic.Value // string: "", "trickle", "silent" or "cut"
	mu     sync.Mutex
	healed chan struct{} // closed when a silent spell ends
}

func newProxy(upstream string) *proxy {
	px := &proxy{healed: make(chan struct{})}
	px.mode.Store("")
	u, _ := url.Parse(upstream)
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(u) },
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
		ModifyResponse: func(resp *http.Response) error {
			p := resp.Request.URL.Path
			if px.mode.Load() == "trickle" && (strings.HasSuffix(p, "/delta") || strings.HasSuffix(p, "/snapshot") || strings.HasSuffix(p, "/records")) {
				resp.Body = &slowBody{rc: resp.Body, done: resp.Request.Context().Done(), px: px}
				resp.ContentLength = -1
				resp.Header.Del("Content-Length")
			}
			return nil
		},
	}
	px.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if px.mode.Load() == "cut" {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		for {
			healed := px.heal()
			if px.mode.Load() != "silent" {
				break
			}
			select {
			case <-r.Context().Done():
				return
			case <-healed:
			}
		}
		rp.ServeHTTP(w, r)
	}))
	return px
}

func (px *proxy) close() {
	px.set("")
	px.srv.CloseClientConnections()
	px.srv.Close()
}

func (px *proxy) heal() <-chan struct{} {
	px.mu.Lock()
	defer px.mu.Unlock()
	return px.healed
}

func (px *proxy) set(mode string) {
	px.mu.Lock()
	defer px.mu.Unlock()
	if old := px.mode.Swap(mode); old == "silent" && mode != "silent" {
		close(px.healed)
		px.healed = make(chan struct{})
	}
	if mode == "cut" {
		px.srv.CloseClientConnections()
	}
}

// slowBody gives one byte a second while the proxy trickles.
type slowBody struct {
	rc   io.ReadCloser
	done <-chan struct{}
	px   *proxy
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.px.mode.Load() != "trickle" {
		return b.rc.Read(p)
	}
	select {
	case <-b.done:
		return 0, io.ErrUnexpectedEOF
	case <-time.After(time.Second):
	}
	return b.rc.Read(p[:min(len(p), 1)])
}

func (b *slowBody) Close() error { return b.rc.Close() }

// pair starts P and Q, Q pulling P's list through a proxy, and waits for
// Q to hold P's version 1.
func (r *runner) pair() (p, q *hub, px *proxy, err error) {
	if p, err = r.start("hub-p", "NL", false); err != nil {
		return
	}
	if q, err = r.start("hub-q", "GB", false); err != nil {
		return
	}
	for _, h := range []*hub{p, q} {
		if err = h.createList("shared"); err != nil {
			return
		}
	}
	px = newProxy(p.url)
	if err = p.register(q); err != nil {
		return
	}
	direct := p.url
	p.url = px.srv.URL
	err = q.register(p, "shared")
	p.url = direct
	if err != nil {
		return
	}
	if _, err = p.submit(); err != nil {
		return
	}
	if _, err = p.admin.BuildRelease(bg, "shared"); err != nil {
		return
	}
	err = q.waitOK(1, 60*time.Second)
	return
}

// waitOK waits until Q's sync of P is ok at version v (0: any).
func (q *hub) waitOK(v uint64, limit time.Duration) error {
	return waitFor("Q ok", limit, func() (bool, error) {
		s, err := q.sync("hub-p")
		return err == nil && s != nil && s.State == peers.SyncOK && (v == 0 || s.Applied == v), err
	})
}

// untilNotOK is how long from t0 until Q's sync of P is no longer ok, and
// the state and error it shows then.
func (q *hub) untilNotOK(t0 time.Time) (time.Duration, *peers.SyncStatus, error) {
	for {
		s, err := q.sync("hub-p")
		if err != nil {
			return 0, nil, err
		}
		if s != nil && s.State != peers.SyncOK && s.State != peers.SyncStarting {
			return time.Since(t0), s, nil
		}
		if time.Since(t0) > *stallLimit {
			return time.Since(t0), s, fmt.Errorf("still ok after %s", *stallLimit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func sec(d time.Duration) string { return fmt.Sprintf("%.1f", d.Seconds()) }

func (r *runner) stall() error {
	fmt.Println("== stall: Q pulls P through a proxy that trickles, then answers nothing")
	p, q, px, err := r.pair()
	if err != nil {
		return err
	}
	defer px.close()
	// Trickle.
	px.set("trickle")
	if _, err := p.submit(); err != nil {
		return err
	}
	t0 := time.Now()
	if _, err := p.admin.BuildRelease(bg, "shared"); err != nil {
		return err
	}
	d, s, err := q.untilNotOK(t0)
	if err != nil {
		out("trickle_to_not_ok_s", ">"+sec(d)+" (state "+s.State+")")
	} else {
		out("trickle_to_not_ok_s", sec(d)+" state="+s.State+" error="+fmt.Sprintf("%q", s.LastError))
	}
	px.set("")
	t1 := time.Now()
	if err := q.waitOK(2, *stallLimit); err != nil {
		return err
	}
	out("trickle_recovered_after_s", sec(time.Since(t1)))

	// Silent, at varied points of the long poll.
	for i := range *stallRuns {
		time.Sleep(time.Duration(3+7*i) * time.Second)
		px.set("silent")
		t0 := time.Now()
		d, s, err := q.untilNotOK(t0)
		if err != nil {
			out(fmt.Sprintf("silent_%d_to_not_ok_s", i+1), ">"+sec(d))
		} else {
			out(fmt.Sprintf("silent_%d_to_not_ok_s", i+1), sec(d)+" state="+s.State+" error="+fmt.Sprintf("%q", s.LastError))
		}
		px.set("")
		t1 := time.Now()
		if err := q.waitOK(0, *stallLimit); err != nil {
			return err
		}
		out(fmt.Sprintf("silent_%d_recovered_after_s", i+1), sec(time.Since(t1)))
	}
	return nil
}

func (r *runner) partition() error {
	fmt.Printf("== partition (%s): Q pulls P through a proxy that cuts it off for a while\n", *partKind)
	if *partKind != "cut" && *partKind != "silent" {
		return fmt.Errorf("unknown -partition-kind %q", *partKind)
	}
	p, q, px, err := r.pair()
	if err != nil {
		return err
	}
	defer px.close()
	v := uint64(1)
	for _, f := range strings.Split(*partitions, ",") {
		length, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil {
			return err
		}
		if err := q.waitOK(v, *stallLimit); err != nil {
			return err
		}
		px.set(*partKind)
		start := time.Now()
		time.Sleep(time.Second)
		h, err := p.submit()
		if err != nil {
			return err
		}
		if _, err := p.admin.BuildRelease(bg, "shared"); err != nil {
			return err
		}
		v++
		time.Sleep(time.Until(start.Add(length)))
		before, _ := q.sync("hub-p")
		state := ""
		if before != nil {
			state = fmt.Sprintf(" (at the heal: state=%s failures=%d", before.State, before.Failures)
			if !before.NextAttempt.IsZero() {
				state += fmt.Sprintf(" next_attempt_in=%ss", sec(time.Until(before.NextAttempt)))
			}
			state += ")"
		}
		px.set("")
		healed := time.Now()
		if err := waitFor("Q converges", *stallLimit+10*time.Minute, func() (bool, error) { return q.has(h) }); err != nil {
			return err
		}
		out("partition_"+length.String()+"_converged_after_heal_s", sec(time.Since(healed))+state)
	}
	return nil
}
