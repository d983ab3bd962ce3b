// Command pull measures `hashctl pull` of a 10,000-change release onto a
// mirror of a large list (issue: signed releases). In-process it serves a
// real node on 127.0.0.1, imports N synthetic entries, publishes version 1
// and lets a real hashctl process pull it into a fresh mirror; then it
// makes 10,000 changes (half new entries, a quarter retractions, a quarter
// severity updates), publishes version 2 and times a second hashctl pull —
// every check included: signature, chain, expiry, log inclusion and
// consistency, delta digest, strict line parsing and the set root — and
// reports its wall time and the hashctl process's peak RSS (GNU time).
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
		timeFile := filepath.Join(work, "time.txt")
		cmd := exec.Command("/usr/bin/time", "-f", "%e %M", "-o", timeFile, hashctl, "pull", "--list", "bench", "--dir", mirrorDir,
			"--trust-on-first-use", "--server", url, "--credentials", credFile)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %v\n%s", label, err, stderr.String())
		}
		wall := time.Since(start)
		t, _ := os.ReadFile(timeFile)
		var secs float64
		var kb int
		fmt.Sscanf(strings.TrimSpace(string(t)), "%f %d", &secs, &kb)
		out(label+"_seconds", fmt.Sprintf("%.3f", wall.Seconds()))
		out(label+"_peak_rss_mb", kb/1024)
		return nil
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
	start = time.Now()
	if err := exec.Command(hashctl, "verify", "--dir", mirrorDir).Run(); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	out("verify_offline_seconds", fmt.Sprintf("%.2f", time.Since(start).Seconds()))
	return nil
}
