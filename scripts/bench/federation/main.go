// Command federation measures peer sync between real nodes (issue 4):
//
//   - propagation: chain A→B→C (B pulls A's list "shared", C pulls B's;
//     C knows A's keys to verify the records B relays). R times: submit
//     one new hash at A, release, and poll B and C for the entry every
//     5 ms; reports p50/p99 of release→applied at B and at C.
//   - catchup: a node P with an N-entry list (imported through
//     POST /v1/hashes/import and released); a fresh node Q registers P
//     with the list and the time until Q's sync health says applied ==
//     P's latest with N entries is compared with downloading P's raw
//     snapshot over HTTP in the same run. Reports Q's peak RSS and CPU.
//   - idle: node X is pulled by K nodes (one list each) and node Y pulls
//     one list from each of the same K nodes; a node with no peers is the
//     baseline. After the loops are in sync, each node's CPU seconds
//     over a window and its RSS are read from /proc.
//
// Every node is a separate `hashhub serve` process with the default sync
// settings (long poll 25 s, backoff 1 s–5 min, reconcile 2 s, release
// after sync 250 ms, release schedule 10 min). With -inproc-peer the
// catch-up peer Q runs inside this program instead (same defaults) and a
// CPU profile of the catch-up is written to -cpuprofile. With the
// environment variable PEER_GOMEMLIMIT set, the catching-up peer (only)
// runs with that GOMEMLIMIT. The stall and
// partition modes are described in health.go.
//
//	go run ./scripts/bench/federation -hashhub /tmp/hashhub [-mode all|propagation|catchup|idle|stall|partition]
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/peers"
)

var (
	bin        = flag.String("hashhub", "hashhub", "hashhub binary")
	mode       = flag.String("mode", "all", "all (propagation, catchup, idle), propagation, catchup, idle, stall or partition")
	releases   = flag.Int("releases", 100, "propagation: releases at A")
	settle     = flag.Duration("settle", 500*time.Millisecond, "propagation: pause after each release reached C")
	pollEvery  = flag.Duration("poll", 5*time.Millisecond, "propagation: poll interval of B and C")
	n          = flag.Int("n", 1_000_000, "catchup: entries in the list")
	snapRuns   = flag.Int("snapshot-runs", 3, "catchup: raw snapshot downloads (median)")
	catchupMax = flag.Duration("catchup-timeout", 10*time.Minute, "catchup: give up when the peer has not applied the list after this long")
	inprocPeer = flag.Bool("inproc-peer", false, "catchup: run the catching-up peer in this process")
	cpuprofile = flag.String("cpuprofile", "", "catchup with -inproc-peer: write a CPU profile of the catch-up here")
	memprofile = flag.String("memprofile", "", "catchup with -inproc-peer: write an allocation profile after the catch-up here")
	idlePeers  = flag.Int("peers", 10, "idle: peers")
	idleFor    = flag.Duration("idle", 60*time.Second, "idle: measurement window")
	keep       = flag.Bool("keep", false, "keep the work directory")
)

var bg = context.Background()

func main() {
	flag.Parse()
	work, err := os.MkdirTemp("", "fedbench")
	if err != nil {
		fatal(err)
	}
	r := &runner{work: work}
	// Stop the node processes on ^C too.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		r.stopAll()
		os.Exit(130)
	}()
	err = r.run()
	r.stopAll()
	if *keep {
		fmt.Println("kept", work)
	} else {
		os.RemoveAll(work)
	}
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "federation bench:", err)
	os.Exit(1)
}

func out(k string, v any) { fmt.Printf("%s=%v\n", k, v) }

type runner struct {
	work  string
	nodes []*hub
}

func (r *runner) run() error {
	switch *mode {
	case "all":
		for _, f := range []func() error{r.propagation, r.catchup, r.idle} {
			if err := f(); err != nil {
				return err
			}
			r.stopAll()
		}
		return nil
	case "propagation":
		return r.propagation()
	case "catchup":
		return r.catchup()
	case "idle":
		return r.idle()
	case "stall":
		return r.stall()
	case "partition":
		return r.partition()
	}
	return fmt.Errorf("unknown -mode %q", *mode)
}

// hub is one node: a `hashhub serve` process, or (in-process) a node.Node.
type hub struct {
	id, jur, dir, url string
	cmd               *exec.Cmd
	stopInproc        func()
	admin, analyst    *client.Client
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start initialises a node, serves it and makes a hotline analyst.
func (r *runner) start(id, jur string, inproc bool) (*hub, error) {
	h := &hub{id: id, jur: jur, dir: filepath.Join(r.work, id)}
	if o, err := exec.Command(*bin, "init", "--data", h.dir, "--node-id", id, "--jurisdiction", jur).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("init %s: %v\n%s", id, err, o)
	}
	var creds node.Credentials
	raw, err := os.ReadFile(filepath.Join(h.dir, node.AdminFile))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &creds); err != nil {
		return nil, err
	}
	if inproc {
		nd, err := node.Open(h.dir, slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(bg)
		done := make(chan struct{})
		go func() { nd.Serve(ctx, ln); close(done) }()
		h.url = "http://" + ln.Addr().String()
		h.stopInproc = func() { cancel(); <-done; nd.Close() }
	} else {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		logf, err := os.Create(filepath.Join(r.work, id+".log"))
		if err != nil {
			return nil, err
		}
		h.cmd = exec.Command(*bin, "serve", "--data", h.dir, "--addr", addr, "--metrics-addr", "")
		h.cmd.Stdout, h.cmd.Stderr = logf, logf
		if lim := os.Getenv("PEER_GOMEMLIMIT"); lim != "" && id == "hub-q" {
			// The catching-up peer alone runs with this Go memory limit.
			h.cmd.Env = append(os.Environ(), "GOMEMLIMIT="+lim)
		}
		if err := h.cmd.Start(); err != nil {
			return nil, err
		}
		h.url = "http://" + addr
	}
	r.nodes = append(r.nodes, h)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(h.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s not ready: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h.admin, err = newClient(h.url, creds.ClientID, creds.ClientSecret); err != nil {
		return nil, err
	}
	org, err := h.admin.CreateOrg(bg, client.CreateOrgRequest{Name: "Hotline " + id, Kind: orgs.Hotline, Jurisdiction: jur})
	if err != nil {
		return nil, err
	}
	u, err := h.admin.CreateUser(bg, org.ID, "analyst")
	if err != nil {
		return nil, err
	}
	h.analyst, err = newClient(h.url, u.ClientID, u.ClientSecret)
	return h, err
}

func newClient(url, id, secret string) (*client.Client, error) {
	return client.New(client.Config{Server: url, ClientID: id, ClientSecret: secret, Tries: 1, Timeout: -1})
}

func (r *runner) stopAll() {
	for _, h := range r.nodes {
		h.stop()
	}
	r.nodes = nil
}

func (h *hub) stop() {
	if h.cmd != nil && h.cmd.Process != nil {
		h.cmd.Process.Signal(syscall.SIGTERM)
		h.cmd.Wait()
		h.cmd = nil
	}
	if h.stopInproc != nil {
		h.stopInproc()
		h.stopInproc = nil
	}
}

func (h *hub) pid() int {
	if h.cmd == nil {
		return os.Getpid()
	}
	return h.cmd.Process.Pid
}

func (h *hub) createList(name string) error {
	_, err := h.admin.CreateList(bg, client.CreateListRequest{Name: name,
		Policy:  lists.Policy{MinAssessments: 1, MinOrgs: 1, MinJurisdictions: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Peer, orgs.Platform}}})
	return err
}

// register makes other a peer of h, pulling ls from it (none: its keys
// are only known, to authenticate it or verify its records).
func (h *hub) register(other *hub, ls ...string) error {
	k, err := other.admin.Keys(bg)
	if err != nil {
		return err
	}
	_, err = h.admin.AddPeer(bg, peers.Peer{ID: other.id, Name: "Hotline " + other.id, Jurisdiction: other.jur,
		BaseURL: other.url, NodeKeyPEM: k.NodeKeyPEM, ReleaseKeyPEM: k.ReleaseKeyPEM, LogKey: k.LogVerifierKey,
		Lists: ls})
	return err
}

func (h *hub) submit() (string, error) {
	v := randomHash()
	_, _, err := h.analyst.Submit(bg, client.SubmitRequest{Algo: "sha256", Value: v})
	return v, err
}

func (h *hub) has(value string) (bool, error) {
	_, err := h.admin.Entry(bg, "sha256", value)
	var p *client.Problem
	if errors.As(err, &p) && p.Status == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

func (h *hub) sync(peer string) (*peers.SyncStatus, error) {
	p, err := h.admin.Peer(bg, peer)
	if err != nil {
		return nil, err
	}
	if len(p.Sync) == 0 {
		return nil, nil
	}
	return &p.Sync[0], nil
}

func randomHash() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// procStat is a process's CPU seconds (user+system) and memory in MB.
type procStat struct {
	cpu       float64
	rss, hwm  float64
	anon, fil float64
}

func stat(pid int) (procStat, error) {
	var s procStat
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	s.cpu = (ut + st) / 100 // USER_HZ
	st2, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(strings.NewReader(string(st2)))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		switch k {
		case "VmRSS":
			s.rss = kb / 1024
		case "VmHWM":
			s.hwm = kb / 1024
		case "RssAnon":
			s.anon = kb / 1024
		case "RssFile":
			s.fil = kb / 1024
		}
	}
	return s, nil
}

// resetHWM resets a process's peak RSS (VmHWM) to its current RSS.
func resetHWM(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }

// propagation: A→B→C.
func (r *runner) propagation() error {
	fmt.Println("== propagation A→B→C")
	a, err := r.start("hub-a", "NL", false)
	if err != nil {
		return err
	}
	b, err := r.start("hub-b", "GB", false)
	if err != nil {
		return err
	}
	c, err := r.start("hub-c", "IE", false)
	if err != nil {
		return err
	}
	for _, h := range []*hub{a, b, c} {
		if err := h.createList("shared"); err != nil {
			return err
		}
	}
	steps := []struct {
		on, other *hub
		ls        []string
	}{{b, a, []string{"shared"}}, {a, b, nil}, {c, b, []string{"shared"}}, {b, c, nil}, {c, a, nil}}
	for _, s := range steps {
		if err := s.on.register(s.other, s.ls...); err != nil {
			return err
		}
	}
	// Warm-up: one release through the chain, so that every loop is
	// started, has pulled version 1 and waits in its long poll.
	if _, err := a.submit(); err != nil {
		return err
	}
	if _, err := a.admin.BuildRelease(bg, "shared"); err != nil {
		return err
	}
	if err := waitFor("warm-up at C", 60*time.Second, func() (bool, error) {
		s, err := c.sync("hub-b")
		return s != nil && s.Applied > 0, err
	}); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	var toB, toC, build []time.Duration
	for i := range *releases {
		v, err := a.submit()
		if err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := a.admin.BuildRelease(bg, "shared"); err != nil {
			return err
		}
		build = append(build, time.Since(t0))
		var atB time.Duration
		deadline := t0.Add(60 * time.Second)
		for {
			if atB == 0 {
				ok, err := b.has(v)
				if err != nil {
					return err
				}
				if ok {
					atB = time.Since(t0)
				}
			}
			if atB != 0 {
				ok, err := c.has(v)
				if err != nil {
					return err
				}
				if ok {
					toC = append(toC, time.Since(t0))
					toB = append(toB, atB)
					break
				}
			}
			if time.Now().After(deadline) {
				s, _ := c.sync("hub-b")
				return fmt.Errorf("release %d did not reach C in 60 s (C's sync of B: %+v)", i+1, s)
			}
			time.Sleep(*pollEvery)
		}
		time.Sleep(*settle)
	}
	for _, h := range []*hub{b, c} {
		s, _ := h.sync(map[string]string{"hub-b": "hub-a", "hub-c": "hub-b"}[h.id])
		if s != nil {
			out(h.id+"_sync", fmt.Sprintf("state=%s applied=%d failures=%d", s.State, s.Applied, s.TotalFailures))
		}
	}
	for _, d := range [][]time.Duration{toB, toC, build} {
		slices.Sort(d)
	}
	out("releases", len(toC))
	out("release_call_ms_p50_p99", ms(pct(build, 50))+" "+ms(pct(build, 99)))
	out("release_to_B_ms_p50_p99_max", ms(pct(toB, 50))+" "+ms(pct(toB, 99))+" "+ms(toB[len(toB)-1]))
	out("release_to_C_ms_p50_p99_max", ms(pct(toC, 50))+" "+ms(pct(toC, 99))+" "+ms(toC[len(toC)-1]))
	out("release_to_C_ms_min", ms(toC[0]))
	return nil
}

func waitFor(what string, d time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// catchup: a fresh peer pulls an N-entry list.
func (r *runner) catchup() error {
	fmt.Printf("== catch-up of a %d-entry list\n", *n)
	p, err := r.start("hub-p", "NL", false)
	if err != nil {
		return err
	}
	if err := p.createList("shared"); err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<20)
		raw := make([]byte, 32)
		line := []byte(`{"algo":"sha256","value":"` + strings.Repeat("0", 64) + `"}` + "\n")
		for range *n {
			rand.Read(raw)
			hex.Encode(line[26:90], raw)
			bw.Write(line)
		}
		pw.CloseWithError(bw.Flush())
	}()
	t0 := time.Now()
	res, err := p.analyst.Import(bg, pr, client.FormatNDJSON, -1)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	out("import_seconds", fmt.Sprintf("%.1f", time.Since(t0).Seconds()))
	_ = res
	t0 = time.Now()
	m, err := p.admin.BuildRelease(bg, "shared")
	if err != nil {
		return err
	}
	out("release_v1_seconds", fmt.Sprintf("%.1f", time.Since(t0).Seconds()))
	out("list_entries", m.Entries)

	q, err := r.start("hub-q", "GB", *inprocPeer)
	if err != nil {
		return err
	}
	// Q authenticates on P with its node key: P knows Q.
	if err := p.register(q); err != nil {
		return err
	}
	// The raw snapshot, as a peer reads it.
	var snap []time.Duration
	var size int64
	for range *snapRuns {
		t := time.Now()
		body, _, err := p.admin.Snapshot(bg, "shared", 0)
		if err != nil {
			return err
		}
		size, err = io.Copy(io.Discard, body)
		body.Close()
		if err != nil {
			return err
		}
		snap = append(snap, time.Since(t))
	}
	slices.Sort(snap)
	snapMed := snap[len(snap)/2]
	out("snapshot_bytes", size)
	out("snapshot_seconds_median_min_max", fmt.Sprintf("%.2f %.2f %.2f", snapMed.Seconds(), snap[0].Seconds(), snap[len(snap)-1].Seconds()))

	qpid, ppid := q.pid(), p.pid()
	if s, err := stat(ppid); err == nil {
		out("source_rss_mb_before_catchup", fmt.Sprintf("%.0f", s.rss))
	}
	resetHWM(ppid)
	resetHWM(qpid)
	q0, _ := stat(qpid)
	p0, _ := stat(ppid)
	var stop func() error
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		stop = func() error { pprof.StopCPUProfile(); return f.Close() }
	}
	t0 = time.Now()
	if err := q.register(p, "shared"); err != nil {
		return err
	}
	var started time.Duration
	var peakHWM float64
	err = waitFor("Q applies the list", *catchupMax, func() (bool, error) {
		if s, err := stat(qpid); err == nil {
			peakHWM = max(peakHWM, s.hwm)
		}
		s, err := q.sync("hub-p")
		if err != nil || s == nil {
			return false, err
		}
		if started == 0 {
			started = time.Since(t0)
		}
		if s.State == peers.SyncFailing || s.State == peers.SyncStalled {
			return false, fmt.Errorf("sync failing: %s", s.LastError)
		}
		return s.Applied == m.Version && s.Entries == m.Entries, nil
	})
	took := time.Since(t0)
	if stop != nil {
		stop()
	}
	if err != nil {
		return err
	}
	q1, _ := stat(qpid)
	p1, _ := stat(ppid)
	out("catchup_seconds", fmt.Sprintf("%.2f", took.Seconds()))
	out("catchup_loop_started_after_seconds", fmt.Sprintf("%.2f", started.Seconds()))
	out("catchup_over_snapshot", fmt.Sprintf("%.2f", took.Seconds()/snapMed.Seconds()))
	if *inprocPeer {
		fmt.Println("# the peer runs in this process: its CPU and RSS include the bench's own")
	}
	out("peer_cpu_seconds", fmt.Sprintf("%.1f", q1.cpu-q0.cpu))
	out("peer_peak_rss_mb", fmt.Sprintf("%.0f (at the end: anon %.0f, file %.0f)", max(peakHWM, q1.hwm), q1.anon, q1.fil))
	out("source_cpu_seconds", fmt.Sprintf("%.1f", p1.cpu-p0.cpu))
	out("source_peak_rss_mb_during_catchup", fmt.Sprintf("%.0f", p1.hwm))
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			return err
		}
		pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
	// Spot check: an entry of the list is on Q.
	sample, err := p.admin.ListEntries(bg, "shared", "", 1)
	if err != nil || len(sample.Entries) == 0 {
		return fmt.Errorf("sample entry: %v", err)
	}
	e := sample.Entries[0]
	if ok, err := q.has(e.Value); !ok {
		return fmt.Errorf("entry %s not on Q: %v", e.Value, err)
	}
	if fi, err := os.Stat(filepath.Join(q.dir, "hashhub.db")); err == nil {
		out("peer_store_mb", fi.Size()>>20)
	}
	return nil
}

// idle: X is pulled by K nodes, Y pulls from the same K nodes, Z has no
// peers.
func (r *runner) idle() error {
	k := *idlePeers
	fmt.Printf("== idle: %d peers, %v\n", k, *idleFor)
	jurs := []string{"NL", "GB", "IE", "DE", "FR", "BE", "SE", "DK", "ES", "IT", "PT", "AT", "PL", "CZ", "FI", "NO"}
	x, err := r.start("hub-x", "NL", false)
	if err != nil {
		return err
	}
	y, err := r.start("hub-y", "GB", false)
	if err != nil {
		return err
	}
	z, err := r.start("hub-z", "IE", false)
	if err != nil {
		return err
	}
	var others []*hub
	for i := range k {
		o, err := r.start(fmt.Sprintf("hub-o%02d", i+1), jurs[(i+3)%len(jurs)], false)
		if err != nil {
			return err
		}
		others = append(others, o)
	}
	for _, h := range append([]*hub{x, y, z}, others...) {
		if err := h.createList("shared"); err != nil {
			return err
		}
		for range 3 {
			if _, err := h.submit(); err != nil {
				return err
			}
		}
		if _, err := h.admin.BuildRelease(bg, "shared"); err != nil {
			return err
		}
	}
	for _, o := range others {
		// o pulls X's list; X knows o (its assertions).
		if err := o.register(x, "shared"); err != nil {
			return err
		}
		if err := x.register(o); err != nil {
			return err
		}
		// Y pulls o's list; o knows Y.
		if err := y.register(o, "shared"); err != nil {
			return err
		}
		if err := o.register(y); err != nil {
			return err
		}
	}
	err = waitFor("all loops in sync", 2*time.Minute, func() (bool, error) {
		for _, o := range others {
			s, err := o.sync("hub-x")
			if err != nil || s == nil || s.Applied == 0 {
				return false, err
			}
			s, err = y.sync(o.id)
			if err != nil || s == nil || s.Applied == 0 {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	// Let the releases after sync (Y and the others publish what they
	// imported) and their pulls pass.
	time.Sleep(10 * time.Second)
	type m struct {
		label string
		hs    []*hub
	}
	groups := []m{{"served_by_x_to_" + strconv.Itoa(k), []*hub{x}}, {"pulling_y_from_" + strconv.Itoa(k), []*hub{y}},
		{"no_peers_z", []*hub{z}}, {"each_of_the_" + strconv.Itoa(k) + "_others", others}}
	before := map[*hub]procStat{}
	for _, g := range groups {
		for _, h := range g.hs {
			before[h], _ = stat(h.pid())
		}
	}
	time.Sleep(*idleFor)
	for _, g := range groups {
		var cpu, rss, anon, maxRSS float64
		for _, h := range g.hs {
			s, _ := stat(h.pid())
			cpu += s.cpu - before[h].cpu
			rss += s.rss
			anon += s.anon
			maxRSS = max(maxRSS, s.rss)
		}
		nh := float64(len(g.hs))
		out("idle_"+g.label, fmt.Sprintf("cpu_seconds=%.2f (%.3f%% of one core) rss_mb=%.0f (anon %.0f, file %.0f) max_rss_mb=%.0f",
			cpu/nh, 100*cpu/nh/idleFor.Seconds(), rss/nh, anon/nh, (rss-anon)/nh, maxRSS))
	}
	var fails uint64
	for _, o := range others {
		if s, _ := o.sync("hub-x"); s != nil {
			fails += s.TotalFailures
		}
		if s, _ := y.sync(o.id); s != nil {
			fails += s.TotalFailures
		}
	}
	out("idle_sync_failures", fails)
	return nil
}
