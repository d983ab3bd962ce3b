// Command release is the in-process half of the release benchmark
// (scripts/bench/release.sh). In a fresh data directory it initialises a
// node, creates a hotline with two analysts, a platform reader and a list
// needing one assessment, imports N synthetic entries with hub.Import,
// builds version 1, then runs rounds of 10,000 changes (half new entries,
// a quarter retractions, a quarter severity updates by the second analyst)
// each followed by a timed BuildRelease. It then times hub.WriteDelta and
// hub.WriteSnapshot into io.Discard, and leaves the data directory and the
// platform user's credentials (bench.json) for the HTTP half of the script.
//
// Output is one key=value line per figure, so the script can quote it.
// Peak RSS is the kernel's VmHWM, reset before each timed phase through
// /proc/self/clear_refs, so a phase's peak is its own and not the import's.
//
//	go run ./scripts/bench/release -n 1000000 -dir /tmp/x/data
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/scripts/bench/procstat"
)

// Defaults, exported as flag help.
const (
	DefaultN       = 1_000_000
	DefaultChanges = 10_000
	DefaultRounds  = 8
	DefaultReads   = 21
	ListName       = "bench"
)

func main() {
	n := flag.Int("n", DefaultN, "entries imported before version 1")
	dir := flag.String("dir", "", "data directory to create (must not exist)")
	changes := flag.Int("changes", DefaultChanges, "changes per round: 1/2 new entries, 1/4 retractions, 1/4 severity updates")
	rounds := flag.Int("rounds", DefaultRounds, "rounds of changes, each followed by a release")
	reads := flag.Int("reads", DefaultReads, "repetitions of the in-process delta read (median reported)")
	profile := flag.String("profile", "", "directory for CPU profiles of each build (none when empty)")
	chunk := flag.Int("build-chunk", hub.DefaultBuildChunk, "entries per step of a staged version 1 (hashhub serve --build-chunk); 0: version 1 in one transaction")
	warm := flag.Bool("warm", false, "before each round's build, read every page of the store (untimed), as a long-running node has them mapped")
	flag.Parse()
	if *dir == "" {
		fatal(fmt.Errorf("-dir is required"))
	}
	buildChunk = *chunk
	if err := run(*n, *dir, *changes, *rounds, *reads, *profile, *warm); err != nil {
		fatal(err)
	}
}

// buildChunk is the -build-chunk flag.
var buildChunk int

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "release bench:", err)
	os.Exit(1)
}

// out prints one figure.
func out(key string, v any) { fmt.Printf("%s=%v\n", key, v) }

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64)
}

// Bench holds the node and the actors of the run.
type Bench struct {
	n        *node.Node
	h        *hub.Service
	admin    hub.Actor
	analyst  hub.Actor // submits and retracts
	reviewer hub.Actor // same organisation; updates severities
	rss      *rssSampler
	profile  string
}

func run(n int, dir string, changes, rounds, reads int, profile string, warm bool) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%q exists; give a fresh directory", dir)
	}
	out("entries", n)
	out("cpus", runtime.NumCPU())
	out("go", runtime.Version())
	creds, err := node.Init(dir, "bench", "NL")
	if err != nil {
		return err
	}
	nd, err := node.Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer nd.Close()
	nd.Hub.SetBuildChunk(buildChunk)
	out("build_chunk", buildChunk)
	b := &Bench{n: nd, h: nd.Hub, rss: startRSS(), profile: profile}
	defer b.rss.stop()
	if err := b.setup(creds, dir); err != nil {
		return err
	}

	// Import.
	b.rss.reset()
	start := time.Now()
	res, err := b.h.Import(b.analyst, ingest.NewNDJSON(lines(0, n, ""), 0), "bench-initial", nil)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	d := time.Since(start)
	if res.Created != n {
		return fmt.Errorf("import created %d of %d (rejected %d)", res.Created, n, res.Rejected)
	}
	out("import_seconds", secs(d))
	out("import_rate", fmt.Sprintf("%.0f/s", float64(n)/d.Seconds()))
	b.rss.report("import")

	// Version 1: every entry is an add.
	if err := b.build("v1", uint64(n)); err != nil {
		return err
	}
	// Give version 1's heap back to the kernel, so that the rounds' peak
	// RSS is their own.
	debug.FreeOSMemory()

	// Rounds of changes. After each build the overlay is folded if it
	// reached its limit, as the node does in the background (timed apart).
	var times []time.Duration
	var total time.Duration
	for r := range rounds {
		if err := b.change(n, r, changes); err != nil {
			return err
		}
		if warm {
			if err := b.warm(); err != nil {
				return err
			}
		}
		label := fmt.Sprintf("round%d", r+1)
		d, err := b.timedBuild(label, uint64(changes))
		if err != nil {
			return err
		}
		times = append(times, d)
		f, err := b.timedFold(label)
		if err != nil {
			return err
		}
		total += d + f
	}
	if rounds > 0 {
		slices.Sort(times)
		out("build_10k_median_seconds", secs(times[len(times)/2]))
		out("build_10k_with_folds_mean_seconds", secs(total/time.Duration(rounds)))
	}
	if st, err := os.Stat(nd.DB.Path()); err == nil {
		out("store_mb", st.Size()>>20)
	}
	// The node's resident set between builds: what a node holding the
	// released list keeps (the set-root cache above all), once the Go
	// heap's free pages are given back; RssFile is the store's pages
	// still mapped from the last reads.
	out("steady_rss_mb", procstat.Steady())

	out("process_peak_rss_mb", b.rss.overall>>10)
	if err := b.layout(); err != nil {
		return err
	}

	// Reads, in-process (with the rounds' writes in the member overlay).
	if rounds > 0 {
		if err := b.reads(reads); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bench) setup(creds *node.Credentials, dir string) error {
	var err error
	if b.admin, err = b.h.Authenticate(creds.ClientID, creds.ClientSecret); err != nil {
		return err
	}
	hot, err := b.h.CreateOrg(b.admin, orgs.Org{Name: "Bench Hotline", Kind: orgs.Hotline, Jurisdiction: "NL"})
	if err != nil {
		return err
	}
	plat, err := b.h.CreateOrg(b.admin, orgs.Org{Name: "Bench Platform", Kind: orgs.Platform, Jurisdiction: "NL"})
	if err != nil {
		return err
	}
	actor := func(org, name string) (hub.Actor, *hub.NewUser, error) {
		u, err := b.h.CreateUser(b.admin, org, name)
		if err != nil {
			return hub.Actor{}, nil, err
		}
		a, err := b.h.Authenticate(u.ClientID, u.ClientSecret)
		return a, u, err
	}
	var au *hub.NewUser
	if b.analyst, au, err = actor(hot.ID, "Bench Analyst"); err != nil {
		return err
	}
	if b.reviewer, _, err = actor(hot.ID, "Bench Reviewer"); err != nil {
		return err
	}
	_, pu, err := actor(plat.ID, "Bench Platform Reader")
	if err != nil {
		return err
	}
	_, err = b.h.CreateList(b.admin, lists.List{Name: ListName, Description: "release benchmark",
		Policy: lists.Policy{MinAssessments: 1}, Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}})
	if err != nil {
		return err
	}
	raw, err := json.Marshal(map[string]string{"client_id": pu.ClientID, "client_secret": pu.ClientSecret, "list": ListName,
		"analyst_client_id": au.ClientID, "analyst_client_secret": au.ClientSecret})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "bench.json"), raw, 0o600)
}

// hashOf is synthetic entry i: the same mix as scripts/bench/gen (a third
// each md5, sha256 and pdq with a quality), but derived from i alone so
// that a later round can name entry i without replaying a stream.
func hashOf(i int) (algo, value string, quality int) {
	rng := rand.New(rand.NewPCG(uint64(i), 0x9e3779b97f4a7c15))
	var raw [32]byte
	for j := 0; j < len(raw); j += 8 {
		v := rng.Uint64()
		for k := range 8 {
			raw[j+k] = byte(v >> (8 * k))
		}
	}
	switch i % 3 {
	case 0:
		return "md5", hex.EncodeToString(raw[:16]), -1
	case 1:
		return "sha256", hex.EncodeToString(raw[:]), -1
	}
	return "pdq", hex.EncodeToString(raw[:]), 50 + int(raw[0])%51
}

func keyOf(i int) string {
	algo, value, _ := hashOf(i)
	return algo + ":" + value
}

// lines streams NDJSON for entries [from, to) through a pipe, so nothing
// is held in memory or written to disk.
func lines(from, to int, severity string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<20)
		sev := ""
		if severity != "" {
			sev = `,"severity":"` + severity + `"`
		}
		for i := from; i < to; i++ {
			algo, value, q := hashOf(i)
			if q >= 0 {
				fmt.Fprintf(bw, `{"algo":%q,"value":%q,"quality":%d%s}`+"\n", algo, value, q, sev)
			} else {
				fmt.Fprintf(bw, `{"algo":%q,"value":%q%s}`+"\n", algo, value, sev)
			}
		}
		pw.CloseWithError(bw.Flush())
	}()
	return pr
}

// change makes round r's changes: changes/2 new entries (one import),
// changes/4 retractions and changes/4 severity updates (one call each, as
// analysts make them). Each round touches entries no earlier round did.
func (b *Bench) change(n, r, changes int) error {
	add, retract, update := changes/2, changes/4, changes-changes/2-changes/4
	start := time.Now()
	first := n + r*add
	res, err := b.h.Import(b.analyst, ingest.NewNDJSON(lines(first, first+add, ""), 0), fmt.Sprintf("bench-round-%d", r+1), nil)
	if err != nil {
		return err
	}
	if res.Created != add {
		return fmt.Errorf("round %d: import created %d of %d", r+1, res.Created, add)
	}
	for k := range retract {
		if _, err := b.h.Retract(b.analyst, keyOf(r*retract+k), "benchmark retraction"); err != nil {
			return fmt.Errorf("retract: %w", err)
		}
	}
	sev := []entries.Severity{entries.SeverityA, entries.SeverityB, entries.SeverityC}[r%3]
	for k := range update {
		i := n/2 + r*update + k
		if _, _, err := b.h.Assess(b.reviewer, keyOf(i), entries.Input{Severity: sev}); err != nil {
			return fmt.Errorf("assess: %w", err)
		}
	}
	out(fmt.Sprintf("round%d_changes", r+1), fmt.Sprintf("add=%d retract=%d update=%d made_in=%ss", add, retract, update, secs(time.Since(start))))
	return nil
}

func (b *Bench) build(label string, want uint64) error {
	_, err := b.timedBuild(label, want)
	return err
}

// timedBuild times one BuildRelease and reports its delta, the bbolt
// commit's share and the phase's peak memory.
func (b *Bench) timedBuild(label string, want uint64) (time.Duration, error) {
	runtime.GC()
	before := b.n.DB.Bolt().Stats()
	stop := b.startProfile(label)
	b.rss.reset()
	minflt, majflt := faults()
	cpu := cpuTime()
	start := time.Now()
	m, err := b.h.BuildRelease(b.admin, ListName)
	d := time.Since(start)
	cpu = cpuTime() - cpu
	minflt2, majflt2 := faults()
	stop()
	if err != nil {
		return 0, fmt.Errorf("build %s: %w", label, err)
	}
	got := uint64(m.Delta.Adds + m.Delta.Removes + m.Delta.Updates)
	if got != want {
		return 0, fmt.Errorf("build %s: delta has %d changes, want %d", label, got, want)
	}
	after := b.n.DB.Bolt().Stats()
	tx := after.TxStats.Sub(&before.TxStats)
	out("build_"+label+"_seconds", secs(d))
	out("build_"+label+"_cpu_seconds", secs(cpu)) // user + system, all threads: less sensitive to a shared machine's load
	out("build_"+label+"_delta", fmt.Sprintf("version=%d entries=%d adds=%d removes=%d updates=%d bytes=%d",
		m.Version, m.Entries, m.Delta.Adds, m.Delta.Removes, m.Delta.Updates, m.Delta.Bytes))
	out("build_"+label+"_bbolt", boltStats(&tx))
	out("build_"+label+"_page_faults", fmt.Sprintf("minor=%d major=%d", minflt2-minflt, majflt2-majflt))
	b.rss.report("build_" + label)
	return d, nil
}

// timedFold runs hub.FoldDue, which folds the member overlay into the
// base once it holds hub.DefaultOverlayLimit writes, and reports a fold's
// time and bbolt commit share.
func (b *Bench) timedFold(label string) (time.Duration, error) {
	runtime.GC()
	before := b.n.DB.Bolt().Stats()
	stop := b.startProfile("fold_" + label)
	start := time.Now()
	n, err := b.h.FoldDue(context.Background())
	d := time.Since(start)
	stop()
	if err != nil {
		return 0, fmt.Errorf("fold: %w", err)
	}
	if n == 0 {
		return d, nil
	}
	after := b.n.DB.Bolt().Stats()
	tx := after.TxStats.Sub(&before.TxStats)
	out("fold_"+label+"_seconds", secs(d))
	out("fold_"+label+"_keys", n)
	out("fold_"+label+"_bbolt", boltStats(&tx))
	return d, nil
}

// faults is the process's page faults so far: a minor fault is a store
// page first touched through bbolt's mmap (or fresh heap memory), a major
// one had to be read from disk.
// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func faults() (minor, major int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return ru.Minflt, ru.Majflt
}

// warm reads every page of the store through the mmap (a walk of every
// bucket touching each value), so that the next build finds them mapped
// as in a node that has served for a while.
func (b *Bench) warm() error {
	start := time.Now()
	var sum byte
	var walk func(bk *bolt.Bucket)
	walk = func(bk *bolt.Bucket) {
		c := bk.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				if sub := bk.Bucket(k); sub != nil {
					walk(sub)
				}
				continue
			}
			for i := 0; i < len(v); i += 4096 {
				sum += v[i]
			}
		}
	}
	err := b.n.DB.Bolt().View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, bk *bolt.Bucket) error { walk(bk); return nil })
	})
	out("warm_seconds", fmt.Sprintf("%s (checksum %d)", secs(time.Since(start)), sum))
	return err
}

// layout reports the shape of the B+trees a build writes to: a random
// change dirties its leaf page and every branch page above it, so the
// number of branch pages decides how many pages 10,000 changes rewrite.
func (b *Bench) layout() error {
	return b.n.DB.Bolt().View(func(tx *bolt.Tx) error {
		ls := tx.Bucket([]byte("list_state")).Bucket([]byte(ListName))
		for _, bk := range []struct {
			name string
			b    *bolt.Bucket
		}{{"entries", tx.Bucket([]byte("entries"))}, {"entry_index", tx.Bucket([]byte("entry_index"))},
			{"list_members", ls.Bucket([]byte("members"))}, {"list_overlay", ls.Bucket([]byte("overlay"))},
			{"list_by_entry", ls.Bucket([]byte("by_entry"))}} {
			if bk.b == nil {
				continue // by_entry is no longer kept; no overlay right after a compaction
			}
			st := bk.b.Stats()
			out("layout_"+bk.name, fmt.Sprintf("keys=%d depth=%d leaf_pages=%d (%.0f%% full) branch_pages=%d overflow_pages=%d",
				st.KeyN, st.Depth, st.LeafPageN, 100*float64(st.LeafInuse)/float64(max(1, st.LeafAlloc)), st.BranchPageN, st.LeafOverflowN))
		}
		return nil
	})
}

func boltStats(tx *bolt.TxStats) string {
	return fmt.Sprintf("spill=%ss rebalance=%ss write+fsync=%ss pages_written=%d nodes_split=%d",
		secs(tx.GetSpillTime()), secs(tx.GetRebalanceTime()), secs(tx.GetWriteTime()), tx.GetWrite(), tx.GetSplit())
}

// startProfile records a CPU profile of one build and, at the largest
// Go heap seen during it, a heap profile (as of the last GC then).
func (b *Bench) startProfile(label string) func() {
	if b.profile == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(b.profile, "build_"+label+".pprof"))
	if err != nil {
		fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var best uint64
		var ms runtime.MemStats
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse < best*11/10 {
				continue
			}
			best = ms.HeapInuse
			if hf, err := os.Create(filepath.Join(b.profile, "heap_"+label+".pprof")); err == nil {
				pprof.Lookup("heap").WriteTo(hf, 0)
				hf.Close()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		pprof.StopCPUProfile()
		f.Close()
	}
}

// reads times the 10,000-change delta (from=1, to=2), a compacted delta
// across every round, and the whole snapshot, into io.Discard.
func (b *Bench) reads(reps int) error {
	median := func(label string, reps int, fn func(w io.Writer) error) (time.Duration, int64, error) {
		var ds []time.Duration
		var size int64
		for range reps {
			cw := &countWriter{}
			start := time.Now()
			if err := fn(cw); err != nil {
				return 0, 0, fmt.Errorf("%s: %w", label, err)
			}
			ds = append(ds, time.Since(start))
			size = cw.n
		}
		slices.Sort(ds)
		return ds[len(ds)/2], size, nil
	}
	ri, err := b.h.Releases(ListName)
	if err != nil {
		return err
	}
	d, size, err := median("delta", reps, func(w io.Writer) error { return b.h.WriteDelta(w, ListName, 1, 2, hub.NDJSON) })
	if err != nil {
		return err
	}
	out("inproc_delta_1_2_ms", ms(d))
	out("inproc_delta_1_2_bytes", size)
	d, size, err = median("delta csv", reps, func(w io.Writer) error { return b.h.WriteDelta(w, ListName, 1, 2, hub.CSV) })
	if err != nil {
		return err
	}
	out("inproc_delta_1_2_csv_ms", ms(d))
	if ri.Latest > 2 {
		d, size, err = median("compacted delta", 5, func(w io.Writer) error { return b.h.WriteDelta(w, ListName, 1, ri.Latest, hub.NDJSON) })
		if err != nil {
			return err
		}
		out(fmt.Sprintf("inproc_delta_1_%d_compacted_ms", ri.Latest), ms(d))
		out(fmt.Sprintf("inproc_delta_1_%d_compacted_bytes", ri.Latest), size)
	}
	d, size, err = median("snapshot", 3, func(w io.Writer) error { return b.h.WriteSnapshot(w, ListName, 0, hub.NDJSON, nil) })
	if err != nil {
		return err
	}
	out("inproc_snapshot_seconds", secs(d))
	out("inproc_snapshot_mb", fmt.Sprintf("%.1f", float64(size)/1e6))
	out("inproc_snapshot_mb_per_s", fmt.Sprintf("%.0f", float64(size)/1e6/d.Seconds()))
	return nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// rssSampler follows the process's resident memory: the kernel's peak
// (VmHWM, reset per phase) and sampled anonymous (heap) and file-backed
// (bbolt's mmap) parts, whose sum is the RSS.
type rssSampler struct {
	mu         sync.Mutex
	anon, file int64 // peaks since reset, kB
	heap       uint64
	overall    int64 // the largest VmHWM reported, kB
	done       chan struct{}
}

func startRSS() *rssSampler {
	s := &rssSampler{done: make(chan struct{})}
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for i := 0; ; i++ {
			select {
			case <-s.done:
				return
			case <-t.C:
			}
			st := procstat.Status(0)
			s.mu.Lock()
			s.anon = max(s.anon, st["RssAnon"])
			s.file = max(s.file, st["RssFile"])
			s.mu.Unlock()
			if i%10 == 0 { // ReadMemStats stops the world: sample it less often
				runtime.ReadMemStats(&ms)
				s.mu.Lock()
				s.heap = max(s.heap, ms.HeapInuse)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() { close(s.done) }

// reset starts a new phase: the kernel's peak is set back to the current
// RSS (write 5 to clear_refs, Linux ≥ 4.0) and the samples are cleared.
func (s *rssSampler) reset() {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		fmt.Fprintln(os.Stderr, "cannot reset VmHWM:", err)
	}
	s.mu.Lock()
	s.anon, s.file, s.heap = 0, 0, 0
	s.mu.Unlock()
}

func (s *rssSampler) report(label string) {
	st := procstat.Status(0)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overall = max(s.overall, st["VmHWM"])
	out(label+"_peak_rss_mb", fmt.Sprintf("%d (sampled: anon %d, file %d; go heap in use %d)",
		st["VmHWM"]>>10, max(s.anon, st["RssAnon"])>>10, max(s.file, st["RssFile"])>>10, s.heap>>20))
}
