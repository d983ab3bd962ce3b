package main

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/match"
	"github.com/hashhub/hashhub/mirror"
	"github.com/hashhub/hashhub/witness"
)

// Limits of hashctl match serve's request bodies: a batch of hash lines
// is a platform's queue drained in pieces, not a whole list.
const (
	maxBatchBody  = 1 << 20
	maxBatchLines = 10000
	maxImageBody  = 32 << 20
)

// Problem types of hashctl match serve, stable for clients to branch on.
const (
	probBadQuery     = "urn:hashhub:problem:invalid-input"
	probTooLarge     = "urn:hashhub:problem:body-too-large"
	probExpired      = "urn:hashhub:problem:mirror-expired"
	probUnauthorized = "urn:hashhub:problem:unauthorized"
)

// matchIndex is what hashctl match serve answers from: one index built
// from the mirrors, and when the earliest of their manifests expires.
type matchIndex struct {
	ix      *match.Index
	expires time.Time
	states  []*mirror.State
}

// matchService answers lookups over HTTP. A pulled delta is applied to
// the live index in place, under the index's write lock, so a lookup sees
// the index before the delta or after it, never half of it; the mirror
// states beside the index are swapped through an atomic pointer. Only a
// snapshot catch-up, which replaces a mirror's contents, rebuilds the
// index, aside, and swaps the new one in whole.
type matchService struct {
	cur          atomic.Pointer[matchIndex]
	allowExpired bool
	// For re-pulls: the mirrors, their categories and the witness policy.
	dirs     []string
	category map[string]string
	policy   *witness.Policy
	// refreshing keeps one re-pull at a time.
	refreshing sync.Mutex
	// stale says the live index may not hold what the mirrors hold (a
	// snapshot replaced a mirror's contents, or the index took a step
	// the mirror did not commit): the next refresh rebuilds it. Guarded
	// by refreshing.
	stale bool
	// token, when set, is the bearer token requests must carry.
	token   string
	metrics *serveMetrics
}

// serveMetrics are hashctl match serve's Prometheus metrics, in a
// registry of their own (nothing process-wide).
type serveMetrics struct {
	reg     *prometheus.Registry
	lookups *prometheus.CounterVec
	matches prometheus.Counter
	// updates counts pulled versions applied to the live index in place,
	// pause how long each held the index's write lock (lookups wait for
	// it), rebuilds the whole-index rebuilds.
	updates  prometheus.Counter
	pause    prometheus.Histogram
	rebuilds prometheus.Counter
}

func newServeMetrics(s *matchService) *serveMetrics {
	m := &serveMetrics{reg: prometheus.NewRegistry()}
	m.lookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hashctl_match_lookups_total", Help: "Hashes looked up, by endpoint.",
	}, []string{"endpoint"})
	m.matches = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hashctl_match_matches_total", Help: "Matches answered.",
	})
	m.updates = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hashctl_match_index_updates_total", Help: "Pulled versions applied to the live index in place.",
	})
	m.pause = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "hashctl_match_index_update_seconds", Help: "How long each in-place update held the index's write lock; lookups wait for it.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9),
	})
	m.rebuilds = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hashctl_match_index_rebuilds_total", Help: "Whole-index rebuilds from the mirrors (after a snapshot catch-up replaced a mirror's contents).",
	})
	m.reg.MustRegister(m.lookups, m.matches, m.updates, m.pause, m.rebuilds, indexCollector{s})
	return m
}

// indexCollector reports the current index's size and each mirror's
// version and age, read when scraped.
type indexCollector struct{ s *matchService }

var (
	descEntries = prometheus.NewDesc("hashctl_match_index_entries", "Entries in the index answering lookups.", nil, nil)
	descVersion = prometheus.NewDesc("hashctl_match_mirror_version", "The version of each mirror the index answers from.", []string{"list"}, nil)
	descAge     = prometheus.NewDesc("hashctl_match_mirror_age_seconds", "Seconds since the manifest of each mirror's version was created.", []string{"list"}, nil)
	descExpires = prometheus.NewDesc("hashctl_match_mirror_expires_seconds", "Seconds until each mirror's manifest expires (negative: expired).", []string{"list"}, nil)
)

func (c indexCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descEntries
	ch <- descVersion
	ch <- descAge
	ch <- descExpires
}

func (c indexCollector) Collect(ch chan<- prometheus.Metric) {
	mi := c.s.cur.Load()
	now := clock()
	ch <- prometheus.MustNewConstMetric(descEntries, prometheus.GaugeValue, float64(mi.ix.Len()))
	for _, st := range mi.states {
		ch <- prometheus.MustNewConstMetric(descVersion, prometheus.GaugeValue, float64(st.Version), st.List)
		if t, err := time.Parse(time.RFC3339, st.Created); err == nil {
			ch <- prometheus.MustNewConstMetric(descAge, prometheus.GaugeValue, now.Sub(t).Seconds(), st.List)
		}
		ch <- prometheus.MustNewConstMetric(descExpires, prometheus.GaugeValue, st.ExpiresTime().Sub(now).Seconds(), st.List)
	}
}

// refresh re-pulls every mirror, verifying each step as hashctl pull
// does. Each verified delta is applied to the live index as the mirror
// takes it, so a new entry matches, and a removed one stops matching,
// with the pull that brings it; no rebuild. When a snapshot replaced a
// mirror's contents (a catch-up past the node's delta retention), the
// index is rebuilt from the mirrors aside and swapped in whole: lookups
// meanwhile answer from the old one. A failed pull keeps the index as
// it was (its expiry then decides when lookups answer 503).
func (s *matchService) refresh(e *env, cl *client.Client) error {
	s.refreshing.Lock()
	defer s.refreshing.Unlock()
	old := s.cur.Load()
	var errs []error
	for _, dir := range s.dirs {
		if err := s.pull(e, cl, old.ix, dir); err != nil {
			errs = append(errs, err)
		}
	}
	states := make([]*mirror.State, len(s.dirs))
	changed := s.stale
	for i, dir := range s.dirs {
		st, err := peekState(dir)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		states[i] = st
		if st.Version != old.states[i].Version || st.Expires != old.states[i].Expires {
			changed = true
		}
	}
	switch {
	case !changed:
	case s.stale:
		// An expired mirror is loaded (with a warning): lookups answer
		// 503 for it unless --allow-expired, as before the pull.
		mi, err := e.loadMatchIndex(s.dirs, s.category, true)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		s.stale = false
		s.metrics.rebuilds.Inc()
		s.cur.Store(mi)
	default:
		// The index is the one updated in place; its versions and expiry
		// are the mirrors' now.
		s.cur.Store(newMatchIndex(old.ix, states))
	}
	return errors.Join(errs...)
}

// pull re-pulls the mirror in dir, applying each verified delta to ix
// inside the mirror's step (Index.Apply: one write lock per delta). A
// snapshot step, or a delta the index could not take, marks the index
// stale instead: the mirror is the truth, and the index is rebuilt from it.
func (s *matchService) pull(e *env, cl *client.Client, ix *match.Index, dir string) error {
	m, err := mirror.Open(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	defer m.Close()
	m.WitnessPolicy = s.policy
	var applied uint64
	m.Importer = func(step *mirror.AppliedStep) error {
		if step.Snapshot || s.stale {
			s.stale = true
			return nil
		}
		start := time.Now()
		err := ix.Apply(step.List, step.Version, step.Changes)
		s.metrics.pause.Observe(time.Since(start).Seconds())
		if err != nil {
			fmt.Fprintf(e.stderr, "hashctl match serve: %s version %d: %v (rebuilding the index from the mirror)\n", step.List, step.Version, err)
			s.stale = true
			return nil
		}
		s.metrics.updates.Inc()
		applied = step.Version
		return nil
	}
	_, perr := m.Pull(e.ctx, cl, clock(), nil)
	if applied != 0 {
		// A step the index took but the mirror then failed to commit.
		if st, err := m.State(); err != nil || st.Version != applied {
			s.stale = true
		}
	}
	if perr != nil {
		return fmt.Errorf("pull %s: %w", dir, perr)
	}
	return nil
}

// cmdMatchServe serves hashctl match's lookups over HTTP, for a platform
// whose upload pipeline asks per picture. It listens on loopback unless
// told otherwise: the answers reveal what the lists hold.
func cmdMatchServe(e *env, args []string) error {
	fs := e.flags()
	var dirs, cats multiFlag
	fs.Var(&dirs, "dir", "`DIR` of a mirror written by hashctl pull (repeatable)")
	fs.Var(&cats, "category", "`LIST=CATEGORY`: the category to report for that list's matches (repeatable)")
	addr := fs.String("addr", "127.0.0.1:8090", "`HOST:PORT` to listen on (loopback by default: answers reveal what the lists hold)")
	allowExpired := fs.Bool("allow-expired", false, "keep answering from a mirror past its manifest's expiry (by default lookups then answer 503)")
	interval := fs.Duration("pull-interval", 0, "re-pull every mirror this often (`DURATION`, e.g. 1m; with hashctl pull's credentials) and apply what each pull brings to the live index; 0 never pulls")
	tokenFile := fs.String("token-file", "", "`FILE` holding a bearer token every request but /healthz must carry (Authorization: Bearer TOKEN)")
	policyFile := fs.String("witness-policy", "", "JSON `FILE` of the witness policy each re-pull's checkpoints must meet, as hashctl pull --witness-policy")
	e.g.register(fs)
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		e.cmdUsage(e.stdout, fs)
		return errHelp
	}
	if err != nil {
		return e.usagef("%v", err)
	}
	if len(pos) > 0 {
		return e.usagef("unexpected argument %q", pos[0])
	}
	if len(dirs) == 0 {
		return e.usagef("missing --dir")
	}
	category := map[string]string{}
	for _, c := range cats {
		l, v, ok := strings.Cut(c, "=")
		if !ok || l == "" {
			return e.usagef("--category %q: use LIST=CATEGORY", c)
		}
		category[l] = v
	}
	if *interval < 0 {
		return e.usagef("--pull-interval %s: use a positive duration, or 0 to never pull", *interval)
	}
	var policy *witness.Policy
	if *policyFile != "" {
		raw, err := os.ReadFile(*policyFile)
		if err != nil {
			return e.usagef("--witness-policy: %v", err)
		}
		if policy, err = witness.ParsePolicy(raw); err != nil {
			return e.usagef("--witness-policy %s: %v", *policyFile, err)
		}
	}
	var cl *client.Client
	if *interval > 0 {
		var err error
		if cl, err = e.client(); err != nil {
			return err
		}
	}
	mi, err := e.loadMatchIndex(dirs, category, *allowExpired)
	if err != nil {
		return err
	}
	s := &matchService{allowExpired: *allowExpired, dirs: dirs, category: category, policy: policy}
	if *tokenFile != "" {
		raw, err := os.ReadFile(*tokenFile)
		if err != nil {
			return e.usagef("--token-file: %v", err)
		}
		if s.token = strings.TrimSpace(string(raw)); s.token == "" {
			return e.usagef("--token-file %s is empty", *tokenFile)
		}
	}
	s.cur.Store(mi)
	h := s.handler() // before the first refresh: it counts into the metrics
	if cl != nil {
		go func() {
			t := time.NewTicker(*interval)
			defer t.Stop()
			for {
				select {
				case <-e.ctx.Done():
					return
				case <-t.C:
					if err := s.refresh(e, cl); err != nil {
						fmt.Fprintf(e.stderr, "hashctl match serve: %v (still answering from the index loaded before)\n", err)
					}
				}
			}
		}()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return e.usagef("--addr %s: %v", *addr, err)
	}
	fmt.Fprintf(e.stderr, "hashctl match serve: listening on http://%s (%d entries)\n", ln.Addr(), mi.ix.Len())
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() && s.token == "" {
		fmt.Fprintf(e.stderr, "hashctl match serve: warning: %s is not loopback and there is no --token-file: anyone who reaches it learns what the lists hold\n", ln.Addr())
	}
	// Bounded reads: a slow client cannot hold a connection open forever.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	go func() {
		<-e.ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loadMatchIndex loads the mirrors as hashctl match does and records
// their states (version, expiry) beside the index.
func (e *env) loadMatchIndex(dirs []string, category map[string]string, allowExpired bool) (*matchIndex, error) {
	ix, err := e.loadMirrors(dirs, category, allowExpired)
	if err != nil {
		return nil, err
	}
	var states []*mirror.State
	for _, d := range dirs {
		st, err := peekState(d)
		if err != nil {
			return nil, err
		}
		states = append(states, st)
	}
	return newMatchIndex(ix, states), nil
}

// newMatchIndex pairs an index with the states of the mirrors it holds;
// lookups answer 503 from the earliest expiry among them.
func newMatchIndex(ix *match.Index, states []*mirror.State) *matchIndex {
	mi := &matchIndex{ix: ix, states: states}
	for _, st := range states {
		if t := st.ExpiresTime(); mi.expires.IsZero() || t.Before(mi.expires) {
			mi.expires = t
		}
	}
	return mi
}

func (s *matchService) handler() http.Handler {
	if s.metrics == nil {
		s.metrics = newServeMetrics(s)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.auth(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})))
	mux.Handle("GET /m/lookup", s.auth(http.HandlerFunc(s.lookupHMA)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /v1/lookup", s.auth(http.HandlerFunc(s.lookupGet)))
	mux.Handle("POST /v1/lookup", s.auth(http.HandlerFunc(s.lookupBatch)))
	mux.Handle("POST /v1/lookup/image", s.auth(http.HandlerFunc(s.lookupImage)))
	return mux
}

// auth refuses a request without the bearer token, when there is one.
func (s *matchService) auth(h http.Handler) http.Handler {
	if s.token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			problem(w, http.StatusUnauthorized, probUnauthorized, "unauthorized", "this service wants Authorization: Bearer TOKEN (the one in its --token-file)")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// hmaMatch is one match as Hasher-Matcher-Actioner's GET /m/lookup
// answers it, per bank (here: list). HMA's bank_content_id is the integer
// id of a row in its bank; an entry here has no such id, and its key
// (algo:value) is what a reviewer can act on, so it is that string.
// The distance is a string in HMA too.
type hmaMatch struct {
	BankContentID string `json:"bank_content_id"`
	Distance      string `json:"distance"`
}

// lookupHMA answers GET /m/lookup?signal_type=pdq&signal=HEX in the shape
// of Hasher-Matcher-Actioner's (OpenMediaMatch) lookup with a signal type
// given, so a platform's HMA client can point at this service:
// {BANK: [{bank_content_id, distance}]}, {} for no match. banks=A,B
// keeps those lists' matches only, as HMA's does; seed and
// bypass_coinflip are accepted and change nothing (there is no partial
// enabling of a list to flip a coin for). Errors are problem documents
// that also carry HMA's "message" member. docs/matching.md says what
// differs from HMA and why.
func (s *matchService) lookupHMA(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bad := func(status int, typ, title, detail string) {
		problemExt(w, status, typ, title, detail, map[string]any{"message": detail})
	}
	if q.Get("url") != "" {
		bad(http.StatusBadRequest, probBadQuery, "bad query", "this service fetches no URLs: POST the picture to /v1/lookup/image, or hash it and give signal_type and signal")
		return
	}
	algo, signal := q.Get("signal_type"), q.Get("signal")
	if algo == "" || signal == "" {
		bad(http.StatusBadRequest, probBadQuery, "bad query", "signal and signal_type are required")
		return
	}
	if algo == "video_md5" {
		algo = "md5"
	}
	var banks map[string]bool
	if v := q.Get("banks"); v != "" {
		banks = map[string]bool{}
		for _, b := range strings.Split(v, ",") {
			banks[strings.TrimSpace(b)] = true
		}
	}
	mi := s.cur.Load()
	if s.expired(mi) {
		bad(http.StatusServiceUnavailable, probExpired, "mirror expired", expiredDetail(mi))
		return
	}
	var ans lookupAnswer
	if err := s.add(&ans, mi.ix, match.Query{Algo: algo, Value: signal}, "", "hma"); err != nil {
		bad(http.StatusBadRequest, probBadQuery, "bad query", err.Error())
		return
	}
	out := map[string][]hmaMatch{}
	for _, m := range ans.Matches {
		if banks == nil || banks[m.List] {
			out[m.List] = append(out[m.List], hmaMatch{BankContentID: m.Key, Distance: strconv.Itoa(m.Distance)})
		}
	}
	serveJSON(w, out)
}

// lookupAnswer is a lookup's answer: the matches, in hashctl match's
// line shape, and how many PDQ queries were not matched for their low
// quality (low_quality=true matches them).
type lookupAnswer struct {
	Matches           []matchLine `json:"matches"`
	SkippedLowQuality int         `json:"skipped_low_quality,omitempty"`
	// NoPDQ says why an image body got no PDQ hash (not a picture, too
	// many pixels): its cryptographic hashes were still matched.
	NoPDQ string `json:"no_pdq,omitempty"`
}

// index returns the current index, or writes a 503 problem when a
// mirror is past its manifest's expiry: its list may have been frozen
// by someone keeping retractions from reaching it.
func (s *matchService) index(w http.ResponseWriter) *matchIndex {
	mi := s.cur.Load()
	if s.expired(mi) {
		problem(w, http.StatusServiceUnavailable, probExpired, "mirror expired", expiredDetail(mi))
		return nil
	}
	return mi
}

// expired says whether lookups must be refused: a mirror is past its
// manifest's expiry and --allow-expired was not given.
func (s *matchService) expired(mi *matchIndex) bool {
	return !s.allowExpired && !clock().Before(mi.expires)
}

func expiredDetail(mi *matchIndex) string {
	return fmt.Sprintf("a mirror expired at %s and has not been pulled since", mi.expires.UTC().Format(time.RFC3339))
}

// lookupOpts reads the options every lookup takes from the query string.
func lookupOpts(q url.Values) (maxDist *int, low bool, err error) {
	if v := q.Get("max_distance"); v != "" {
		d, err := strconv.Atoi(v)
		if err != nil || d < 0 || d > match.MaxDistance {
			return nil, false, fmt.Errorf("max_distance %q: use 0 to %d", v, match.MaxDistance)
		}
		maxDist = &d
	}
	if v := q.Get("low_quality"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, false, fmt.Errorf("low_quality %q: use true or false", v)
		}
		low = b
	}
	return maxDist, low, nil
}

func (s *matchService) lookupGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query() // parsed once: it is a tenth of an exact lookup's cost
	maxDist, low, err := lookupOpts(q)
	if err != nil {
		problem(w, http.StatusBadRequest, probBadQuery, "bad query", err.Error())
		return
	}
	var quality *int
	if v := q.Get("quality"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			problem(w, http.StatusBadRequest, probBadQuery, "bad query", fmt.Sprintf("quality %q: not a number", v))
			return
		}
		quality = &n
	}
	mi := s.index(w)
	if mi == nil {
		return
	}
	var ans lookupAnswer
	if err := s.add(&ans, mi.ix, match.Query{Algo: q.Get("algo"), Value: q.Get("value"), Quality: quality, MaxDistance: maxDist, LowQuality: low}, "", "get"); err != nil {
		problem(w, http.StatusBadRequest, probBadQuery, "bad query", err.Error())
		return
	}
	serveJSON(w, ans)
}

// lookupBatch matches a body of hash lines (NDJSON, as hashctl hash
// writes them). One bad line refuses the whole batch, naming the line:
// a partial answer would read as "no match" for the rest.
func (s *matchService) lookupBatch(w http.ResponseWriter, r *http.Request) {
	maxDist, low, err := lookupOpts(r.URL.Query())
	if err != nil {
		problem(w, http.StatusBadRequest, probBadQuery, "bad query", err.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBatchBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		problem(w, http.StatusRequestEntityTooLarge, probTooLarge, "body too large", fmt.Sprintf("a batch is at most %d bytes", maxBatchBody))
		return
	}
	if err != nil {
		problem(w, http.StatusBadRequest, probBadQuery, "bad body", err.Error())
		return
	}
	var qs []match.Query
	var files []string
	rd := ingest.NewNDJSON(bytes.NewReader(body), 0)
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			problem(w, http.StatusBadRequest, probBadQuery, "bad hash line", err.Error())
			return
		}
		q := match.Query{Algo: rec.Algo, Value: rec.Value, Quality: rec.Quality, MaxDistance: maxDist, LowQuality: low}
		if err := match.ParseQuery(q); err != nil {
			problem(w, http.StatusBadRequest, probBadQuery, "bad hash line", fmt.Sprintf("line %d: %v", rec.Line, err))
			return
		}
		if len(qs) == maxBatchLines {
			problem(w, http.StatusRequestEntityTooLarge, probTooLarge, "too many lines", fmt.Sprintf("a batch is at most %d lines", maxBatchLines))
			return
		}
		qs = append(qs, q)
		files = append(files, rec.File)
	}
	mi := s.index(w)
	if mi == nil {
		return
	}
	ans := lookupAnswer{Matches: []matchLine{}}
	for i, q := range qs {
		if err := s.add(&ans, mi.ix, q, files[i], "batch"); err != nil {
			problem(w, http.StatusBadRequest, probBadQuery, "bad hash line", err.Error())
			return
		}
	}
	serveJSON(w, ans)
}

// lookupImage hashes the body in memory (PDQ, md5, sha1, sha256, as
// hashctl hash does; the pixel limit applies) and matches its hashes.
// The body is never written to disk. A body that is not a picture is
// matched by its cryptographic hashes only, and no_pdq says why.
func (s *matchService) lookupImage(w http.ResponseWriter, r *http.Request) {
	maxDist, low, err := lookupOpts(r.URL.Query())
	if err != nil {
		problem(w, http.StatusBadRequest, probBadQuery, "bad query", err.Error())
		return
	}
	mi := s.index(w)
	if mi == nil {
		return
	}
	want := map[string]bool{}
	for _, a := range hashAlgos {
		want[a] = true
	}
	lines, note, err := hashReader(http.MaxBytesReader(w, r.Body, maxImageBody), "", want)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		problem(w, http.StatusRequestEntityTooLarge, probTooLarge, "body too large", fmt.Sprintf("an image is at most %d bytes", maxImageBody))
		return
	}
	if err != nil {
		problem(w, http.StatusBadRequest, probBadQuery, "bad body", err.Error())
		return
	}
	ans := lookupAnswer{Matches: []matchLine{}, NoPDQ: note}
	for _, l := range lines {
		if err := s.add(&ans, mi.ix, match.Query{Algo: l.Algo, Value: l.Value, Quality: l.Quality, MaxDistance: maxDist, LowQuality: low}, "", "image"); err != nil {
			problem(w, http.StatusBadRequest, probBadQuery, "bad query", err.Error())
			return
		}
	}
	serveJSON(w, ans)
}

// add looks q up, appends its matches and counts both.
func (s *matchService) add(a *lookupAnswer, ix *match.Index, q match.Query, file, endpoint string) error {
	n := len(a.Matches)
	err := a.add(ix, q, file)
	if err == nil {
		s.metrics.lookups.WithLabelValues(endpoint).Inc()
		s.metrics.matches.Add(float64(len(a.Matches) - n))
	}
	return err
}

// add looks q up and appends its matches.
func (a *lookupAnswer) add(ix *match.Index, q match.Query, file string) error {
	if a.Matches == nil {
		a.Matches = []matchLine{}
	}
	res, err := ix.Lookup(q)
	if err != nil {
		return err
	}
	if res.SkippedLowQuality {
		a.SkippedLowQuality++
	}
	for _, m := range res.Matches {
		a.Matches = append(a.Matches, matchLine{Algo: q.Algo, Value: q.Value, File: file, List: m.List, Key: m.Key(),
			Distance: m.Distance, Category: m.Category, Severity: m.Severity, Version: m.Version})
	}
	return nil
}

func serveJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// problem writes an RFC 9457 problem document.
func problem(w http.ResponseWriter, status int, typ, title, detail string) {
	problemExt(w, status, typ, title, detail, nil)
}

// problemExt writes a problem document with extension members.
func problemExt(w http.ResponseWriter, status int, typ, title, detail string, ext map[string]any) {
	doc := map[string]any{"type": typ, "title": title, "status": status, "detail": detail}
	for k, v := range ext {
		doc[k] = v
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(doc)
}
