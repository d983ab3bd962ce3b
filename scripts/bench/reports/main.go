// Command reports measures a node's report intake and notice delivery
// (README "Reports, the police inbox and takedown notices";
// docs/PERFORMANCE.md "Reports and notices"):
//
//  1. intake: N reports POSTed over HTTP by C concurrent clients to a real
//     node (bbolt file, fsync per commit); each answer is a durable
//     acknowledgement. Then the outbox routes them all (registered range,
//     static host table) and the time to route is reported;
//
//  2. delivery: the outbox sends the N notices to a local webhook receiver
//     that verifies each signature;
//
//  3. outage: M more notices while the receiver answers 503 for -down; then
//     it comes back: all delivered, none processed twice, time to drain.
//
//     go run ./scripts/bench/reports [-n 10000] [-c 8] [-m 1000] [-down 60s]
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashhub/hashhub/delivery"
	"github.com/hashhub/hashhub/hosting"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/outbox"
	"github.com/hashhub/hashhub/reports"
)

type receiver struct {
	pub        ed25519.PublicKey
	down       atomic.Bool
	mu         sync.Mutex
	calls      int
	refused    int
	seen       map[string]int
	lastFirst  time.Time
	badSig     int
	processing atomic.Int64
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := delivery.Verify(rc.pub, r.Header, body, time.Now(), delivery.DefaultMaxSkew); err != nil {
		rc.mu.Lock()
		rc.badSig++
		rc.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	if rc.down.Load() {
		rc.refused++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	k := r.Header.Get(delivery.HeaderIdempotency)
	rc.seen[k]++
	if rc.seen[k] == 1 {
		rc.lastFirst = time.Now()
	}
	w.WriteHeader(http.StatusAccepted)
}

func (rc *receiver) counts() (calls, unique, dup int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, n := range rc.seen {
		if n > 1 {
			dup += n - 1
		}
	}
	return rc.calls, len(rc.seen), dup
}

func main() {
	n := flag.Int("n", 10000, "reports for intake and delivery")
	conc := flag.Int("c", 8, "concurrent HTTP clients")
	m := flag.Int("m", 1000, "notices during the receiver outage")
	down := flag.Duration("down", 60*time.Second, "how long the receiver is down")
	flag.Parse()

	dir, err := os.MkdirTemp("", "hashhub-bench-reports")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	creds, err := node.Init(dir, "bench-nl", "NL")
	if err != nil {
		log.Fatal(err)
	}
	nd, err := node.Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		log.Fatal(err)
	}
	defer nd.Close()
	srv := httptest.NewServer(nd.Server)
	defer srv.Close()
	c := &api{base: srv.URL}
	admin := c.token(creds.ClientID, creds.ClientSecret)
	hot := c.member(admin, "Bench Hotline", "hotline", "NL")
	c.member(admin, "Bench Police", "law_enforcement", "NL")
	provOrg := c.org(admin, "Bench Hoster", "hosting_provider", "NL")
	rc := &receiver{pub: nd.Keys.Token.Public().(ed25519.PublicKey), seen: map[string]int{}}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	c.do("POST", "/v1/providers", admin, map[string]any{"org": provOrg, "ranges": []string{"192.0.2.0/24"}, "webhook_url": hook.URL}, 201, nil)

	w := nd.Outbox
	w.Locator = &hosting.Locator{Resolver: hosting.Static{"files.bench-hoster.example": {"192.0.2.80"}}}
	w.Backoff = outbox.Backoff{Base: time.Second, Max: 10 * time.Second, Attempts: 1000}

	fmt.Printf("== intake: %d reports, %d clients, over HTTP\n", *n, *conc)
	submit(c, hot, *n, *conc, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	start := time.Now()
	go func() { w.Run(ctx); close(done) }()
	waitFor(func() bool { _, u, _ := rc.counts(); return u >= *n }, 10*time.Minute)
	fmt.Printf("== routing + delivery: %d notices delivered to a local webhook in %v (%.0f/s), signature checked by the receiver\n",
		*n, time.Since(start).Round(time.Millisecond), float64(*n)/time.Since(start).Seconds())

	fmt.Printf("== outage: %d notices while the receiver answers 503 for %v\n", *m, *down)
	rc.down.Store(true)
	t0 := time.Now()
	submit(c, hot, *m, *conc, *n)
	time.Sleep(time.Until(t0.Add(*down)))
	calls0, _, _ := rc.counts()
	rc.down.Store(false)
	back := time.Now()
	waitFor(func() bool { _, u, _ := rc.counts(); return u >= *n+*m }, 10*time.Minute)
	calls, unique, dup := rc.counts()
	rc.mu.Lock()
	drained := rc.lastFirst.Sub(back)
	refused := rc.refused
	rc.mu.Unlock()
	fmt.Printf("receiver back after %v down: all %d delivered; last first-delivery %v after it came back; %d attempts refused while down; %d calls in all, %d duplicates processed, %d bad signatures\n",
		back.Sub(t0).Round(time.Millisecond), unique-*n, drained.Round(time.Millisecond), refused, calls, dup, rc.badSig)
	_ = calls0
	cancel()
	<-done
	pending, dead, _ := nd.Reports.Outbox()
	fmt.Printf("outbox after: %d pending (each sent notice keeps its re-notice check, due in 24 h), %d dead letters\n", pending, len(dead))
}

func waitFor(cond func() bool, max time.Duration) {
	deadline := time.Now().Add(max)
	for !cond() {
		if time.Now().After(deadline) {
			log.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// submit POSTs n reports with conc clients and prints throughput and
// latency percentiles.
func submit(c *api, tok string, n, conc, offset int) {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				body := reports.Submission{URLs: []string{fmt.Sprintf("https://files.bench-hoster.example/f/%d.jpg", offset+i)},
					Classification: reports.Classification{Category: "baseline", Severity: "A"}, Detection: "hash_match",
					Explanation: "Known hash match confirmed by an analyst.", ReporterRef: fmt.Sprintf("B-%d", offset+i),
					ObservedAt: time.Now().Add(-time.Minute), Hashes: []reports.HashRef{{Algo: "md5", Value: "00112233445566778899aabbccddeeff"}}}
				t := time.Now()
				c.do("POST", "/v1/reports", tok, body, 201, nil)
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	fmt.Printf("%d reports acknowledged in %v: %.0f reports/s; latency p50 %v, p99 %v, max %v\n", n, el.Round(time.Millisecond),
		float64(n)/el.Seconds(), s[n/2].Round(time.Microsecond), s[n*99/100].Round(time.Microsecond), s[n-1].Round(time.Microsecond))
}

type api struct{ base string }

var hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func (a *api) do(method, path, tok string, body any, want int, out any) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		log.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		json.Unmarshal(b, out)
	}
}

func (a *api) token(id, secret string) string {
	resp, err := hc.PostForm(a.base+"/v1/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tr)
	return tr.AccessToken
}

func (a *api) org(admin, name, kind, jur string) string {
	var o struct {
		ID string `json:"id"`
	}
	a.do("POST", "/v1/orgs", admin, map[string]string{"name": name, "kind": kind, "jurisdiction": jur}, 201, &o)
	return o.ID
}

func (a *api) member(admin, name, kind, jur string) string {
	id := a.org(admin, name, kind, jur)
	var u struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	a.do("POST", "/v1/orgs/"+id+"/users", admin, map[string]string{"name": "bench"}, 201, &u)
	return a.token(u.ClientID, u.ClientSecret)
}
