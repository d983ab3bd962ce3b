// Package outbox runs a node's background deliveries from the durable
// outbox in its store: routing new reports, sending takedown notices,
// pushing reports to law enforcement, forwarding reports to peers,
// re-notices and the end of holds. A job leaves the outbox only in the
// same transaction that records its outcome, so a crash at any point
// means the job runs again (at-least-once); receivers deduplicate by the
// job's idempotency key. Failed attempts back off exponentially with
// jitter; after the last attempt a job becomes a dead letter.
package outbox

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashhub/hashhub/auth"
	"github.com/hashhub/hashhub/delivery"
	"github.com/hashhub/hashhub/hosting"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/reports"
	"github.com/hashhub/hashhub/store"
)

// Defaults, exported so flag help can show them.
const (
	DefaultBaseDelay   = 2 * time.Second
	DefaultMaxDelay    = time.Hour
	DefaultAttempts    = 16
	DefaultConcurrency = 8
	// PollInterval is the longest the worker sleeps without a kick.
	PollInterval = 5 * time.Second
	// DrainTimeout is how long deliveries in flight when the node stops
	// may go on; one still running then is cut off and retried after the
	// restart. Short, so that a node stops within docker stop's grace.
	DrainTimeout = 4 * time.Second
	// JobTimeout bounds one delivery attempt.
	JobTimeout = 30 * time.Second
)

// Backoff is the retry schedule.
type Backoff struct {
	Base     time.Duration
	Max      time.Duration
	Attempts int // attempts in all; the last failure makes a dead letter
}

// Delay is the wait after the attempt-th failure (0-based): Base·2^n
// capped at Max, with "equal jitter" (a random half) so that many
// failing jobs do not retry in step.
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Base
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return half + rand.N(half+1)
}

// Worker processes the outbox.
type Worker struct {
	Reports  *hub.Reports
	Locator  *hosting.Locator
	Poster   *delivery.Poster
	Mailer   *delivery.Mailer // nil: no SMTP relay configured
	Identity delivery.Identity
	// NodeKey signs client assertions to peers.
	NodeKey     ed25519.PrivateKey
	Backoff     Backoff
	Concurrency int
	Log         *slog.Logger
	HTTP        *http.Client
	// Observe, if set, is told of each finished attempt (metrics).
	Observe func(kind string, ok bool, d time.Duration)

	kick     chan struct{}
	mu       sync.Mutex
	inflight map[string]bool
}

// Kick wakes the worker (new work was scheduled).
func (w *Worker) Kick() {
	w.init()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *Worker) init() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.kick == nil {
		w.kick = make(chan struct{}, 1)
		w.inflight = map[string]bool{}
	}
	if w.Backoff.Base <= 0 {
		w.Backoff.Base = DefaultBaseDelay
	}
	if w.Backoff.Max <= 0 {
		w.Backoff.Max = DefaultMaxDelay
	}
	if w.Backoff.Attempts <= 0 {
		w.Backoff.Attempts = DefaultAttempts
	}
	if w.Concurrency <= 0 {
		w.Concurrency = DefaultConcurrency
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
	if w.HTTP == nil {
		w.HTTP = &http.Client{Timeout: delivery.DefaultWebhookTimeout}
	}
}

// Run processes due jobs until ctx ends, then waits for the deliveries in
// flight (up to DrainTimeout after ctx ends) so that few are cut off
// half-way.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	sem := make(chan struct{}, w.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		jobs, err := w.Reports.DueJobs(4 * w.Concurrency)
		if err != nil {
			w.Log.Error("outbox: read due jobs", slog.Any("err", err))
		}
		for _, j := range jobs {
			w.mu.Lock()
			busy := w.inflight[j.ID]
			if !busy {
				w.inflight[j.ID] = true
			}
			w.mu.Unlock()
			if busy {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				w.release(j.ID)
				return
			}
			wg.Add(1)
			go func(j store.Job) {
				defer wg.Done()
				defer func() { <-sem; w.release(j.ID); w.Kick() }()
				// The list was read before another worker goroutine may
				// have finished this job and released it: act only on a
				// job still scheduled, or it would be delivered twice.
				if !w.Reports.JobCurrent(&j) {
					return
				}
				// Deliveries go on when the node starts to stop, for
				// DrainTimeout at most.
				jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), JobTimeout)
				defer cancel()
				defer context.AfterFunc(ctx, func() { time.AfterFunc(DrainTimeout, cancel) })()
				w.process(jctx, &j)
			}(j)
		}
		wait := PollInterval
		if next, ok := w.Reports.NextDue(); ok {
			wait = min(wait, max(time.Until(next), time.Millisecond))
		}
		if len(jobs) > 0 {
			// Jobs are running (or more are due than were read): each
			// finishing job kicks the loop.
			wait = PollInterval
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

func (w *Worker) release(id string) {
	w.mu.Lock()
	delete(w.inflight, id)
	w.mu.Unlock()
}

// RunOnce processes every job due now and returns (tests, benchmarks).
func (w *Worker) RunOnce(ctx context.Context) error {
	w.init()
	jobs, err := w.Reports.DueJobs(1 << 20)
	if err != nil {
		return err
	}
	for i := range jobs {
		w.process(ctx, &jobs[i])
	}
	return nil
}

func (w *Worker) process(ctx context.Context, j *store.Job) {
	start := time.Now()
	err := w.attempt(ctx, j)
	if w.Observe != nil {
		w.Observe(j.Kind, err == nil, time.Since(start))
	}
	if err == nil {
		return
	}
	log := w.Log.With(slog.String("job", j.ID), slog.String("kind", j.Kind), slog.String("ref", j.Ref), slog.Int("attempt", j.Attempt+1))
	var ferr error
	if delivery.IsPermanent(err) || j.Attempt+1 >= w.Backoff.Attempts {
		log.Warn("outbox: job failed for good; dead letter", slog.Any("err", err))
		ferr = w.Reports.Bury(j, err)
	} else {
		next := time.Now().Add(w.Backoff.Delay(j.Attempt))
		log.Info("outbox: attempt failed; retrying", slog.Any("err", err), slog.Time("next", next))
		ferr = w.Reports.Retry(j, err, next)
	}
	if ferr != nil {
		log.Error("outbox: record failure", slog.Any("err", ferr))
	}
}

// attempt runs one job. A nil error means its outcome is recorded and the
// job is gone from the outbox.
func (w *Worker) attempt(ctx context.Context, j *store.Job) error {
	switch j.Kind {
	case hub.JobRoute:
		return w.route(ctx, j)
	case hub.JobNotice:
		return w.notice(ctx, j)
	case hub.JobPush:
		return w.push(ctx, j)
	case hub.JobForward:
		return w.forward(ctx, j)
	case hub.JobRenotice:
		return w.Reports.Renotice(j)
	case hub.JobHoldEnd:
		return w.Reports.HoldEnd(j)
	}
	return &delivery.Permanent{Err: fmt.Errorf("unknown job kind %q", j.Kind)}
}

func (w *Worker) route(ctx context.Context, j *store.Job) error {
	rep, err := w.Reports.Report(j.Ref)
	if err != nil {
		return err
	}
	if rep.Status != reports.Received {
		return w.Reports.Done(j)
	}
	providers, err := w.Reports.Providers()
	if err != nil {
		return err
	}
	res := make([]hub.Resolution, 0, len(rep.URLs))
	for _, u := range rep.URLs {
		loc := w.Locator.Locate(ctx, u, providers)
		res = append(res, hub.Resolution{URL: u, Host: reports.Host(u), Jurisdiction: loc.Jurisdiction,
			Provider: loc.Provider, AbuseEmail: loc.AbuseEmail, Evidence: loc.Evidence, Note: loc.Note})
	}
	if err := w.Reports.ApplyRoutes(rep.ID, res); err != nil {
		return err
	}
	return w.Reports.Done(j)
}

func (w *Worker) notice(ctx context.Context, j *store.Job) error {
	n, ok, err := w.Reports.NoticeForDelivery(j.Ref)
	if err != nil {
		return err
	}
	if !ok {
		// Held (the hold's end re-schedules it) or already final.
		return w.Reports.Done(j)
	}
	send := n.Sends + 1
	var errs []error
	delivered := false
	if n.WebhookURL != "" {
		body, err := delivery.NoticeBody(w.Identity, n, send)
		if err != nil {
			return &delivery.Permanent{Err: err}
		}
		if err := w.Poster.Post(ctx, n.WebhookURL, j.Key, body); err != nil {
			errs = append(errs, fmt.Errorf("webhook: %w", err))
		} else {
			delivered = true
		}
	}
	// Email is the channel when there is no webhook, and the second
	// channel of an escalated notice.
	if n.Email != "" && (n.WebhookURL == "" || n.Escalation >= 2) {
		switch {
		case w.Mailer == nil:
			errs = append(errs, &delivery.Permanent{Err: errors.New("email: no SMTP relay configured on this node")})
		default:
			if err := w.Mailer.Send(w.Identity, n, send, j.Key); err != nil {
				errs = append(errs, fmt.Errorf("email: %w", err))
			} else {
				delivered = true
			}
		}
	}
	if !delivered {
		if len(errs) == 0 {
			return &delivery.Permanent{Err: errors.New("the notice has no delivery channel")}
		}
		return errors.Join(errs...)
	}
	return w.Reports.Delivered(j)
}

func (w *Worker) push(ctx context.Context, j *store.Job) error {
	rc, err := w.Reports.Recipient(j.Target)
	if err != nil || rc.WebhookURL == "" {
		return w.Reports.Done(j) // push was turned off meanwhile
	}
	rep, err := w.Reports.Report(j.Ref)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{"type": "report", "report": rep})
	if err != nil {
		return &delivery.Permanent{Err: err}
	}
	if err := w.Poster.Post(ctx, rc.WebhookURL, j.Key, body); err != nil {
		return err
	}
	return w.Reports.Done(j)
}

// forward hands a report to the peer that takes its jurisdiction, through
// the peer's own POST /v1/reports, authenticated as this node by a JWT
// client assertion signed with the node key (RFC 7523).
func (w *Worker) forward(ctx context.Context, j *store.Job) error {
	p, err := w.Reports.Peer(j.Target)
	if err != nil {
		return &delivery.Permanent{Err: err}
	}
	rep, err := w.Reports.Report(j.Ref)
	if err != nil {
		return err
	}
	tok, err := w.peerToken(ctx, p.BaseURL, p.ID)
	if err != nil {
		return err
	}
	sub := reports.Submission{ID: rep.ID, URLs: rep.URLs, Hashes: rep.Hashes, Classification: rep.Classification,
		Detection: rep.Detection, Explanation: rep.Explanation, ReporterRef: rep.ReporterRef, Urgent: rep.Urgent,
		ObservedAt: rep.ObservedAt, HostingJurisdiction: rep.HostingJurisdiction, Hops: rep.Hops, HopLimit: rep.HopLimit,
		Reporter: &rep.Reporter}
	body, err := json.Marshal(sub)
	if err != nil {
		return &delivery.Permanent{Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.BaseURL+"/v1/reports", strings.NewReader(string(body)))
	if err != nil {
		return &delivery.Permanent{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Idempotency-Key", j.Key)
	resp, err := w.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch c := resp.StatusCode; {
	case c == http.StatusCreated || c == http.StatusOK:
		return w.Reports.Forwarded(j)
	case c == http.StatusTooManyRequests || c >= 500 || c == http.StatusUnauthorized:
		return fmt.Errorf("peer %s answered %d", p.ID, c)
	default:
		return &delivery.Permanent{Err: fmt.Errorf("peer %s refused the report: %d", p.ID, c)}
	}
}

func (w *Worker) peerToken(ctx context.Context, base, peerID string) (string, error) {
	a, err := auth.NewAssertion(w.NodeKey, w.Identity.NodeID, peerID, time.Now())
	if err != nil {
		return "", &delivery.Permanent{Err: err}
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {auth.AssertionType}, "client_assertion": {a}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", &delivery.Permanent{Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := w.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&tr) != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("peer token endpoint answered %d", resp.StatusCode)
	}
	return tr.AccessToken, nil
}

// PeerAssertion is the client assertion this node presents to a peer.
func (w *Worker) PeerAssertion(peerID string) (string, error) {
	return auth.NewAssertion(w.NodeKey, w.Identity.NodeID, peerID, time.Now())
}
