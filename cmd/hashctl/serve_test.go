package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/match"
)

// serveFixture is a real node's list, released and pulled into a mirror,
// served by hashctl match serve's handler on a real listener.
type serveFixture struct {
	rn       *relNode
	dir      string
	pdq, sha string
	near     string
	srv      *httptest.Server
	svc      *matchService
	pic      string
	e        *env
}

func startServe(t *testing.T) *serveFixture {
	t.Helper()
	rn := startRelNode(t, nil, nil)
	pic := filepath.Join("..", "..", "pdq", "testdata", "images", "bridge-1-original.jpg")
	f := &serveFixture{rn: rn, pic: pic}
	for _, l := range strings.Split(strings.TrimSpace(ok(t, hashctl(nil, "hash", pic)).stdout), "\n") {
		var h hashLine
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatal(err)
		}
		switch h.Algo {
		case "pdq":
			f.pdq = h.Value
		case "sha256":
			f.sha = h.Value
		}
	}
	f.near = flipBits(f.pdq, 3)
	body := fmt.Sprintf("{\"algo\":\"pdq\",\"value\":%q,\"quality\":100,\"severity\":\"A\"}\n{\"algo\":\"sha256\",\"value\":%q,\"severity\":\"A\"}\n", f.pdq, f.sha)
	if _, err := rn.hotline.Import(context.Background(), strings.NewReader(body), client.FormatNDJSON, int64(len(body))); err != nil {
		t.Fatal(err)
	}
	rn.build(t)
	f.dir = filepath.Join(t.TempDir(), "mirror")
	ok(t, rn.pull(rn.url, f.dir, "--trust-on-first-use"))
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, g: &globals{}, cmd: lookup("match", "serve")}
	f.e = e
	cats := map[string]string{listName: "baseline"}
	mi, err := e.loadMatchIndex([]string{f.dir}, cats, false)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = &matchService{dirs: []string{f.dir}, category: cats}
	f.svc.cur.Store(mi)
	f.srv = httptest.NewServer(f.svc.handler())
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request and decodes the answer, checking its status and
// content type.
func (f *serveFixture) do(t *testing.T, method, path, body string, status int) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, b)
	}
	ct := resp.Header.Get("Content-Type")
	if status >= 400 && ct != "application/problem+json" {
		t.Fatalf("%s %s: content type %q, want a problem document: %s", method, path, ct, b)
	}
	var out map[string]any
	if strings.Contains(ct, "json") {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return out
}

func matchesOf(t *testing.T, ans map[string]any) []matchLine {
	t.Helper()
	b, _ := json.Marshal(ans["matches"])
	var ms []matchLine
	if err := json.Unmarshal(b, &ms); err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestMatchServeLookup: a list released at a real node and pulled into a
// mirror answers lookups over HTTP: a near duplicate matches at its
// distance with the list, version and category; a miss answers no
// matches; bad queries get 400 problem documents, never 5xx.
func TestMatchServeLookup(t *testing.T) {
	f := startServe(t)
	f.do(t, "GET", "/healthz", "", 200)

	ans := f.do(t, "GET", "/v1/lookup?algo=pdq&value="+f.near, "", 200)
	ms := matchesOf(t, ans)
	if len(ms) != 1 || ms[0].Key != "pdq:"+f.pdq || ms[0].Distance != 3 || ms[0].List != listName || ms[0].Category != "baseline" || ms[0].Severity != "A" || ms[0].Version == 0 {
		t.Fatalf("near duplicate: %+v", ms)
	}
	if ms := matchesOf(t, f.do(t, "GET", "/v1/lookup?algo=pdq&max_distance=2&value="+f.near, "", 200)); len(ms) != 0 {
		t.Errorf("max_distance 2 matched a hash at distance 3: %+v", ms)
	}
	if ms := matchesOf(t, f.do(t, "GET", "/v1/lookup?algo=pdq&value="+invert(f.pdq), "", 200)); len(ms) != 0 {
		t.Errorf("miss matched: %+v", ms)
	}
	ans = f.do(t, "GET", "/v1/lookup?algo=pdq&quality=10&value="+f.pdq, "", 200)
	if len(matchesOf(t, ans)) != 0 || ans["skipped_low_quality"] != float64(1) {
		t.Errorf("low quality query: %v", ans)
	}
	if ms := matchesOf(t, f.do(t, "GET", "/v1/lookup?algo=sha256&value="+strings.ToUpper(f.sha), "", 200)); len(ms) != 1 {
		t.Errorf("sha256 in capitals: %+v", ms)
	}

	for _, q := range []string{
		"algo=pdq&value=zz",
		"algo=nope&value=" + f.sha,
		"algo=pdq&value=" + f.pdq + "&max_distance=300",
		"algo=pdq&value=" + f.pdq + "&max_distance=x",
		"value=" + f.pdq,
		"algo=pdq&value=" + f.pdq + "&quality=high",
	} {
		p := f.do(t, "GET", "/v1/lookup?"+q, "", 400)
		if p["type"] != probBadQuery || p["detail"] == "" {
			t.Errorf("%s: %v", q, p)
		}
	}

	// A batch: every line's matches, each naming its file.
	batch := fmt.Sprintf("{\"algo\":\"pdq\",\"value\":%q,\"file\":\"a.jpg\"}\n{\"algo\":\"sha256\",\"value\":%q,\"file\":\"b.jpg\"}\n{\"algo\":\"pdq\",\"value\":%q}\n", f.near, f.sha, invert(f.pdq))
	ms = matchesOf(t, f.do(t, "POST", "/v1/lookup", batch, 200))
	got := byKey(ms)
	if len(ms) != 2 || got["pdq:"+f.pdq].File != "a.jpg" || got["sha256:"+f.sha].File != "b.jpg" {
		t.Fatalf("batch: %+v", ms)
	}
	p := f.do(t, "POST", "/v1/lookup", batch+"{\"algo\":\"pdq\",\"value\":\"00\"}\n", 400)
	if p["type"] != probBadQuery || !strings.Contains(p["detail"].(string), "line 4") {
		t.Errorf("bad line in batch: %v", p)
	}
	f.do(t, "POST", "/v1/lookup", "not json\n", 400)
	p = f.do(t, "POST", "/v1/lookup", strings.Repeat(batch, maxBatchBody/len(batch)+1), 413)
	if p["type"] != probTooLarge {
		t.Errorf("oversized batch: %v", p)
	}
}

// TestMatchServeImage: a picture posted as the body is hashed in memory
// and its PDQ and sha256 hashes match; a body that is not a picture is
// matched by its cryptographic hashes only, and the answer says why it
// had no PDQ hash.
func TestMatchServeImage(t *testing.T) {
	f := startServe(t)
	img, err := os.ReadFile(f.pic)
	if err != nil {
		t.Fatal(err)
	}
	got := byKey(matchesOf(t, f.do(t, "POST", "/v1/lookup/image", string(img), 200)))
	if len(got) != 2 || got["pdq:"+f.pdq].Distance != 0 || got["sha256:"+f.sha].List != listName {
		t.Fatalf("picture: %+v", got)
	}
	ans := f.do(t, "POST", "/v1/lookup/image", "plain text, not a picture", 200)
	if len(matchesOf(t, ans)) != 0 || ans["no_pdq"] == nil || ans["no_pdq"] == "" {
		t.Errorf("not a picture: %v", ans)
	}
	f.do(t, "POST", "/v1/lookup/image?max_distance=-1", string(img), 400)
	big := append(img, make([]byte, maxImageBody)...)
	if p := f.do(t, "POST", "/v1/lookup/image", string(big), 413); p["type"] != probTooLarge {
		t.Errorf("oversized image: %v", p)
	}
}

// TestMatchServeRefresh: a hash released at the node after the service
// started matches after the service's next pull, and a retracted one
// stops matching with the pull of the release that drops it, without a
// restart and without a rebuild: each delta is applied to the live index
// in place (the metrics count the updates and no rebuild). Lookups made
// while the deltas are applied always find the entry that stays. A
// mirror past its manifest's expiry makes lookups answer 503.
func TestMatchServeRefresh(t *testing.T) {
	f := startServe(t)
	q := "/v1/lookup?algo=sha256&value=" + sha("released later")
	if ms := matchesOf(t, f.do(t, "GET", q, "", 200)); len(ms) != 0 {
		t.Fatalf("before the release: %+v", ms)
	}
	f.rn.submit(t, "released later")
	v2 := f.rn.build(t)
	if ms := matchesOf(t, f.do(t, "GET", q, "", 200)); len(ms) != 0 {
		t.Fatalf("released but not pulled yet: %+v", ms)
	}
	before := f.svc.cur.Load()

	// Lookups of the entry every version holds, all through the pulls.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var lookups atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := f.svc.cur.Load().ix.Lookup(match.Query{Algo: "sha256", Value: f.sha})
				if err != nil || len(res.Matches) != 1 {
					t.Errorf("during a pull, the entry that stays: %+v, %v", res.Matches, err)
					return
				}
				lookups.Add(1)
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
		if lookups.Load() == 0 {
			t.Error("no lookup ran beside the pulls")
		}
	}()

	if err := f.svc.refresh(f.e, f.rn.plat); err != nil {
		t.Fatal(err)
	}
	ms := matchesOf(t, f.do(t, "GET", q, "", 200))
	if len(ms) != 1 || ms[0].Version != v2 || ms[0].Severity != "B" || ms[0].Category != "baseline" {
		t.Fatalf("after the pull: %+v, want one match of version %d", ms, v2)
	}
	after := f.svc.cur.Load()
	if after.ix != before.ix || after.states[0].Version != v2 {
		t.Errorf("the pull did not update the live index in place (index replaced: %v, version %d)", after.ix != before.ix, after.states[0].Version)
	}
	f.metric(t, "hashctl_match_index_updates_total 1", "hashctl_match_index_rebuilds_total 0", "hashctl_match_index_update_seconds_count 1")

	// Nothing new: nothing changes.
	if err := f.svc.refresh(f.e, f.rn.plat); err != nil {
		t.Fatal(err)
	}
	if f.svc.cur.Load() != after {
		t.Errorf("a pull that changed nothing replaced the index")
	}

	// A retraction and an addition in one release: the retracted entry
	// stops matching with the pull that brings the release, the added
	// one starts, the rest stays.
	if _, err := f.rn.hotline.Retract(context.Background(), "sha256", sha("released later"), "not this file"); err != nil {
		t.Fatal(err)
	}
	f.rn.submit(t, "released third")
	v3 := f.rn.build(t)
	if err := f.svc.refresh(f.e, f.rn.plat); err != nil {
		t.Fatal(err)
	}
	if ms := matchesOf(t, f.do(t, "GET", q, "", 200)); len(ms) != 0 {
		t.Errorf("retracted at version %d, still matches: %+v", v3, ms)
	}
	if ms := matchesOf(t, f.do(t, "GET", "/v1/lookup?algo=sha256&value="+sha("released third"), "", 200)); len(ms) != 1 || ms[0].Version != v3 {
		t.Errorf("added at version %d: %+v", v3, ms)
	}
	if ms := matchesOf(t, f.do(t, "GET", "/v1/lookup?algo=pdq&value="+f.near, "", 200)); len(ms) != 1 {
		t.Errorf("the entry no release touched: %+v", ms)
	}
	if f.svc.cur.Load().ix != before.ix {
		t.Errorf("the index was replaced")
	}
	f.metric(t, "hashctl_match_index_updates_total 2", "hashctl_match_index_rebuilds_total 0", "hashctl_match_index_entries 3")

	defer func() { clock = time.Now }()
	clock = func() time.Time { return time.Now().AddDate(1, 0, 0) }
	p := f.do(t, "GET", q, "", 503)
	if p["type"] != probExpired {
		t.Errorf("expired mirror: %v", p)
	}
}

// TestMatchServeCatchUp: when the node no longer keeps the delta the
// mirror needs, the pull loads the snapshot in place of the mirror's
// contents, and the index is rebuilt from the mirror (the only rebuild
// path), aside, and swapped in: the new release matches.
func TestMatchServeCatchUp(t *testing.T) {
	f := startServe(t)
	px := newProxy(t, f.rn.url)
	viaProxy, err := client.New(client.Config{Server: px.URL, ClientID: f.rn.platform.id, ClientSecret: f.rn.platform.secret, Tries: 1})
	if err != nil {
		t.Fatal(err)
	}
	f.rn.submit(t, "after the gap")
	v2 := f.rn.build(t)
	px.set(nil, func(r *http.Request, a *answer) {
		if isDelta(r, v2) {
			a.status, a.header = http.StatusGone, http.Header{"Content-Type": {"application/problem+json"}}
			a.body = []byte(`{"type":"urn:hashhub:problem:version-gone","title":"Version no longer kept","status":410}`)
		}
	})
	before := f.svc.cur.Load()
	if err := f.svc.refresh(f.e, viaProxy); err != nil {
		t.Fatal(err)
	}
	after := f.svc.cur.Load()
	if after.ix == before.ix || after.states[0].Version != v2 {
		t.Fatalf("after a snapshot catch-up: index replaced %v, version %d (want %d)", after.ix != before.ix, after.states[0].Version, v2)
	}
	if ms := matchesOf(t, f.do(t, "GET", "/v1/lookup?algo=sha256&value="+sha("after the gap"), "", 200)); len(ms) != 1 || ms[0].Version != v2 {
		t.Errorf("after the catch-up: %+v", ms)
	}
	if res, err := before.ix.Lookup(match.Query{Algo: "sha256", Value: sha("after the gap")}); err != nil || len(res.Matches) != 0 {
		t.Errorf("the old index was changed: %+v %v", res.Matches, err)
	}
	f.metric(t, "hashctl_match_index_updates_total 0", "hashctl_match_index_rebuilds_total 1")
}

// TestMatchServePullInterval runs hashctl match serve with a short
// --pull-interval: a release made at the node after it started is picked
// up by the service on its own, without a restart.
func TestMatchServePullInterval(t *testing.T) {
	f := startServe(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: io.Discard, stderr: pw, g: &globals{}}
		done <- e.dispatch([]string{"match", "serve", "--dir", f.dir, "--addr", "127.0.0.1:0", "--pull-interval", "50ms",
			"--server", f.rn.url, "--client-id", f.rn.platform.id, "--client-secret", f.rn.platform.secret})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	copied := make(chan struct{})
	go func() { io.Copy(&stderr, pr); close(copied) }()
	_, rest, found := strings.Cut(line, "listening on ")
	if !found {
		t.Fatalf("no address in %q", line)
	}
	base := strings.Fields(rest)[0]
	f.rn.submit(t, "picked up on its own")
	v2 := f.rn.build(t)
	// Poll until the service's own ticker has pulled the release; the
	// test's deadline bounds the wait, not a timed assertion.
	var got string
	for {
		resp, err := http.Get(base + "/v1/lookup?algo=sha256&value=" + sha("picked up on its own"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got = string(b); strings.Contains(got, fmt.Sprintf(`"version":%d`, v2)) {
			break
		}
		if resp.StatusCode != 200 {
			t.Fatalf("lookup: %d %s", resp.StatusCode, b)
		}
		select {
		case err := <-done:
			t.Fatalf("the service stopped: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "hashctl_match_index_rebuilds_total 0") || !strings.Contains(string(b), "hashctl_match_index_updates_total 1") {
		t.Errorf("metrics after the ticker's pull:\n%s", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("after its context ended: %v", err)
	}
	<-copied
	if strings.Contains(stderr.String(), "still answering") {
		t.Errorf("a ticker pull failed:\n%s", stderr.String())
	}
}

// metric checks that /metrics holds each of the lines.
func (f *serveFixture) metric(t *testing.T, want ...string) {
	t.Helper()
	resp, err := http.Get(f.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, w := range want {
		if !strings.Contains(string(raw), w+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", w, raw)
		}
	}
}

func oldMatches(t *testing.T, mi *matchIndex, value string) int {
	t.Helper()
	res, err := mi.ix.Lookup(match.Query{Algo: "sha256", Value: value})
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Matches)
}

// TestMatchServeMetricsTokenHMA: /metrics counts lookups and matches and
// reports the index size and each mirror's version; with a token, a
// request without it is refused (401) and /healthz still answers; the
// HMA-shaped /m/lookup answers per list.
func TestMatchServeMetricsTokenHMA(t *testing.T) {
	f := startServe(t)
	f.do(t, "GET", "/v1/lookup?algo=pdq&value="+f.near, "", 200)
	f.do(t, "GET", "/v1/lookup?algo=pdq&value="+invert(f.pdq), "", 200)

	hma := f.do(t, "GET", "/m/lookup?signal_type=pdq&signal="+f.near, "", 200)
	b, _ := json.Marshal(hma)
	var got map[string][]hmaMatch
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[listName]) != 1 || got[listName][0].BankContentID != "pdq:"+f.pdq || got[listName][0].Distance != "3" {
		t.Errorf("HMA lookup: %s", b)
	}
	// banks keeps the named lists' matches only; a miss is {}.
	for path, want := range map[string]int{
		"/m/lookup?signal_type=pdq&banks=other," + listName + "&signal=" + f.near:       1,
		"/m/lookup?signal_type=pdq&banks=other&signal=" + f.near:                        0,
		"/m/lookup?signal_type=pdq&seed=7&bypass_coinflip=true&signal=" + invert(f.pdq): 0,
	} {
		if got := f.do(t, "GET", path, "", 200); len(got) != want {
			t.Errorf("%s: %v, want %d banks", path, got, want)
		}
	}
	// Errors: problem documents with HMA's message member too.
	for _, path := range []string{
		"/m/lookup?signal_type=pdq&signal=12",
		"/m/lookup?signal_type=pdq",
		"/m/lookup?signal=" + f.pdq,
		"/m/lookup?signal_type=tmk&signal=" + f.pdq,
		"/m/lookup?url=http://example.org/a.jpg",
	} {
		if p := f.do(t, "GET", path, "", 400); p["type"] != probBadQuery || p["message"] == nil || p["message"] != p["detail"] {
			t.Errorf("HMA %s: %v", path, p)
		}
	}

	resp, err := http.Get(f.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	st, err := peekState(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`hashctl_match_lookups_total{endpoint="get"} 2`,
		`hashctl_match_lookups_total{endpoint="hma"} 4`,
		`hashctl_match_matches_total 4`, // the banks filter applies after the count
		`hashctl_match_index_entries 2`,
		fmt.Sprintf(`hashctl_match_mirror_version{list=%q} %d`, listName, st.Version),
		`hashctl_match_mirror_age_seconds{list=`,
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, raw)
		}
	}

	// A token: requests without it are refused, with it answered.
	tok := &matchService{dirs: f.svc.dirs, category: f.svc.category, token: "s3cret"}
	tok.cur.Store(f.svc.cur.Load())
	ts := httptest.NewServer(tok.handler())
	defer ts.Close()
	for _, h := range []string{"", "Bearer wrong", "s3cret"} {
		req, _ := http.NewRequest("GET", ts.URL+"/v1/lookup?algo=pdq&value="+f.pdq, nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("Authorization %q: status %d", h, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", ts.URL+"/v1/lookup?algo=pdq&value="+f.pdq, nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with the token: status %d", resp.StatusCode)
	}
	resp, err = http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz with a token set: status %d", resp.StatusCode)
	}
}

// TestMatchServeCommand runs hashctl match serve itself on a real
// listener: it answers a lookup, and stops when its context ends. Bad
// flags are usage errors before anything listens.
func TestMatchServeCommand(t *testing.T) {
	f := startServe(t)
	fails(t, hashctl(nil, "match", "serve"), 2, "missing --dir")
	fails(t, hashctl(nil, "match", "serve", "--dir", t.TempDir()), 2, "not a mirror")
	fails(t, hashctl(nil, "match", "serve", "--dir", f.dir, "--pull-interval", "-1s"), 2, "--pull-interval")
	empty := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fails(t, hashctl(nil, "match", "serve", "--dir", f.dir, "--token-file", empty), 2, "is empty")

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: io.Discard, stderr: pw, g: &globals{}}
		done <- e.dispatch([]string{"match", "serve", "--dir", f.dir, "--addr", "127.0.0.1:0"})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	_, rest, ok := strings.Cut(line, "listening on ")
	if !ok {
		t.Fatalf("no address in %q", line)
	}
	base := strings.Fields(rest)[0]
	resp, err := http.Get(base + "/v1/lookup?algo=sha256&value=" + f.sha)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"key":"sha256:`+f.sha) {
		t.Errorf("lookup: %d %s", resp.StatusCode, b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("after its context ended: %v", err)
	}
}
