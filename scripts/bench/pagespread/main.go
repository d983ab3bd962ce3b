// Command pagespread measures what a store transaction's page writes cost
// depending on how far apart they lie in the file: it writes a file of
// -size bytes once, then -reps times writes -pages random 4 KiB pages
// (in offset order, as bbolt writes them) within a span at the start of
// the file and fsyncs, for each span in -spans. docs/PERFORMANCE.md uses
// it to explain the first-fit freelist (store.Open).
//
//	go run ./scripts/bench/pagespread -dir /tmp -size 8GiB
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

const pageSize = 4096

func main() {
	dir := flag.String("dir", os.TempDir(), "directory for the scratch file (removed after)")
	size := flag.String("size", "8GiB", "file size (MiB or GiB suffix)")
	pages := flag.Int("pages", 2800, "pages written per transaction")
	reps := flag.Int("reps", 7, "transactions per span")
	spans := flag.String("spans", "64MiB,1GiB,8GiB", "spans the pages are spread over, from the file's start")
	flag.Parse()
	if err := run(*dir, *size, *spans, *pages, *reps); err != nil {
		fmt.Fprintln(os.Stderr, "pagespread:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	for suffix, unit := range map[string]int64{"GiB": 1 << 30, "MiB": 1 << 20} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * unit, err
		}
	}
	return 0, fmt.Errorf("size %q: want a MiB or GiB suffix", s)
}

func run(dir, sizeFlag, spansFlag string, pages, reps int) error {
	size, err := parseSize(sizeFlag)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "pagespread.scratch")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	defer f.Close()
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	start := time.Now()
	for off := int64(0); off < size; off += int64(len(buf)) {
		if _, err := f.WriteAt(buf, off); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	fmt.Printf("file=%s written_in=%.1fs\n", sizeFlag, time.Since(start).Seconds())
	for _, s := range strings.Split(spansFlag, ",") {
		span, err := parseSize(s)
		if err != nil {
			return err
		}
		span = min(span, size)
		var times []string
		for range reps {
			ids := make([]int64, pages)
			for i := range ids {
				ids[i] = rand.Int64N(span / pageSize)
			}
			slices.Sort(ids)
			t := time.Now()
			for _, id := range ids {
				if _, err := f.WriteAt(buf[:pageSize], id*pageSize); err != nil {
					return err
				}
			}
			if err := f.Sync(); err != nil {
				return err
			}
			times = append(times, fmt.Sprintf("%.1f", time.Since(t).Seconds()*1000))
		}
		fmt.Printf("span=%s pages=%d write_fsync_ms=%s\n", s, pages, strings.Join(times, ","))
	}
	return nil
}
