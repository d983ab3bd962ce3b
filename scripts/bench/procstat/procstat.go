// Package procstat reads a process's memory figures from /proc for the
// benchmarks that report peak RSS (VmHWM) and its parts.
package procstat

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Status returns the fields of /proc/PID/status given in kB (VmHWM,
// VmRSS, RssAnon, RssFile…), by name; pid 0 is this process. It is empty
// if the file cannot be read.
func Status(pid int) map[string]int64 {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	m := map[string]int64{}
	raw, err := os.ReadFile(path)
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if f := strings.Fields(v); len(f) == 2 && f[1] == "kB" {
			m[k], _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	return m
}

// Steady gives this process's resident set once the Go heap's free pages
// are returned to the system, as "rss=… anon=… file=… heap_inuse=…" in
// MB: what a node keeps between its work (RssFile is the store's pages
// still mapped by the last reads).
func Steady() string {
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := Status(0)
	return fmt.Sprintf("rss=%d anon=%d file=%d heap_inuse=%d", st["VmRSS"]>>10, st["RssAnon"]>>10, st["RssFile"]>>10, ms.HeapInuse>>20)
}
