// Command hostile measures what a hostile peer costs the node or client
// that pulls from it: the peak RSS of a `hashctl pull` whose snapshot is
// replaced by an oversized one, and of a `hashhub serve` whose peer sync
// is sent an oversized records stream. The manifests, checkpoints and
// proofs are a real node's, genuine and signed; only the body in question
// is hostile.
//
// In this process: node A (bench-a) on 127.0.0.1 with a list "bench" of
// -entries entries over two versions, and a hostile front on 127.0.0.1
// that passes every request to A except:
//
//   - snapshot: deltas answer 410 Gone (so a fresh mirror catches up from
//     the snapshot) and the snapshot is -size bytes of well-formed lines —
//     entries+1000 lines in the node's set-root order, then a repeated
//     block of lines in random order — that no manifest signed. The
//     victim is `hashctl pull --trust-on-first-use` (the mirror path).
//   - records: the records of a step are -size bytes of well-formed
//     records of an origin no node registered (ever-increasing seq, 1,000
//     keys each, validly signed by a key of their own); peer-records: the
//     same signed by A's own node key as A's records (what only the peer
//     itself can send, bounded by the records cap alone).
//   - honest: as snapshot, but the node's own snapshot passes through (the
//     cost of a genuine catch-up from a snapshot, for comparison). The victim is a
//     `hashhub serve` process (bench-b) that pulls the list from A through
//     the front, with the node's default caps; it is stopped at its first
//     sync failure or applied step.
//
// The victim's peak RSS is GNU time's (/usr/bin/time -f %M), and a
// guard kills it past -guard-mb so that an unbounded pull cannot take the
// machine down (the figure then reads "> guard").
//
// scripts/bench/hostile/run.sh runs every case before and after the change.
// HOSTILE_STDERR=1 prints the hashctl victim's stderr.
//
//	go run ./scripts/bench/hostile -case snapshot -size 64MiB -hashctl /tmp/hashctl -hashhub /tmp/hashhub
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/records"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
)

func main() {
	kase := flag.String("case", "snapshot", "snapshot, records (of an unknown origin), peer-records (signed by A itself) or honest")
	size := flag.String("size", "64MiB", "size of the hostile body (KiB, MiB, GiB suffixes)")
	n := flag.Int("entries", 300_000, "entries in A's list (the genuine manifest's count)")
	hashctl := flag.String("hashctl", "hashctl", "hashctl binary (the snapshot victim)")
	hashhub := flag.String("hashhub", "hashhub", "hashhub binary (the records victim)")
	guard := flag.Int("guard-mb", 4096, "kill the victim past this RSS")
	flag.StringVar(&serveArgs, "serve-args", "", "extra flags for the records victim's hashhub serve (space-separated)")
	flag.Parse()
	sz, err := parseSize(*size)
	if err == nil {
		err = run(*kase, sz, *n, *hashctl, *hashhub, int64(*guard)<<20)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile bench:", err)
		os.Exit(1)
	}
}

var serveArgs string

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suf, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suf) {
			s, mult = strings.TrimSuffix(s, suf), m
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v * mult, err
}

func out(k string, v any) { fmt.Printf("%s=%v\n", k, v) }

func run(kase string, size int64, n int, hashctl, hashhub string, guard int64) error {
	work, err := os.MkdirTemp("", "hostilebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	a, err := startA(filepath.Join(work, "a"), n)
	if err != nil {
		return err
	}
	defer a.close()
	var sent atomic.Int64
	var body func(w io.Writer) error
	switch kase {
	case "snapshot":
		body = snapshotBody(n, size, &sent)
	case "records":
		_, ghost, _ := ed25519.GenerateKey(rand.Reader)
		body = recordsBody(size, &sent, "ghost-node", ghost)
	case "honest":
		body = nil // the node's own snapshot, for comparison
	case "peer-records":
		body = recordsBody(size, &sent, "bench-a", a.nd.Keys.Token)
	default:
		return fmt.Errorf("-case %q: snapshot, records or peer-records", kase)
	}
	front, err := serveFront(a.url, kase, body)
	if err != nil {
		return err
	}
	out("case", kase)
	out("hostile_bytes", size)
	out("entries", n)
	var res *victim
	if kase == "snapshot" || kase == "honest" {
		res, err = pullVictim(work, hashctl, front, a.platform, guard)
	} else {
		res, err = syncVictim(work, hashhub, front, a, guard)
	}
	if err != nil {
		return err
	}
	out("outcome", strconv.Quote(res.outcome))
	out("hostile_bytes_sent", sent.Load())
	if res.killed {
		out("peak_rss_mb", fmt.Sprintf("> %d (killed by the guard)", guard>>20))
	} else {
		out("peak_rss_mb", res.maxRSS>>20)
	}
	out("seconds", fmt.Sprintf("%.1f", res.seconds))
	return nil
}

// nodeA is the genuine node.
type nodeA struct {
	nd       *node.Node
	url      string
	admin    client.Config
	platform client.Config
	close    func()
}

func startA(dir string, n int) (*nodeA, error) {
	creds, err := node.Init(dir, "bench-a", "NL")
	if err != nil {
		return nil, err
	}
	nd, err := node.Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { nd.Serve(ctx, ln); close(done) }()
	a := &nodeA{nd: nd, url: "http://" + ln.Addr().String(), close: func() { cancel(); <-done; nd.Close() }}
	a.admin = client.Config{Server: a.url, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret, Tries: 1}
	h := nd.Hub
	orgList, err := h.Orgs("", 10)
	if err != nil {
		return nil, err
	}
	admin := hub.Actor{User: "bench-admin", Org: orgList[0].ID, Role: orgs.Admin, Jurisdiction: "NL"}
	hot, err := h.CreateOrg(admin, orgs.Org{Name: "Hotline", Kind: orgs.Hotline, Jurisdiction: "NL"})
	if err != nil {
		return nil, err
	}
	u, err := h.CreateUser(admin, hot.ID, "Analyst")
	if err != nil {
		return nil, err
	}
	analyst := hub.Actor{User: u.User.ID, Org: hot.ID, Role: orgs.Hotline, Jurisdiction: "NL"}
	plat, err := h.CreateOrg(admin, orgs.Org{Name: "Platform", Kind: orgs.Platform, Jurisdiction: "IE"})
	if err != nil {
		return nil, err
	}
	pu, err := h.CreateUser(admin, plat.ID, "Puller")
	if err != nil {
		return nil, err
	}
	a.platform = client.Config{Server: a.url, ClientID: pu.ClientID, ClientSecret: pu.ClientSecret, Tries: 1}
	if _, err := h.CreateList(admin, lists.List{Name: "bench", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform, orgs.Peer}}}); err != nil {
		return nil, err
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	gen := func(count int) *bytes.Buffer {
		var b bytes.Buffer
		raw := make([]byte, 32)
		for range count {
			for j := range raw {
				raw[j] = byte(rng.Uint32())
			}
			fmt.Fprintf(&b, `{"algo":"sha256","value":%q,"severity":"B"}`+"\n", hex.EncodeToString(raw))
		}
		return &b
	}
	for i, count := range []int{n - 1, 1} {
		if _, err := h.Import(analyst, ingest.NewNDJSON(gen(count), ingest.DefaultMaxLine), fmt.Sprint("bench-", i), nil); err != nil {
			return nil, err
		}
		if _, err := h.BuildRelease(admin, "bench"); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// serveFront passes every request to A except the hostile one.
func serveFront(upstream, kase string, body func(io.Writer) error) (string, error) {
	u, _ := url.Parse(upstream)
	rp := httputil.NewSingleHostReverseProxy(u)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case (kase == "snapshot" || kase == "honest") && p == "/v1/lists/bench/delta":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusGone)
			w.Write([]byte(`{"type":"urn:hashhub:problem:version-gone","title":"Version no longer kept","status":410,"snapshot":"/v1/lists/bench/snapshot"}`))
		case kase == "snapshot" && p == "/v1/lists/bench/snapshot":
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("X-Hashhub-Version", "2")
			body(w)
		case (kase == "records" || kase == "peer-records") && p == "/v1/lists/bench/records":
			w.Header().Set("Content-Type", "application/x-ndjson")
			body(w)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	return "http://" + ln.Addr().String(), nil
}

// writeCounted writes b and counts it; an error means the victim hung up.
func writeCounted(w io.Writer, b []byte, sent *atomic.Int64) error {
	n, err := w.Write(b)
	sent.Add(int64(n))
	return err
}

// snapshotBody: entries+1000 fake lines in set-root order (the most a
// check of order lets through), then a block of fake lines repeated.
func snapshotBody(entries int, size int64, sent *atomic.Int64) func(io.Writer) error {
	type line struct {
		b    uint16
		leaf setroot.Hash
		text []byte
	}
	fake := func(i int) line {
		v := sha256.Sum256([]byte("fake" + strconv.Itoa(i)))
		it := release.Item{Algo: "sha256", Value: hex.EncodeToString(v[:]), Severity: "A"}
		return line{setroot.Bucket(it.Key()), setroot.LeafHash(it.Line()), it.Line()}
	}
	ordered := make([]line, entries+1000)
	for i := range ordered {
		ordered[i] = fake(i)
	}
	slices.SortFunc(ordered, func(x, y line) int {
		if x.b != y.b {
			return int(x.b) - int(y.b)
		}
		return bytes.Compare(x.leaf[:], y.leaf[:])
	})
	var head bytes.Buffer
	for _, l := range ordered {
		head.Write(l.text)
		head.WriteByte('\n')
	}
	var block bytes.Buffer
	for i := len(ordered); block.Len() < 8<<20; i++ {
		block.Write(fake(i).text)
		block.WriteByte('\n')
	}
	return func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 64<<10)
		left := size
		for chunk, first := head.Bytes(), true; left > 0; chunk, first = block.Bytes(), false {
			for left > 0 {
				c := chunk[:min(int64(len(chunk)), left)]
				if len(c) < len(chunk) {
					// Whole lines only: the body ends where a line does.
					c = c[:bytes.LastIndexByte(c, '\n')+1]
					left = int64(len(c))
				}
				if err := writeCounted(bw, c, sent); err != nil {
					return err
				}
				left -= int64(len(c))
				if first {
					break // the ordered head once, then the block over and over
				}
			}
		}
		return bw.Flush()
	}
}

// recordsBody: well-formed records of origin, signed with key.
func recordsBody(size int64, sent *atomic.Int64, origin string, key ed25519.PrivateKey) func(io.Writer) error {
	keys := make([]string, 1000)
	for i := range keys {
		v := sha256.Sum256([]byte("rec" + strconv.Itoa(i)))
		keys[i] = "sha256:" + hex.EncodeToString(v[:])
	}
	slices.Sort(keys)
	return func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 64<<10)
		var left = size
		for seq := uint64(1); left > 0; seq++ {
			rec := &records.Record{Format: records.Format, Origin: origin, Seq: seq, Kind: records.KindAssessment,
				Time: records.FormatTime(time.Now()), Org: "Ghost", OrgJurisdiction: "NL", User: "ghost",
				Verdict: entries.Illegal, Category: entries.Baseline, Keys: keys}
			line := append(records.Sign(rec, key).Line(), '\n')
			if err := writeCounted(bw, line, sent); err != nil {
				return err
			}
			left -= int64(len(line))
		}
		return bw.Flush()
	}
}

type victim struct {
	outcome string
	maxRSS  int64
	killed  bool
	seconds float64
}

// timed is the victim's command under GNU time, which reports the peak
// RSS of the victim itself. (The kernel's figure for a direct child of
// this program would include this program's own RSS at the fork.)
func timed(timeFile, bin string, args ...string) *exec.Cmd {
	return exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", timeFile, bin}, args...)...)
}

// watch waits for cmd (GNU time running the victim), killing the victim
// past guard, and reads its peak RSS. stop, when closed, ends the victim
// with SIGTERM.
func watch(cmd *exec.Cmd, timeFile string, guard int64, stop <-chan struct{}) (*victim, error) {
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	v := &victim{}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	child := func() int {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return pid
	}
	for {
		select {
		case <-done:
			v.seconds = time.Since(start).Seconds()
			b, err := os.ReadFile(timeFile)
			if err != nil {
				return nil, err
			}
			ls := strings.Split(strings.TrimSpace(string(b)), "\n")
			kb, err := strconv.ParseInt(ls[len(ls)-1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("time: %q", b)
			}
			v.maxRSS = kb << 10
			return v, nil
		case <-stop:
			if pid := child(); pid > 0 {
				syscall.Kill(pid, syscall.SIGTERM)
			}
			stop = nil
		case <-tick.C:
			if pid := child(); pid > 0 && procRSS(pid) > guard && !v.killed {
				v.killed = true
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

func procRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// pullVictim runs hashctl pull into a fresh mirror through the front.
func pullVictim(work, hashctl, front string, plat client.Config, guard int64) (*victim, error) {
	cred := filepath.Join(work, "platform.json")
	cj, _ := json.Marshal(map[string]string{"client_id": plat.ClientID, "client_secret": plat.ClientSecret})
	if err := os.WriteFile(cred, cj, 0o600); err != nil {
		return nil, err
	}
	timeFile := filepath.Join(work, "time-pull.txt")
	cmd := timed(timeFile, hashctl, "pull", "--list", "bench", "--dir", filepath.Join(work, "mirror"), "--trust-on-first-use",
		"--server", front, "--credentials", cred)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	v, err := watch(cmd, timeFile, guard, nil)
	if err != nil {
		return nil, err
	}
	v.outcome = lastLine(stderr.String())
	if os.Getenv("HOSTILE_STDERR") != "" {
		os.Stderr.Write(stderr.Bytes())
	}
	return v, nil
}

func lastLine(s string) string {
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.Contains(l, "pull:") || strings.Contains(l, "refused") {
			return strings.TrimSpace(l)
		}
	}
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(ls[len(ls)-1])
}

// syncVictim runs hashhub serve as node B, registers A (through the
// front) and B with each other, and stops B at its first failure or
// applied step.
func syncVictim(work, hashhub, front string, a *nodeA, guard int64) (*victim, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := filepath.Join(work, "b")
	timeFile := filepath.Join(work, "time-serve.txt")
	args := []string{"serve", "--data", dir, "--addr", addr, "--node-id", "bench-b", "--jurisdiction", "GB"}
	cmd := timed(timeFile, hashhub, append(args, strings.Fields(serveArgs)...)...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	type result struct {
		v   *victim
		err error
	}
	res := make(chan result, 1)
	go func() {
		v, err := watch(cmd, timeFile, guard, stop)
		res <- result{v, err}
	}()
	outcome, err := driveSync(dir, "http://"+addr, front, a)
	close(stop)
	r := <-res
	if err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	r.v.outcome = outcome
	if r.v.killed {
		r.v.outcome = "killed by the guard"
	}
	return r.v, nil
}

func driveSync(dir, bURL, front string, a *nodeA) (string, error) {
	ctx := context.Background()
	var bAdmin *client.Client
	deadline := time.Now().Add(60 * time.Second)
	for {
		raw, err := os.ReadFile(filepath.Join(dir, node.AdminFile))
		var c node.Credentials
		if err == nil && json.Unmarshal(raw, &c) == nil {
			if bAdmin, err = client.New(client.Config{Server: bURL, ClientID: c.ClientID, ClientSecret: c.ClientSecret, Tries: 1}); err == nil {
				if _, err = bAdmin.Keys(ctx); err == nil {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("node B did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	aAdmin, err := client.New(a.admin)
	if err != nil {
		return "", err
	}
	ka, err := aAdmin.Keys(ctx)
	if err != nil {
		return "", err
	}
	kb, err := bAdmin.Keys(ctx)
	if err != nil {
		return "", err
	}
	if _, err := aAdmin.AddPeer(ctx, peers.Peer{ID: "bench-b", Name: "Node B", Jurisdiction: "GB", BaseURL: bURL,
		NodeKeyPEM: kb.NodeKeyPEM, ReleaseKeyPEM: kb.ReleaseKeyPEM, LogKey: kb.LogVerifierKey}); err != nil {
		return "", err
	}
	if _, err := bAdmin.AddPeer(ctx, peers.Peer{ID: "bench-a", Name: "Node A", Jurisdiction: "NL", BaseURL: front,
		NodeKeyPEM: ka.NodeKeyPEM, ReleaseKeyPEM: ka.ReleaseKeyPEM, LogKey: ka.LogVerifierKey, Lists: []string{"bench"}}); err != nil {
		return "", err
	}
	deadline = time.Now().Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		p, err := bAdmin.Peer(ctx, "bench-a")
		if err != nil {
			return "node B stopped answering: " + err.Error(), nil
		}
		for _, s := range p.Sync {
			if s.State == peers.SyncFailing {
				return "refused: " + s.LastError, nil
			}
			if s.Applied >= 1 {
				return fmt.Sprintf("applied version %d (%d records, %d of unknown origins)", s.Applied, s.Records, s.UnknownOrigins), nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return "", fmt.Errorf("node B neither applied nor failed")
}
