// Command match measures the match index in process: a synthetic PDQ list
// of near-duplicate families (a seed and members 1 to 40 bits from it),
// radius-31 queries single-threaded beside brute force over the same
// hashes, every query's result checked against brute force, the index's
// heap, build time, a 10,000-change delta, and exact md5 batch lookups.
//
//	go run ./scripts/bench/match -n 1000000
package main

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashhub/hashhub/match"
	"github.com/hashhub/hashhub/release"
)

type hash [4]uint64

var hundred = 100

func (h hash) String() string {
	var b [32]byte
	for i, w := range h {
		for j := range 8 {
			b[i*8+j] = byte(w >> (56 - 8*j))
		}
	}
	return hex.EncodeToString(b[:])
}

func dist(a, b *hash) int {
	return bits.OnesCount64(a[0]^b[0]) + bits.OnesCount64(a[1]^b[1]) +
		bits.OnesCount64(a[2]^b[2]) + bits.OnesCount64(a[3]^b[3])
}

func flip(r *rand.Rand, h hash, n int) hash {
	for range n {
		b := r.IntN(256)
		h[b/64] ^= 1 << (b % 64)
	}
	return h
}

func heap() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// status returns a field of /proc/self/status in kB (VmRSS, VmHWM).
func status(field string) int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			var kb int
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	return 0
}

func rss() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") || strings.HasPrefix(l, "VmHWM:") {
			fmt.Print(l, "  ")
		}
	}
	return ""
}

func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func main() {
	n := flag.Int("n", 1_000_000, "PDQ entries")
	nq := flag.Int("queries", 10_000, "radius queries, each checked against brute force")
	nbrute := flag.Int("brute", 200, "queries also timed by brute force")
	radius := flag.Int("r", match.DefaultDistance, "radius")
	nmd5 := flag.Int("md5", 0, "md5 entries for the exact batch (0: same as -n)")
	cpuprof := flag.String("cpuprofile", "", "write a CPU profile of the timed queries to this file")
	buildprof := flag.String("buildprofile", "", "write a CPU profile of the build to this file")
	mirrorDir := flag.String("mirror", "", "instead: time building the index from this mirror directory (what hashctl match does on start), and exit")
	flag.Parse()
	if *mirrorDir != "" {
		startup(*mirrorDir, *buildprof)
		return
	}
	if *nmd5 == 0 {
		*nmd5 = *n
	}
	r := rand.New(rand.NewPCG(42, 42))

	// The list: families of 1 to 12 near-duplicates.
	list := make([]hash, 0, *n)
	for len(list) < *n {
		seed := hash{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}
		for k := 0; k < 1+r.IntN(12) && len(list) < *n; k++ {
			if k == 0 {
				list = append(list, seed)
			} else {
				list = append(list, flip(r, seed, 1+r.IntN(40)))
			}
		}
	}
	base := heap()
	baseRSS := status("VmRSS")
	// Built as a mirror load builds it: canonical snapshot lines streamed
	// into LoadSnapshot (parse, add, then one rebuild of the tables).
	ix := match.New()
	start := time.Now()
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<16)
		for _, h := range list {
			it := release.Item{Algo: "pdq", Value: h.String(), Quality: &hundred}
			bw.Write(it.Line())
			bw.WriteByte('\n')
		}
		bw.Flush()
		pw.Close()
	}()
	if *buildprof != "" {
		f, err := os.Create(*buildprof)
		if err != nil {
			panic(err)
		}
		pprof.StartCPUProfile(f)
	}
	if err := ix.LoadSnapshot("bench", 1, pr); err != nil {
		panic(err)
	}
	build := time.Since(start)
	if *buildprof != "" {
		pprof.StopCPUProfile()
	}
	ixHeap := int64(heap()) - int64(base)
	ixRSS := status("VmRSS") - baseRSS
	fmt.Printf("pdq entries %d: build %.1fs (LoadSnapshot of canonical lines); index, after GC and FreeOSMemory: Go heap %+d MiB, process RSS %+d MiB (VmRSS %d MiB before the build, the bench's own data; %d MiB after); peak VmHWM %d MiB\n",
		*n, build.Seconds(), ixHeap>>20, ixRSS>>10, baseRSS>>10, status("VmRSS")>>10, status("VmHWM")>>10)

	// Queries: 4 in 5 are a stored hash moved 0 to 40 bits, 1 in 5 random.
	qs := make([]hash, *nq)
	for i := range qs {
		if r.IntN(5) == 0 {
			qs[i] = hash{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}
		} else {
			qs[i] = flip(r, list[r.IntN(len(list))], r.IntN(41))
		}
	}
	lat := make([]time.Duration, len(qs))
	got := make([][]string, len(qs))
	matched := 0
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			panic(err)
		}
		pprof.StartCPUProfile(f)
	}
	for i, q := range qs {
		v := q.String()
		t0 := time.Now()
		res, err := ix.Lookup(match.Query{Algo: "pdq", Value: v, MaxDistance: radius})
		lat[i] = time.Since(t0)
		if err != nil {
			panic(err)
		}
		for _, m := range res.Matches {
			got[i] = append(got[i], fmt.Sprintf("%s/%d", m.Value, m.Distance))
		}
		slices.Sort(got[i])
		matched += len(res.Matches)
	}
	if *cpuprof != "" {
		pprof.StopCPUProfile()
	}
	fmt.Printf("radius %d, %d queries (%d matches): p50 %v p99 %v max %v\n", *radius, len(qs), matched,
		pct(lat, 0.5), pct(lat, 0.99), pct(lat, 1))

	// Brute force: every query checked, the first -brute timed one at a
	// time on one goroutine (the figure); the rest only checked, on every
	// core, which changes no figure and makes a 10M check take half as long.
	var misses, extras atomic.Int64
	check := func(i int) time.Duration {
		q := qs[i]
		t0 := time.Now()
		var want []string
		for j := range list {
			if d := dist(&list[j], &q); d <= *radius {
				want = append(want, fmt.Sprintf("%s/%d", list[j].String(), d))
			}
		}
		el := time.Since(t0)
		slices.Sort(want)
		for _, w := range want {
			if _, ok := slices.BinarySearch(got[i], w); !ok {
				misses.Add(1)
			}
		}
		for _, g := range got[i] {
			if _, ok := slices.BinarySearch(want, g); !ok {
				extras.Add(1)
			}
		}
		return el
	}
	var bruteLat []time.Duration
	for i := range min(*nbrute, len(qs)) {
		bruteLat = append(bruteLat, check(i))
	}
	var next atomic.Int64
	next.Store(int64(len(bruteLat)))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(qs); i = int(next.Add(1) - 1) {
				check(i)
			}
		})
	}
	wg.Wait()
	fmt.Printf("brute force (%d timed): p50 %v p99 %v; ratio of p50s %.0f×; checked %d queries: %d misses, %d extras\n",
		len(bruteLat), pct(bruteLat, 0.5), pct(bruteLat, 0.99), float64(pct(bruteLat, 0.5))/float64(pct(lat, 0.5)),
		len(qs), misses.Load(), extras.Load())

	// A delta of 10,000 changes: 5,000 removes and 5,000 adds.
	var changes []release.Change
	for i := range 5000 {
		changes = append(changes, release.Change{Op: release.OpRemove, Item: release.Item{Algo: "pdq", Value: list[i*(len(list)/5000)].String()}})
		changes = append(changes, release.Change{Op: release.OpAdd, Item: release.Item{Algo: "pdq", Value: flip(r, list[r.IntN(len(list))], 5).String()}})
	}
	t0 := time.Now()
	if err := ix.Apply("bench", 2, changes); err != nil {
		panic(err)
	}
	fmt.Printf("update: 10,000 changes (5,000 removes, 5,000 adds) in %v\n", time.Since(t0))

	// Exact: md5 entries, a batch of 1M digests (half present).
	list, qs, got, ix = nil, nil, nil, nil
	base = heap()
	ex := match.New()
	digests := make([][16]byte, 0, 1_000_000)
	var d [16]byte
	t0 = time.Now()
	for i := range *nmd5 {
		for j := range 2 {
			w := r.Uint64()
			for k := range 8 {
				d[j*8+k] = byte(w >> (8 * k))
			}
		}
		if err := ex.Add(match.Entry{List: "bench", Algo: "md5", Value: hex.EncodeToString(d[:]), Version: 1}); err != nil {
			panic(err)
		}
		if i%(*nmd5/500_000+1) == 0 && len(digests) < cap(digests) {
			digests = append(digests, d)
		}
	}
	mdBuild := time.Since(t0)
	for len(digests) < cap(digests) {
		d[0]++
		digests = append(digests, [16]byte{byte(len(digests)), 1, 2, 3})
	}
	exHeap := heap() - base
	t0 = time.Now()
	hits := ex.CountExactMD5(digests)
	el := time.Since(t0)
	fmt.Printf("md5 entries %d: build %.1fs, heap %d MiB; batch of %d: %d hits in %v = %.1fM lookups/s\n",
		*nmd5, mdBuild.Seconds(), exHeap>>20, len(digests), hits, el, float64(len(digests))/el.Seconds()/1e6)
	rss()
	fmt.Println()
}

// startup builds an index from a mirror directory as hashctl match and
// match serve do on start — read the mirror's stored lines, parse, add,
// build the PDQ tables — and reports the time and the memory.
func startup(dir, prof string) {
	base, baseRSS := heap(), status("VmRSS")
	if prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			panic(err)
		}
		pprof.StartCPUProfile(f)
	}
	t0 := time.Now()
	ix := match.New()
	st, err := ix.LoadMirror(dir, "")
	if err != nil {
		panic(err)
	}
	el := time.Since(t0)
	if prof != "" {
		pprof.StopCPUProfile()
	}
	fmt.Printf("mirror %s: list %s version %d, %d entries: index built in %.1fs; after GC and FreeOSMemory: Go heap %+d MiB, process RSS %+d MiB (%d MiB); peak VmHWM %d MiB\n",
		dir, st.List, st.Version, ix.Len(), el.Seconds(), (int64(heap())-int64(base))>>20, (status("VmRSS")-baseRSS)>>10, status("VmRSS")>>10, status("VmHWM")>>10)
	runtime.KeepAlive(ix) // measured above: not to be collected before
}
