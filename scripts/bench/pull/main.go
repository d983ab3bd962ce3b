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
//	go run ./scripts/bench/pull -n 1000000 -hashctl /path/to/hashctl
package main

import (
	"bytes"
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
	"time"

	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/scripts/bench/benchnode"
)

func main() {
	n := flag.Int("n", 1_000_000, "entries in the list")
	changes := flag.Int("changes", 10_000, "changes between the two versions")
	hashctl := flag.String("hashctl", "hashctl", "hashctl binary")
	flag.Parse()
	if err := run(*n, *changes, *hashctl); err != nil {
		fmt.Fprintln(os.Stderr, "pull bench:", err)
		os.Exit(1)
	}
}

func out(k string, v any) { fmt.Printf("%s=%v\n", k, v) }

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
	gen := func(count int) *bytes.Buffer {
		var b bytes.Buffer
		raw := make([]byte, 32)
		for i := 0; i < count; i++ {
			for j := range raw {
				raw[j] = byte(rng.Uint32())
			}
			v := hex.EncodeToString(raw)
			values = append(values, v)
			fmt.Fprintf(&b, `{"algo":"sha256","value":%q,"severity":"B"}`+"\n", v)
		}
		return &b
	}
	start := time.Now()
	if _, err := h.Import(a1, ingest.NewNDJSON(gen(n), ingest.DefaultMaxLine), "bench-1", nil); err != nil {
		return err
	}
	out("import_seconds", fmt.Sprintf("%.1f", time.Since(start).Seconds()))
	start = time.Now()
	if _, err := h.BuildRelease(admin, "bench"); err != nil {
		return err
	}
	out("release_v1_seconds", fmt.Sprintf("%.1f", time.Since(start).Seconds()))
	// Give the first release's memory back before a second process (the
	// first pull) needs its own: both are large at 10M entries.
	debug.FreeOSMemory()
	mirrorDir := filepath.Join(work, "mirror")
	pull := func(label string) error {
		return measure(label, hashctl, "pull", "--list", "bench", "--dir", mirrorDir,
			"--trust-on-first-use", "--server", url, "--credentials", credFile)
	}
	if err := pull("pull_v1"); err != nil {
		return err
	}
	// 10,000 changes: half new, a quarter retracted, a quarter updated.
	newOnes := gen(changes / 2)
	if _, err := h.Import(a1, ingest.NewNDJSON(newOnes, ingest.DefaultMaxLine), "bench-2", nil); err != nil {
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
	m, err := h.BuildRelease(admin, "bench")
	if err != nil {
		return err
	}
	out("v2_delta", fmt.Sprintf("+%d-%d~%d", m.Delta.Adds, m.Delta.Removes, m.Delta.Updates))
	if os.Getenv("PULLBENCH_STOP") != "" {
		out("url", url)
		out("stopped_before_second_pull", 1)
		time.Sleep(time.Hour)
	}
	if err := pull("pull_10k_changes"); err != nil {
		return err
	}
	if err := pull("pull_up_to_date"); err != nil {
		return err
	}
	if err := measure("verify_offline", hashctl, "verify", "--dir", mirrorDir); err != nil {
		return err
	}
	if fi, err := os.Stat(filepath.Join(mirrorDir, "mirror.db")); err == nil {
		out("mirror_file_mb", fi.Size()>>20)
	}
	return nil
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
				st := procStatus(cmd.Process.Pid)
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

// procStatus reads a process's /proc status fields in kB (none if it
// cannot be read).
func procStatus(pid int) map[string]int64 {
	st := map[string]int64{}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st
	}
	for _, l := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		var kb int64
		if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb); err == nil {
			st[k] = kb
		}
	}
	return st
}
