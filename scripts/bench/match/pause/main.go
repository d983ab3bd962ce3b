// Command pause measures what hashctl match serve's lookups wait while a
// pulled delta is applied to the live index: it loads a mirror as the
// service does (match.LoadMirror), then applies deltas of -changes
// changes (half adds of new PDQ hashes, half removes of the adds before)
// with Index.Apply — the call the service's importer makes, under the
// index's write lock — while two goroutines look up PDQ hashes without
// pause. It reports each Apply's duration, the lookups' p50/p99/max
// latency before and during the applies, and one Compact (the rebuild of
// the PDQ tables that a write starts in the background when 32,768 adds
// have gathered; it builds outside the lock, so lookups do not wait).
//
//	go run ./scripts/bench/match/pause -dir DIR/mirror -changes 10000 -rounds 5
package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashhub/hashhub/match"
	"github.com/hashhub/hashhub/release"
)

func main() {
	dir := flag.String("dir", "", "mirror `DIR`")
	changes := flag.Int("changes", 10_000, "changes per delta")
	rounds := flag.Int("rounds", 5, "deltas applied")
	flag.Parse()
	if err := run(*dir, *changes, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "pause:", err)
		os.Exit(1)
	}
}

func randomPDQ(r *rand.Rand) string {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b)
}

// cpu is the process's CPU time so far (user and system): on a loaded
// machine a wall-clock pause is inflated, its CPU time much less.
func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func run(dir string, changes, rounds int) error {
	ix := match.New()
	start := time.Now()
	st, err := ix.LoadMirror(dir, "")
	if err != nil {
		return err
	}
	fmt.Printf("load_seconds=%.1f entries=%d\n", time.Since(start).Seconds(), ix.Len())

	var mu sync.Mutex
	var lat []time.Duration
	recording := atomic.Bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				q := match.Query{Algo: "pdq", Value: randomPDQ(r)}
				t0 := time.Now()
				if _, err := ix.Lookup(q); err != nil {
					panic(err)
				}
				if recording.Load() {
					mu.Lock()
					lat = append(lat, time.Since(t0))
					mu.Unlock()
				}
			}
		}()
	}
	window := func(label string, d time.Duration, during func()) {
		mu.Lock()
		lat = lat[:0]
		mu.Unlock()
		recording.Store(true)
		if during != nil {
			during()
		} else {
			time.Sleep(d)
		}
		recording.Store(false)
		mu.Lock()
		l := slices.Clone(lat)
		mu.Unlock()
		slices.Sort(l)
		if len(l) == 0 {
			fmt.Printf("%s: no lookups\n", label)
			return
		}
		q := func(p float64) time.Duration { return l[min(len(l)-1, int(p*float64(len(l))))] }
		fmt.Printf("%s: lookups=%d p50=%v p99=%v max=%v\n", label, len(l), q(0.5), q(0.99), l[len(l)-1])
	}

	window("lookups_quiet", 3*time.Second, nil)
	r := rand.New(rand.NewPCG(3, 4))
	hundred := 100
	var prev []string
	v := st.Version
	window("lookups_during_applies", 0, func() {
		for round := range rounds {
			var cs []release.Change
			for _, h := range prev {
				cs = append(cs, release.Change{Op: release.OpRemove, Item: release.Item{Algo: "pdq", Value: h}})
			}
			prev = prev[:0]
			for len(cs) < changes {
				h := randomPDQ(r)
				prev = append(prev, h)
				cs = append(cs, release.Change{Op: release.OpAdd, Item: release.Item{Algo: "pdq", Value: h, Quality: &hundred, Severity: "B"}})
			}
			v++
			t0 := time.Now()
			if err := ix.Apply(st.List, v, cs); err != nil {
				panic(err)
			}
			fmt.Printf("apply round %d: %d changes in %v\n", round+1, len(cs), time.Since(t0).Round(time.Microsecond))
			time.Sleep(500 * time.Millisecond)
		}
	})
	window("lookups_during_compact", 0, func() {
		t0, c0 := time.Now(), cpu()
		ix.Compact()
		fmt.Printf("compact: %v (process CPU %v; built outside the lock, swapped in under it)\n", time.Since(t0).Round(time.Millisecond), (cpu() - c0).Round(time.Millisecond))
		time.Sleep(200 * time.Millisecond)
	})
	close(stop)
	wg.Wait()
	return nil
}
