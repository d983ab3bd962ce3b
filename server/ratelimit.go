package server

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Rate is a token bucket: PerSecond requests a second on average and up
// to Burst at once. A zero PerSecond means no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// RateLimits are the node's request limits (hashhub serve --rate-*). A
// request over a limit gets 429 rate-limited with Retry-After.
type RateLimits struct {
	// TokenClient limits POST /v1/oauth/token per client id (a user's, or
	// a peer's node id): guessing one client's secret stays slow.
	TokenClient Rate
	// TokenAddr limits POST /v1/oauth/token per remote address, before the
	// body is read: guessing many clients' secrets from one host too.
	TokenAddr Rate
	// Org limits every authenticated API request per organisation.
	Org Rate
	// Lookup limits, per organisation, the requests that answer for one
	// hash (an entry, its history, a list's proof for it); they count
	// against Org as well. Tighter, so that a reader cannot walk a list's
	// membership (or the node's entries) by asking hash after hash.
	Lookup Rate
}

// DefaultRateLimits are hashhub serve's limits. A platform or peer pulls
// a release in a handful of requests and a token lasts 15 minutes, but
// each hashctl command fetches a token of its own, so the token limits
// leave room for a script of commands; all of them bound guessing and
// walking to a rate an operator can see and change.
var DefaultRateLimits = RateLimits{
	TokenClient: Rate{PerSecond: 5, Burst: 50},
	TokenAddr:   Rate{PerSecond: 20, Burst: 100},
	Org:         Rate{PerSecond: 50, Burst: 200},
	Lookup:      Rate{PerSecond: 10, Burst: 100},
}

// lookupRoutes answer for a single hash: they also count against Lookup.
var lookupRoutes = map[string]bool{
	"/v1/hashes/:algo/:value":         true,
	"/v1/hashes/:algo/:value/history": true,
	"/v1/lists/:name/proof":           true,
}

// pRateLimited is a request over one of the node's rate limits.
var pRateLimited = problemKind{"rate-limited", "Too many requests", http.StatusTooManyRequests}

// limitKinds are the problems of this file and bodydeadline.go.
var limitKinds = []problemKind{pBodyTimeout, pRateLimited}

// String gives the flag form, RATE:BURST ("0" for no limit).
func (r Rate) String() string {
	if r.PerSecond == 0 {
		return "0"
	}
	return strconv.FormatFloat(r.PerSecond, 'f', -1, 64) + ":" + strconv.Itoa(r.Burst)
}

// Set parses RATE:BURST (requests per second, e.g. "0.5:10"), or "0" or
// "off" for no limit; it makes *Rate a flag.Value.
func (r *Rate) Set(s string) error {
	if s == "0" || s == "off" {
		*r = Rate{}
		return nil
	}
	ps, bs, ok := strings.Cut(s, ":")
	per, err1 := strconv.ParseFloat(ps, 64)
	burst, err2 := strconv.Atoi(bs)
	if !ok || err1 != nil || err2 != nil || !(per > 0) || math.IsInf(per, 0) || burst < 1 {
		return fmt.Errorf("%q: want RATE:BURST, requests per second (> 0) and a burst (≥ 1), e.g. 5:30; or 0 for no limit", s)
	}
	*r = Rate{PerSecond: per, Burst: burst}
	return nil
}

// limiterSet is one limit kept per key (client id, address, organisation).
type limiterSet struct {
	rate    Rate
	mu      sync.Mutex
	m       map[string]*rate.Limiter
	sweepAt int
}

const minSweep = 4096

func newLimiterSet(r Rate) *limiterSet {
	if r.PerSecond <= 0 {
		return nil
	}
	return &limiterSet{rate: r, m: map[string]*rate.Limiter{}, sweepAt: minSweep}
}

// reserve takes a token for key, or says how long until one is free (and
// takes nothing).
func (l *limiterSet) reserve(key string, now time.Time) (*rate.Reservation, time.Duration) {
	if l == nil {
		return nil, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[key]
	if lim == nil {
		if len(l.m) >= l.sweepAt {
			l.sweep(now)
		}
		lim = rate.NewLimiter(rate.Limit(l.rate.PerSecond), l.rate.Burst)
		l.m[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return nil, d
	}
	return r, 0
}

// sweep forgets keys whose bucket is full again: such a limiter is the
// same as a new one, so nothing is lost, and a caller inventing client
// ids or addresses cannot grow the map without bound.
func (l *limiterSet) sweep(now time.Time) {
	for k, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.rate.Burst) {
			delete(l.m, k)
		}
	}
	l.sweepAt = max(minSweep, 2*len(l.m))
}

// rateLimiter holds the node's limits; they may be changed while the node
// serves (each change starts every bucket afresh).
type rateLimiter struct {
	sets    atomic.Pointer[limiterSets]
	limited *prometheus.CounterVec
}

type limiterSets struct {
	tokenClient, tokenAddr, org, lookup *limiterSet
}

func newRateLimiter(reg *prometheus.Registry) *rateLimiter {
	rl := &rateLimiter{limited: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hashhub_rate_limited_total", Help: "Requests refused with 429, by limit (token_client, token_addr, org, lookup).",
	}, []string{"limit"})}
	reg.MustRegister(rl.limited)
	rl.sets.Store(&limiterSets{})
	return rl
}

// SetRateLimits sets the node's request limits. A server starts with none
// (tests, tools); hashhub serve sets DefaultRateLimits or its flags.
func (s *Server) SetRateLimits(l RateLimits) {
	s.rates.sets.Store(&limiterSets{tokenClient: newLimiterSet(l.TokenClient), tokenAddr: newLimiterSet(l.TokenAddr),
		org: newLimiterSet(l.Org), lookup: newLimiterSet(l.Lookup)})
}

// tooMany answers 429 with Retry-After (whole seconds, at least 1).
func (s *Server) tooMany(c *gin.Context, limit, what string, wait time.Duration) {
	s.rates.limited.WithLabelValues(limit).Inc()
	secs := max(1, int(math.Ceil(wait.Seconds())))
	c.Header("Retry-After", strconv.Itoa(secs))
	writeProblem(c, pRateLimited.with(fmt.Sprintf("%s: retry in %d s", what, secs)))
}

// limitTokenAddr applies the token endpoint's per-address limit; false
// means the request was answered 429.
func (s *Server) limitTokenAddr(c *gin.Context) bool {
	if _, wait := s.rates.sets.Load().tokenAddr.reserve(c.RemoteIP(), time.Now()); wait > 0 {
		s.tooMany(c, "token_addr", "too many token requests from this address", wait)
		return false
	}
	return true
}

// limitTokenClient applies the token endpoint's per-client limit.
func (s *Server) limitTokenClient(c *gin.Context, clientID string) bool {
	if _, wait := s.rates.sets.Load().tokenClient.reserve(clientID, time.Now()); wait > 0 {
		s.tooMany(c, "token_client", "too many token requests for this client", wait)
		return false
	}
	return true
}

// limitOrg applies the per-organisation limits to an authenticated
// request; a single-hash lookup must pass both Lookup and Org.
func (s *Server) limitOrg(c *gin.Context) {
	org, now, sets := actor(c).Org, time.Now(), s.rates.sets.Load()
	var lookup *rate.Reservation
	if lookupRoutes[c.FullPath()] {
		var wait time.Duration
		if lookup, wait = sets.lookup.reserve(org, now); wait > 0 {
			s.tooMany(c, "lookup", "too many single-hash lookups by this organisation", wait)
			return
		}
	}
	if _, wait := sets.org.reserve(org, now); wait > 0 {
		if lookup != nil {
			lookup.CancelAt(now)
		}
		s.tooMany(c, "org", "too many requests by this organisation", wait)
		return
	}
	c.Next()
}
