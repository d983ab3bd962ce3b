// Command matchcli measures `hashctl match` end to end: in-process it
// serves a real node on 127.0.0.1, imports N random PDQ entries, publishes
// a release and lets a real hashctl process pull it into a mirror; then it
// times hashctl match processes (GNU time: wall and peak RSS) on one query
// line (the cost of loading the mirror into the index) and on Q query
// lines (half a stored hash moved 0-16 bits, half random).
//
//	go run ./scripts/bench/matchcli -n 1000000 -queries 10000 -hashctl /path/to/hashctl
package main

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
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
	n := flag.Int("n", 1_000_000, "PDQ entries in the list")
	queries := flag.Int("queries", 10_000, "query lines in the timed match")
	hashctl := flag.String("hashctl", "hashctl", "hashctl binary")
	flag.Parse()
	if err := run(*n, *queries, *hashctl); err != nil {
		fmt.Fprintln(os.Stderr, "matchcli bench:", err)
		os.Exit(1)
	}
}

func out(k string, v any) { fmt.Printf("%s=%v\n", k, v) }

func run(n, queries int, hashctl string) error {
	bn, err := benchnode.Start("matchclibench", "MATCHBENCH_KEEP", 1)
	if err != nil {
		return err
	}
	defer bn.Close()
	work, url, h, admin, credFile := bn.Work, bn.URL, bn.Hub, bn.Admin, bn.CredFile
	a1 := bn.Analysts[0]
	rng := rand.New(rand.NewPCG(1, 2))
	raw := make([]byte, 32)
	random := func() []byte {
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		return raw
	}
	var stored [][]byte
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		v := random()
		if i%(n/1000+1) == 0 {
			stored = append(stored, bytes.Clone(v))
		}
		fmt.Fprintf(&b, `{"algo":"pdq","value":%q,"quality":100,"severity":"B"}`+"\n", hex.EncodeToString(v))
	}
	start := time.Now()
	if _, err := h.Import(a1, ingest.NewNDJSON(&b, ingest.DefaultMaxLine), "bench-1", nil); err != nil {
		return err
	}
	out("import_seconds", fmt.Sprintf("%.1f", time.Since(start).Seconds()))
	if _, err := h.BuildRelease(admin, "bench"); err != nil {
		return err
	}
	debug.FreeOSMemory()
	mirrorDir := filepath.Join(work, "mirror")
	pull := exec.Command(hashctl, "pull", "--list", "bench", "--dir", mirrorDir, "--trust-on-first-use", "--server", url, "--credentials", credFile)
	if o, err := pull.CombinedOutput(); err != nil {
		return fmt.Errorf("pull: %v\n%s", err, o)
	}
	bn.Stop() // nothing below talks to the node

	timed := func(label string, input []byte) error {
		timeFile := filepath.Join(work, "time.txt")
		cmd := exec.Command("/usr/bin/time", "-f", "%e %M", "-o", timeFile, hashctl, "match", "--dir", mirrorDir)
		var stdout, stderr bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(input), &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 1) {
			return fmt.Errorf("%s: %v\n%s", label, err, stderr.String())
		}
		t, _ := os.ReadFile(timeFile)
		var secs float64
		var kb int
		fmt.Sscanf(strings.TrimSpace(string(t)), "%f %d", &secs, &kb)
		out(label+"_seconds", fmt.Sprintf("%.2f", wall.Seconds()))
		out(label+"_peak_rss_mb", kb/1024)
		out(label+"_matches", strings.Count(stdout.String(), "\n"))
		return nil
	}
	one := fmt.Sprintf(`{"algo":"pdq","value":%q,"quality":100}`+"\n", hex.EncodeToString(stored[0]))
	if err := timed("match_1_line", []byte(one)); err != nil {
		return err
	}
	var q bytes.Buffer
	for i := 0; i < queries; i++ {
		var v []byte
		if i%2 == 0 {
			v = bytes.Clone(stored[rng.IntN(len(stored))])
			for k := rng.IntN(17); k > 0; k-- {
				bit := rng.IntN(256)
				v[bit/8] ^= 1 << (bit % 8)
			}
		} else {
			v = random()
		}
		fmt.Fprintf(&q, `{"algo":"pdq","value":%q,"quality":100}`+"\n", hex.EncodeToString(v))
	}
	return timed(fmt.Sprintf("match_%d_lines", queries), q.Bytes())
}
