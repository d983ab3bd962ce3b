package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/hashhub/hashhub/client"
)

// rerunHint is said whenever an import did not finish cleanly.
const rerunHint = "An import is never retried automatically (its body is streamed). Re-running the same import is safe: the node leaves unchanged whatever it had already recorded."

func cmdHashesImport(e *env, args []string) error {
	fs := e.flags()
	format := fs.String("format", "", "`FORMAT` ndjson or csv (default: from the file name: .ndjson, .jsonl or .csv)")
	noProgress := fs.Bool("no-progress", false, "do not draw a progress bar (none is drawn when stderr is not a terminal)")
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	name := pos[0]
	f := strings.ToLower(*format)
	if f == "" {
		if f = formatOf(name); f == "" {
			return e.usagef("cannot tell the format of %q from its name; pass --format ndjson or --format csv", name)
		}
	}
	if client.ContentType(f) == "" {
		return e.usagef("--format %q: use ndjson or csv", *format)
	}

	// Stream the file as the request body: it is never read into memory.
	var body io.Reader = e.stdin
	size := int64(-1)
	if in, ok := e.stdin.(*os.File); ok && name == "-" {
		// Redirected from a file: its size makes a proper progress bar.
		if st, err := in.Stat(); err == nil && st.Mode().IsRegular() {
			if off, err := in.Seek(0, io.SeekCurrent); err == nil {
				size = st.Size() - off
			}
		}
	}
	if name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return &usageError{cmd: e.cmd, msg: err.Error(), quiet: true}
		}
		defer file.Close()
		st, err := file.Stat()
		if err != nil {
			return &usageError{cmd: e.cmd, msg: err.Error(), quiet: true}
		}
		if st.IsDir() {
			return &usageError{cmd: e.cmd, msg: name + " is a directory", quiet: true}
		}
		if st.Mode().IsRegular() {
			size = st.Size()
		}
		body = file
	}
	c, err := e.client()
	if err != nil {
		return err
	}

	display := name
	if name == "-" {
		display = "stdin"
	}
	pr := &progressReader{r: body}
	stopBar := func() {}
	if !*noProgress && isTerminal(e.stderr) {
		stopBar = pr.startBar(e.stderr, size, filepath.Base(display))
	}
	start := time.Now()
	// The body loses its file fields on the way (so its length is not
	// known in advance); the bar counts the bytes read from the file.
	res, err := c.Import(e.call(), withoutFiles(pr, f), f, -1)
	elapsed := time.Since(start)
	stopBar()
	if err != nil {
		var p *client.Problem
		if errors.As(err, &p) && p.Status < 500 {
			// The node refused the import (the detail says whether
			// anything was committed) or every line (the line errors
			// say why): re-running the same body would not help.
			return err
		}
		// The connection broke, the run was interrupted or the node
		// failed: the user needs to know that trying again is safe.
		return &hinted{err: err, hint: rerunHint}
	}
	if res.Lines == 0 {
		fmt.Fprintf(e.stderr, "hashctl: warning: %s holds no hashes (no lines): nothing was imported\n", display)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(res.Lines) / s
	}
	if e.g.json.v {
		// The node's answer, plus what only the client knows.
		var m map[string]any
		if err := json.Unmarshal(e.raw, &m); err != nil {
			return e.printRaw()
		}
		m["file"], m["format"], m["bytes"] = display, f, pr.bytes.Load()
		m["elapsed_seconds"] = round3(elapsed.Seconds())
		m["entries_per_second"] = round3(rate)
		b, _ := json.Marshal(m)
		return writeJSON(e.stdout, b)
	}
	fmt.Fprintf(e.stdout, "Imported %s (%s, %s)\n", display, f, humanBytes(pr.bytes.Load()))
	fields(e.stdout,
		"lines", strconv.Itoa(res.Lines),
		"accepted", strconv.Itoa(res.Accepted),
		"created", strconv.Itoa(res.Created),
		"updated", strconv.Itoa(res.Updated),
		"unchanged", strconv.Itoa(res.Unchanged),
		"rejected", strconv.Itoa(res.Rejected),
		"batches", strconv.Itoa(res.Batches),
		"elapsed", elapsed.Round(time.Millisecond).String(),
		"entries/s", strconv.FormatFloat(rate, 'f', 0, 64))
	printLineErrors(e.stdout, res.Errors, res.Rejected, maxShownErrors)
	return nil
}

// formatOf guesses an import's format from its file name.
func formatOf(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".ndjson", ".jsonl":
		return client.FormatNDJSON
	case ".csv":
		return client.FormatCSV
	}
	return ""
}

func round3(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 3, 64), 64)
	return v
}

func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// short writes a count as 950, 12.3k or 4.5M.
func short(f float64) string {
	switch {
	case f >= 1e6:
		return strconv.FormatFloat(f/1e6, 'f', 1, 64) + "M"
	case f >= 1e4:
		return strconv.FormatFloat(f/1e3, 'f', 0, 64) + "k"
	case f >= 1e3:
		return strconv.FormatFloat(f/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatFloat(f, 'f', 0, 64)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressReader counts what the HTTP client has read of the body: bytes,
// and lines as an estimate of entries sent.
type progressReader struct {
	r     io.Reader
	bytes atomic.Int64
	lines atomic.Int64
	done  atomic.Bool
	bar   atomic.Pointer[progressbar.ProgressBar]
}

var newline = []byte{'\n'}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.bytes.Add(int64(n))
		p.lines.Add(int64(bytes.Count(b[:n], newline)))
		if bar := p.bar.Load(); bar != nil {
			_ = bar.Add64(int64(n))
		}
	}
	if err == io.EOF {
		p.done.Store(true)
	}
	return n, err
}

// startBar draws a progress bar of bytes sent (of size, or a spinner when
// the size is unknown) with an entries/s estimate, and returns the
// function that removes it.
func (p *progressReader) startBar(w io.Writer, size int64, name string) (stop func()) {
	max := size
	if max >= 0 {
		// One more than the body: the bar stays short of 100% until the
		// node has committed the last batch and answered.
		max++
	}
	bar := progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("importing "+name),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(25),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	)
	p.bar.Store(bar)
	start := time.Now()
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			lines := p.lines.Load()
			rate := float64(lines) / time.Since(start).Seconds()
			desc := fmt.Sprintf("importing %s: %s lines, ~%s entries/s", name, short(float64(lines)), short(rate))
			if p.done.Load() {
				desc = fmt.Sprintf("sent %s lines; the node is committing", short(float64(lines)))
			}
			bar.Describe(desc)
		}
	}()
	return func() {
		close(quit)
		<-finished
		p.bar.Store(nil)
		_ = bar.Finish()
		_ = bar.Clear()
	}
}
