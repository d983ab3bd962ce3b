// Command pull measures `hashctl pull` of a 10,000-change release onto a
// mirror of a large list (issue: signed releases). In-process it serves a
// real node on 127.0.0.1, imports N synthetic entries, publishes version 1
// and lets a real hashctl process pull it into a fresh mirror; then it
// makes 10,000 changes (half new entries, a quarter retractions, a quarter
// severity updates), publishes version 2 and times a second hashctl pull —
// every check included: signature, chain, expiry, log inclusion and
// consistency, delta digest, strict line parsing and the set root — and
// reports its wall time and the hashctl process's peak RSS (VmHWM), and
// those of an offline `hashctl verify` of the result.
//
// The in-process steps (import, version 1, version 2) and, with -publish
// DIR, a publication of each version to a static tree (what `hashhub
// publish --to DIR` runs) report their wall time, CPU seconds (this
// process's, user + system), peak RSS (VmHWM, reset before the step) and
// the load average. At the end it reports the node's resident set between
// releases (steady state). With -serve it then keeps the node serving and
// prints what scripts/bench/publish/pullers.sh needs, until stdin closes.
//
//	go run ./scripts/bench/pull -n 1000000 -hashctl /path/to/hashctl
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/publish"
	"github.com/hashhub/hashhub/scripts/bench/benchnode"
	"github.com/hashhub/hashhub/scripts/bench/procstat"
)

func main() {
	n := flag.Int("n", 1_000_000, "entries in the list")
	changes := flag.Int("changes", 10_000, "changes between the two versions")
	hashctl := flag.String("hashctl", "hashctl", "hashctl binary")
	flag.StringVar(&publishDir, "publish", "", "publish each version to this `DIR` (a static tree; must not exist) and report what each publication wrote")
	flag.BoolVar(&pulls, "pulls", true, "run and measure the hashctl pulls and verify")
	flag.BoolVar(&freshPull, "fresh-pull", false, "after version 2, also time a first pull of the two-version list into an empty mirror (removed after)")
	flag.BoolVar(&serve, "serve", false, "at the end, keep serving the node and print its URL, credentials file and tree until stdin closes")
	flag.Parse()
	if err := run(*n, *changes, *hashctl); err != nil {
		fmt.Fprintln(os.Stderr, "pull bench:", err)
		os.Exit(1)
	}
}

func out(k string, v any) { fmt.Printf("%s=%v\n", k, v) }

// The flags -publish, -pulls and -serve.
var (
	publishDir string
	pulls      bool
	freshPull  bool
	serve      bool
)

// step measures an in-process step: wall, this process's CPU seconds,
// its peak RSS (VmHWM, reset before the step through clear_refs) and
// the load average before and after.
func step(label string, f func() error) error {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // reset VmHWM
	load := loadavg()
	cpu0 := cpuSeconds()
	start := time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	wall := time.Since(start)
	st := procstat.Status(0)
	out(label+"_seconds", fmt.Sprintf("%.1f", wall.Seconds()))
	out(label+"_cpu_seconds", fmt.Sprintf("%.1f", cpuSeconds()-cpu0))
	out(label+"_peak_rss_mb", fmt.Sprintf("%d (now anon %d, file %d)", st["VmHWM"]>>10, st["RssAnon"]>>10, st["RssFile"]>>10))
	out(label+"_load", load+" -> "+loadavg())
	return nil
}

// cpuSeconds is this process's user + system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// loadavg is the 1-minute load average.
func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// lineReader streams count synthetic NDJSON lines from rng, keeping the
// first values in *keep (up to limit) for the later changes: at 10M the
// import is not held in memory, and the node's resident set is its own.
func lineReader(rng *rand.Rand, count int, keep *[]string, limit int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<16)
		raw := make([]byte, 32)
		for i := 0; i < count; i++ {
			for j := range raw {
				raw[j] = byte(rng.Uint32())
			}
			v := hex.EncodeToString(raw)
			if len(*keep) < limit {
				*keep = append(*keep, v)
			}
			fmt.Fprintf(w, `{"algo":"sha256","value":%q,"severity":"B"}`+"\n", v)
		}
		pw.CloseWithError(w.Flush())
	}()
	return pr
}

func run(n, changes int, hashctl string) error {
	bn, err := benchnode.Start("pullbench", "PULLBENCH_KEEP", 2)
	if err != nil {
		return err
	}
	defer bn.Close()
	work, url, h, admin, credFile := bn.Work, bn.URL, bn.Hub, bn.Admin, bn.CredFile
	a1, a2 := bn.Analysts[0], bn.Analysts[1]
	rng := rand.New(rand.NewPCG(1, 2))
	var values []string
	out("load_at_start", loadavg())
	if err := step("import", func() error {
		_, err := h.Import(a1, ingest.NewNDJSON(lineReader(rng, n, &values, changes/2), ingest.DefaultMaxLine), "bench-1", nil)
		return err
	}); err != nil {
		return err
	}
	if err := step("release_v1", func() error {
		_, err := h.BuildRelease(admin, "bench")
		return err
	}); err != nil {
		return err
	}
	// Give the first release's memory back before a second process (the
	// first pull) needs its own: both are large at 10M entries.
	debug.FreeOSMemory()
	var target publish.Target
	if publishDir != "" {
		if _, err := os.Stat(publishDir); err == nil {
			return fmt.Errorf("%q exists; give a fresh directory", publishDir)
		}
		if target, err = publish.Open(publishDir); err != nil {
			return err
		}
		// The bench list's readers are platforms: a restricted list goes
		// only to an access-controlled (private) target.
		if err := publishStep("publish_v1", bn, target); err != nil {
			return err
		}
		debug.FreeOSMemory()
	}
	mirrorDir := filepath.Join(work, "mirror")
	pull := func(label string) error {
		return measure(label, hashctl, "pull", "--list", "bench", "--dir", mirrorDir,
			"--trust-on-first-use", "--server", url, "--credentials", credFile)
	}
	if pulls {
		if err := pull("pull_v1"); err != nil {
			return err
		}
	}
	// 10,000 changes: half new, a quarter retracted, a quarter updated.
	var none []string
	if _, err := h.Import(a1, ingest.NewNDJSON(lineReader(rng, changes/2, &none, 0), ingest.DefaultMaxLine), "bench-2", nil); err != nil {
		return err
	}
	for i := 0; i < changes/4; i++ {
		if _, err := h.Retract(a1, "sha256:"+values[i], "bench"); err != nil {
			return err
		}
	}
	var upd bytes.Buffer
	for i := changes / 4; i < changes/2; i++ {
		fmt.Fprintf(&upd, `{"algo":"sha256","value":%q,"severity":"A"}`+"\n", values[i])
	}
	if _, err := h.Import(a2, ingest.NewNDJSON(&upd, ingest.DefaultMaxLine), "bench-3", nil); err != nil {
		return err
	}
	if err := step("release_v2", func() error {
		m, err := h.BuildRelease(admin, "bench")
		if err == nil {
			out("v2_delta", fmt.Sprintf("+%d-%d~%d", m.Delta.Adds, m.Delta.Removes, m.Delta.Updates))
		}
		return err
	}); err != nil {
		return err
	}
	if target != nil {
		if err := publishStep("publish_v2", bn, target); err != nil {
			return err
		}
	}
	if os.Getenv("PULLBENCH_STOP") != "" {
		out("url", url)
		out("stopped_before_second_pull", 1)
		time.Sleep(time.Hour)
	}
	if pulls {
		if err := pull("pull_10k_changes"); err != nil {
			return err
		}
		if err := pull("pull_up_to_date"); err != nil {
			return err
		}
		if freshPull {
			// A platform that starts mirroring the list now: two
			// versions, so not the single-version path of pull_v1.
			fresh := filepath.Join(work, "mirror-fresh")
			if err := measure("pull_fresh_v2", hashctl, "pull", "--list", "bench", "--dir", fresh,
				"--trust-on-first-use", "--server", url, "--credentials", credFile); err != nil {
				return err
			}
			os.RemoveAll(fresh)
		}
		if err := measure("verify_offline", hashctl, "verify", "--dir", mirrorDir); err != nil {
			return err
		}
		if fi, err := os.Stat(filepath.Join(mirrorDir, "mirror.db")); err == nil {
			out("mirror_file_mb", fi.Size()>>20)
		}
	}
	// The node between releases: the set-root cache and what its reads
	// left mapped, once the Go heap's free pages are given back.
	out("node_steady_rss_mb", procstat.Steady())
	if fi, err := os.Stat(bn.Node().DB.Path()); err == nil {
		out("store_file_mb", fi.Size()>>20)
	}
	if serve {
		out("url", url)
		out("credentials", credFile)
		out("tree", publishDir)
		out("pid", os.Getpid())
		out("serving", 1)
		io.Copy(io.Discard, os.Stdin)
	}
	return nil
}

// publishStep publishes the node's releases to target, as `hashhub
// publish --private --to DIR` does, and reports what it wrote.
func publishStep(label string, bn *benchnode.Bench, target publish.Target) error {
	return step(label, func() error {
		sum, err := bn.Node().Publisher(target, true).Publish(context.Background())
		if err != nil {
			return err
		}
		out(label+"_files_written", sum.FilesWritten)
		out(label+"_bytes_written", sum.BytesWritten)
		out(label+"_files_already_there", sum.FilesSkipped)
		for _, l := range sum.Lists {
			out(label+"_list", fmt.Sprintf("%s %d->%d snapshot=%d %s", l.List, l.From, l.Version, l.Snapshot, l.Skipped))
		}
		return nil
	})
}

// measure runs a hashctl command and reports its wall time and peak RSS:
// the kernel's VmHWM, read from /proc every 20 ms while it runs. Not
// wait4's ru_maxrss (nor GNU time run from here): after fork and exec it
// starts from the RSS of the forking process, this benchmark with its
// node, and so reports the node's size for every command.
func measure(label, hashctl string, args ...string) error {
	cmd := exec.Command(hashctl, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	var hwm, anon, file int64
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				st := procstat.Status(cmd.Process.Pid)
				hwm, anon, file = max(hwm, st["VmHWM"]), max(anon, st["RssAnon"]), max(file, st["RssFile"])
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	wall := time.Since(start)
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", label, err, stderr.String())
	}
	out(label+"_seconds", fmt.Sprintf("%.3f", wall.Seconds()))
	out(label+"_peak_rss_mb", hwm/1024)
	// CPU seconds (user + system) say more than wall time on a busy
	// machine.
	out(label+"_cpu_seconds", fmt.Sprintf("%.2f", (cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()).Seconds()))
	// Sampled, so a little below the true peaks: anonymous memory (Go's
	// heap and runtime) and mapped file pages (the mirror, read by bbolt).
	out(label+"_max_anon_file_mb", fmt.Sprintf("%d %d", anon/1024, file/1024))
	return nil
}
