package federation

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/mirror"
	"github.com/hashhub/hashhub/peers"
)

// Sync defaults, exported so flag help can show them.
const (
	// DefaultLongPoll is how long one long poll on a peer's latest release
	// waits before it is renewed.
	DefaultLongPoll = 25 * time.Second
	// DefaultMinBackoff and DefaultMaxBackoff bound the wait after a
	// failed pull (doubling, with ±50% jitter, so that peers that failed
	// together do not retry together).
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	// DefaultIdleTimeout is how long a peer may keep a pull loop waiting
	// without progress: for an answer, between reads of its body (less
	// than client.MinProgress counts as none), and beyond the wait of a
	// long poll. Then the loop reports the peer stalled and retries.
	DefaultIdleTimeout = 10 * time.Second
	// DefaultProbeInterval and DefaultProbeTimeout: while a loop backs off
	// from a peer it could not reach, it asks the peer for the list's
	// latest release this often, each time waiting this long; the first
	// answer ends the backoff, so that a healed partition is synced at
	// once instead of after a backoff grown during it.
	DefaultProbeInterval = 2 * time.Second
	DefaultProbeTimeout  = 3 * time.Second
	// DefaultReconcile is how often the set of peers and lists is re-read
	// besides at once when a peer is added, paused, resumed or removed.
	DefaultReconcile = 2 * time.Second
	// DefaultMirrorPoll is how often a loop reading a peer's list from its
	// mirror looks for a new release: a static tree cannot be long-polled,
	// and its pointers are cached for about a minute anyway.
	DefaultMirrorPoll = 30 * time.Second
)

// Syncer keeps one pull loop per (active peer, list): each loop verifies
// the peer's releases exactly as `hashctl pull` does (a mirror per peer and
// list under Dir), and imports each verified step — entries, origin-signed
// records and the cursor — in one transaction of the node's store.
type Syncer struct {
	Hub *hub.Service
	// SelfID and Key are this node's id and Ed25519 node key (its peer
	// assertions are signed with it).
	SelfID string
	Key    ed25519.PrivateKey
	// Dir holds the mirrors: Dir/<peer>/<list>.
	Dir string
	Log *slog.Logger
	// Transport is used for calls to peers (nil: a default transport).
	Transport http.RoundTripper
	// LongPoll, MinBackoff, MaxBackoff, Reconcile, IdleTimeout,
	// ProbeInterval, ProbeTimeout, MirrorPoll: zero means the defaults.
	LongPoll, MinBackoff, MaxBackoff, Reconcile time.Duration
	IdleTimeout, ProbeInterval, ProbeTimeout    time.Duration
	MirrorPoll                                  time.Duration
	// Witnessed returns the last checkpoint of a log (origin
	// "hashhub/<peer>") this node cosigned as a witness, if any: a peer's
	// mirror whose checkpoint is older is behind (see mirror.go).
	Witnessed func(origin string) ([]byte, bool)
	// MaxStepBytes and MaxRecordsBytes cap what one step from a peer may
	// download, for peers registered without caps of their own (0: the
	// defaults; see records.go).
	MaxStepBytes, MaxRecordsBytes int64
	// Batch is the most lines one transaction of a peer's snapshot
	// writes into its mirror (0: mirror.DefaultBatch); the node's store
	// takes the entries in batches of Hub.PeerBatch.
	Batch int
	// OnApplied runs after a step changed entries here (the node uses it
	// to publish its own lists promptly).
	OnApplied func()

	mu     sync.Mutex
	loops  map[loopKey]*loop
	health map[loopKey]*peers.SyncStatus
}

type loopKey struct{ peer, list string }

type loop struct {
	cancel context.CancelFunc
	done   chan struct{}
	// fingerprint of the peer registration the loop runs with; a changed
	// registration restarts it.
	fp string
}

func (s *Syncer) defaults() {
	if s.LongPoll <= 0 {
		s.LongPoll = DefaultLongPoll
	}
	if s.MinBackoff <= 0 {
		s.MinBackoff = DefaultMinBackoff
	}
	if s.MaxBackoff <= 0 {
		s.MaxBackoff = DefaultMaxBackoff
	}
	if s.Reconcile <= 0 {
		s.Reconcile = DefaultReconcile
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = DefaultIdleTimeout
	}
	if s.ProbeInterval <= 0 {
		s.ProbeInterval = DefaultProbeInterval
	}
	if s.ProbeTimeout <= 0 {
		s.ProbeTimeout = DefaultProbeTimeout
	}
	if s.MirrorPoll <= 0 {
		s.MirrorPoll = DefaultMirrorPoll
	}
	if s.Log == nil {
		s.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Run starts and stops pull loops as peers are added, paused, resumed and
// removed, until ctx ends; then it stops every loop and returns.
func (s *Syncer) Run(ctx context.Context) {
	s.defaults()
	s.mu.Lock()
	s.loops = map[loopKey]*loop{}
	if s.health == nil {
		s.health = map[loopKey]*peers.SyncStatus{}
	}
	s.mu.Unlock()
	t := time.NewTicker(s.Reconcile)
	defer t.Stop()
	for {
		changed := s.Hub.PeerSignal()
		if err := s.reconcile(ctx); err != nil {
			s.Log.Warn("peer sync: read peers", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			s.mu.Lock()
			ls := s.loops
			s.loops = map[loopKey]*loop{}
			s.mu.Unlock()
			for _, l := range ls {
				l.cancel()
				<-l.done
			}
			return
		case <-t.C:
		case <-changed:
		}
	}
}

func fingerprint(p *peers.Peer) string {
	return p.BaseURL + "\x00" + p.ReleaseKeyPEM + "\x00" + p.LogKey + "\x00" + p.NodeKeyPEM + "\x00" + p.MirrorURL
}

func (s *Syncer) reconcile(ctx context.Context) error {
	ps, err := s.Hub.Peers()
	if err != nil {
		return err
	}
	want := map[loopKey]*peers.Peer{}
	for i := range ps {
		p := &ps[i]
		for _, l := range p.Lists {
			k := loopKey{p.ID, l}
			if p.Paused {
				s.setHealth(k, func(h *peers.SyncStatus) { h.State = peers.SyncPaused })
				continue
			}
			want[k] = p
		}
	}
	// Stop the loops that must stop without holding the lock: a loop
	// reports its health under it on the way out.
	s.mu.Lock()
	var stopping []*loop
	var gone []loopKey
	for k, l := range s.loops {
		if p, ok := want[k]; !ok || fingerprint(p) != l.fp {
			stopping = append(stopping, l)
			delete(s.loops, k)
			if !ok && !peerListed(ps, k) {
				gone = append(gone, k)
			}
		}
	}
	s.mu.Unlock()
	for _, l := range stopping {
		l.cancel()
		<-l.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range gone {
		delete(s.health, k)
		// The list is no longer pulled from this peer (or the peer was
		// removed): its mirror goes, and a later registration starts
		// afresh.
		if err := os.RemoveAll(filepath.Join(s.Dir, k.peer, k.list)); err != nil {
			s.Log.Warn("peer sync: remove mirror", slog.Any("err", err))
		}
	}
	for k, p := range want {
		if _, ok := s.loops[k]; ok {
			continue
		}
		lctx, cancel := context.WithCancel(ctx)
		l := &loop{cancel: cancel, done: make(chan struct{}), fp: fingerprint(p)}
		s.loops[k] = l
		if s.health[k] == nil {
			s.health[k] = &peers.SyncStatus{Peer: k.peer, List: k.list}
		}
		s.health[k].State = peers.SyncStarting
		go func(p peers.Peer) {
			defer close(l.done)
			s.run(lctx, &p, k.list)
		}(*p)
	}
	return nil
}

func peerListed(ps []peers.Peer, k loopKey) bool {
	for i := range ps {
		if ps[i].ID == k.peer && slices.Contains(ps[i].Lists, k.list) {
			return true
		}
	}
	return false
}

func (s *Syncer) setHealth(k loopKey, f func(*peers.SyncStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.health == nil {
		s.health = map[loopKey]*peers.SyncStatus{}
	}
	h := s.health[k]
	if h == nil {
		h = &peers.SyncStatus{Peer: k.peer, List: k.list}
		s.health[k] = h
	}
	f(h)
}

// Health returns the sync status of every (peer, list), or of one peer's
// lists when peer is not empty, in peer and list order.
func (s *Syncer) Health(peer string) []peers.SyncStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []peers.SyncStatus{}
	for k, h := range s.health {
		if peer == "" || k.peer == peer {
			c := *h
			if h.Mirror != nil {
				m := *h.Mirror
				c.Mirror = &m
			}
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b peers.SyncStatus) int {
		return cmp.Or(strings.Compare(a.Peer, b.Peer), strings.Compare(a.List, b.List))
	})
	return out
}

// run is one (peer, list) loop: pull, then long-poll for the next
// release; on failure back off with jitter and say why in the health.
func (s *Syncer) run(ctx context.Context, p *peers.Peer, list string) {
	k := loopKey{p.ID, list}
	if v, err := s.Hub.PeerCursor(p.ID, list); err == nil {
		s.setHealth(k, func(h *peers.SyncStatus) { h.Applied = v })
	}
	log := s.Log.With(slog.String("peer", p.ID), slog.String("list", list))
	// Every answer must come, and every body make progress, within the
	// idle timeout; a long poll may take its wait besides.
	cl, err := client.NewPeer(client.PeerConfig{Server: p.BaseURL, NodeID: p.ID, SelfID: s.SelfID, Key: s.Key,
		Transport: s.Transport, UserAgent: "hashhub/" + s.SelfID, Tries: 1, Timeout: s.IdleTimeout, IdleTimeout: s.IdleTimeout})
	if err != nil {
		s.fail(k, err, 0)
		return
	}
	var tree *client.Static
	if p.MirrorURL != "" {
		if tree, err = client.NewStatic(p.MirrorURL, "hashhub/"+s.SelfID); err != nil {
			s.fail(k, err, 0)
			return
		}
		s.setHealth(k, func(h *peers.SyncStatus) {
			if h.Mirror == nil || h.Mirror.URL != p.MirrorURL {
				h.Mirror = &peers.MirrorStatus{URL: p.MirrorURL}
			}
		})
	} else {
		s.setHealth(k, func(h *peers.SyncStatus) { h.Mirror = nil })
	}
	dir := filepath.Join(s.Dir, p.ID, list)
	var m *mirror.Mirror
	defer func() {
		if m != nil {
			m.Close()
		}
	}()
	backoff := time.Duration(0)
	probe := func(ctx context.Context) error {
		_, err := cl.LatestRelease(ctx, list)
		return err
	}
	for ctx.Err() == nil {
		if m == nil {
			m, err = s.openMirror(dir, p, list)
			if err != nil {
				s.fail(k, err, 0)
				log.Error("peer sync: mirror", slog.Any("err", err))
				return // a local problem: retrying will not help
			}
			m.MaxBytes = s.stepCap(p)
			m.Batch = s.Batch
		}
		s.setHealth(k, func(h *peers.SyncStatus) { h.LastAttempt = time.Now().UTC() })
		var res *mirror.Result
		if tree != nil {
			res, err = s.pullVia(ctx, k, m, cl, tree, p, list, log)
		} else if err = s.settleOwed(ctx, k, m, cl, p, list); err == nil {
			// (Steps owed are left only by a mirror since unregistered.)
			ahead := s.recordsAhead(ctx, m, cl, p, list)
			res, err = s.pullFrom(ctx, m, cl, s.importer(ctx, cl, p, list, nil, ahead), log)
			ahead.close()
		}
		if noReleaseYet(err) && ctx.Err() == nil {
			// Nothing to verify yet: wait for the first release with a long
			// poll rather than a growing backoff.
			s.setHealth(k, func(h *peers.SyncStatus) { h.State = peers.SyncWaiting })
			switch _, err := cl.WaitRelease(ctx, list, 0, s.LongPoll); {
			case err == nil || noReleaseYet(err):
				backoff = 0 // the peer answered
			case ctx.Err() == nil:
				backoff = s.retryLater(ctx, k, fmt.Errorf("wait for the first release: %w", err), backoff, probe, log)
			}
			continue
		}
		if err != nil && ctx.Err() == nil {
			backoff = s.retryLater(ctx, k, err, backoff, probe, log)
			continue
		}
		if err != nil {
			return
		}
		backoff = 0
		s.setHealth(k, func(h *peers.SyncStatus) {
			h.State, h.Version, h.Entries, h.Failures = peers.SyncOK, res.Version, res.Entries, 0
			h.LastSuccess = time.Now().UTC()
			// What went wrong before is over: the error shown is only
			// ever the current one.
			h.LastError, h.NextAttempt = "", time.Time{}
		})
		if tree != nil {
			// A tree is polled: it cannot hold a request open.
			t := time.NewTimer(s.MirrorPoll)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		// Wait for the peer's next release (a long poll), then pull again.
		_, err = cl.WaitRelease(ctx, list, res.Version, s.LongPoll)
		if err != nil && ctx.Err() == nil {
			backoff = s.retryLater(ctx, k, fmt.Errorf("wait for the next release: %w", err), backoff, probe, log)
		}
	}
}

// noReleaseYet reports whether err says the peer's list has no release.
func noReleaseYet(err error) bool {
	var p *client.Problem
	return errors.As(err, &p) && p.Status == http.StatusNotFound && p.Kind() == "no-release"
}

func (s *Syncer) nextBackoff(prev time.Duration) time.Duration {
	d := max(s.MinBackoff, min(prev*2, s.MaxBackoff))
	// ±50% jitter.
	return d/2 + time.Duration(mrand.Int64N(int64(d)+1))
}

// retryLater records a failure, waits the next backoff (or until ctx
// ends) and returns it, to be passed in again after the next failure.
//
// When the peer could not be reached (or stalled), the wait is cut short
// by a sign of life: the peer is probed every ProbeInterval, and its first
// answer ends the wait and resets the backoff, so a healed partition is
// synced within moments however long it lasted. A peer that answered and
// was refused (a bad signature, a rollback) is not probed: its answer is
// the problem, and the backoff spares it and this node repeated work.
func (s *Syncer) retryLater(ctx context.Context, k loopKey, err error, prev time.Duration, probe func(context.Context) error, log *slog.Logger) time.Duration {
	backoff := s.nextBackoff(prev)
	s.fail(k, err, backoff)
	log.Warn("peer sync failed", slog.Any("err", err), slog.Duration("retry_in", backoff))
	wait := time.NewTimer(backoff)
	defer wait.Stop()
	var tick <-chan time.Time
	if unreachable(err) {
		t := time.NewTicker(s.ProbeInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return backoff
		case <-wait.C:
			return backoff
		case <-tick:
		}
		pctx, cancel := context.WithTimeout(ctx, s.ProbeTimeout)
		perr := probe(pctx)
		timedOut := errors.Is(pctx.Err(), context.DeadlineExceeded)
		cancel()
		if ctx.Err() != nil {
			return backoff
		}
		if timedOut && !errors.Is(perr, client.ErrStalled) {
			perr = fmt.Errorf("%w: no answer within %s", client.ErrStalled, s.ProbeTimeout)
		}
		if answered(perr) {
			log.Info("peer answers again: retrying now")
			return 0
		}
		// Still unreachable: say how, now.
		s.setHealth(k, func(h *peers.SyncStatus) {
			h.State = failState(perr)
			h.LastError = "probe: " + perr.Error()
			h.LastErrorTime = time.Now().UTC()
		})
	}
}

// unreachable reports whether err says the peer could not be reached or
// stopped answering, rather than that it answered something refused.
func unreachable(err error) bool {
	var ne *client.NetError
	var p *client.Problem
	switch {
	case errors.Is(err, client.ErrStalled), errors.As(err, &ne):
		return true
	case errors.As(err, &p):
		return p.Status == http.StatusBadGateway || p.Status == http.StatusServiceUnavailable || p.Status == http.StatusGatewayTimeout
	}
	return false
}

// answered reports whether a probe's outcome is a sign of life: an answer
// from the node itself (a refusal too, e.g. no release yet), not a
// network failure or a gateway's.
func answered(err error) bool {
	var p *client.Problem
	return err == nil || errors.As(err, &p) && p.Status < http.StatusInternalServerError
}

// failState is the health state a failure puts a loop in.
func failState(err error) string {
	if errors.Is(err, client.ErrStalled) {
		return peers.SyncStalled
	}
	return peers.SyncFailing
}

func (s *Syncer) fail(k loopKey, err error, retry time.Duration) {
	s.setHealth(k, func(h *peers.SyncStatus) {
		now := time.Now().UTC()
		h.State = failState(err)
		h.Failures++
		h.TotalFailures++
		h.LastError = err.Error()
		h.LastErrorTime = now
		h.NextAttempt = now.Add(retry)
	})
}

// openMirror opens the mirror of a peer's list, creating it on first use
// with the keys the peer was registered with. A mirror pinned to other
// keys (the peer was re-registered) is started afresh.
func (s *Syncer) openMirror(dir string, p *peers.Peer, list string) (*mirror.Mirror, error) {
	if mirror.Exists(dir) {
		m, err := mirror.Open(dir)
		if err != nil {
			return nil, err
		}
		if err := m.CheckPins([]byte(p.ReleaseKeyPEM), p.LogKey); err == nil {
			return m, nil
		}
		m.Close()
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	// A new mirror starts from nothing: so does what was applied from it.
	if err := s.Hub.ResetPeerCursor(p.ID, list); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, err
	}
	if err := mirror.Init(dir, p.BaseURL, list, []byte(p.ReleaseKeyPEM), p.LogKey); err != nil {
		return nil, err
	}
	return mirror.Open(dir)
}

// pullFrom pulls m from src, each verified step imported by imp.
func (s *Syncer) pullFrom(ctx context.Context, m *mirror.Mirror, src mirror.Source, imp func(*mirror.AppliedStep) error, log *slog.Logger) (*mirror.Result, error) {
	m.Importer = imp
	return m.Pull(ctx, src, time.Now(), func(msg string) {
		// A snapshot loads in batches: a long catch-up says how far
		// it is (and where it resumes after a restart).
		if strings.Contains(msg, ": staged ") || strings.Contains(msg, ": resuming ") {
			log.Info("peer sync: " + msg)
		}
	})
}

// importer fetches the records of each verified step and imports the step
// into the node's store. With owed set (a step read from the peer's
// mirror), a step whose records cannot be fetched because the peer does
// not answer is kept in the mirror without being imported, and *owed is
// set; so is every later step while *owed holds. settleOwed imports them
// once the peer answers.
//
// ahead, if not nil, has the records of a snapshot step fetched while the
// mirror downloaded it; a step of other versions fetches its own.
func (s *Syncer) importer(ctx context.Context, cl *client.Client, p *peers.Peer, list string, owed *bool, ahead *aheadRecords) func(*mirror.AppliedStep) error {
	peer := p.ID
	return func(st *mirror.AppliedStep) error {
		if owed != nil && *owed {
			return nil
		}
		after := st.Version - 1
		if st.Snapshot {
			after = 0
		}
		recs, prep := ahead.take(after, st.Version)
		defer prep.Close()
		var err error
		if recs == nil {
			recs, err = s.fetchRecords(ctx, cl, p, list, after, st.Version)
		}
		if err != nil && owed != nil && unreachable(err) && ctx.Err() == nil {
			*owed = true
			return nil
		}
		if err != nil {
			return err
		}
		defer recs.close()
		res, err := s.Hub.ApplyPeerStep(&hub.PeerStep{Peer: peer, List: list, Version: st.Version, Snapshot: st.Snapshot,
			Changes: st.Changes, Range: st.Range, RangeRecords: recs.each, Prepared: prep,
			Progress: func(done, parts int) {
				// A snapshot step is written in parts: a long catch-up
				// says how far its import is.
				s.Log.Info(fmt.Sprintf("peer sync: %s/%s@%d: imported part %d of %d", peer, list, st.Version, done, parts))
			}})
		if err != nil {
			return err
		}
		k := loopKey{peer, list}
		s.setHealth(k, func(h *peers.SyncStatus) {
			h.Records += uint64(res.Records)
			h.UnknownOrigins += uint64(res.Unknown + recs.unknown)
			h.Applied = st.Version
			if st.Snapshot {
				h.Snapshots++
			}
		})
		if res.Applied && res.Created+res.Updated > 0 && s.OnApplied != nil {
			s.OnApplied()
		}
		return nil
	}
}

// Describe and Collect make the syncer a Prometheus collector of each
// (peer, list)'s sync state.
var (
	descUp = prometheus.NewDesc("hashhub_peer_sync_up",
		"1 when the last pull of a peer's list succeeded, 0 when it failed.", []string{"peer", "list"}, nil)
	descVersion = prometheus.NewDesc("hashhub_peer_sync_version",
		"The version of a peer's list applied here.", []string{"peer", "list"}, nil)
	descFailures = prometheus.NewDesc("hashhub_peer_sync_failures_total",
		"Failed pulls of a peer's list.", []string{"peer", "list"}, nil)
	descLastSuccess = prometheus.NewDesc("hashhub_peer_sync_last_success_timestamp_seconds",
		"When a pull of a peer's list last succeeded.", []string{"peer", "list"}, nil)
	descMirrorBehind = prometheus.NewDesc("hashhub_peer_sync_mirror_behind",
		"1 when the mirror a peer's list is read from was behind the peer's log at the last pull (the pull fell back to the peer), else 0.", []string{"peer", "list"}, nil)
	descMirrorFallbacks = prometheus.NewDesc("hashhub_peer_sync_mirror_fallbacks_total",
		"Pulls of a peer's list read from the peer because its mirror was behind, unreadable or refused.", []string{"peer", "list"}, nil)
)

// Describe implements prometheus.Collector.
func (s *Syncer) Describe(ch chan<- *prometheus.Desc) {
	ch <- descUp
	ch <- descVersion
	ch <- descFailures
	ch <- descLastSuccess
	ch <- descMirrorBehind
	ch <- descMirrorFallbacks
}

// Collect implements prometheus.Collector.
func (s *Syncer) Collect(ch chan<- prometheus.Metric) {
	for _, h := range s.Health("") {
		up := 0.0
		if h.State == peers.SyncOK {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, h.Peer, h.List)
		ch <- prometheus.MustNewConstMetric(descVersion, prometheus.GaugeValue, float64(h.Applied), h.Peer, h.List)
		ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(h.TotalFailures), h.Peer, h.List)
		if !h.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue, float64(h.LastSuccess.UnixNano())/1e9, h.Peer, h.List)
		}
		if m := h.Mirror; m != nil {
			behind := 0.0
			if m.Behind {
				behind = 1
			}
			ch <- prometheus.MustNewConstMetric(descMirrorBehind, prometheus.GaugeValue, behind, h.Peer, h.List)
			ch <- prometheus.MustNewConstMetric(descMirrorFallbacks, prometheus.CounterValue, float64(m.Fallbacks), h.Peer, h.List)
		}
	}
}
