package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/match"
	"github.com/hashhub/hashhub/mirror"
)

// errNoMatch ends hashctl match with exit status 1 and no message, as
// grep does when nothing matched.
var errNoMatch = errors.New("no match")

// matchLine is one line of hashctl match's output: the query hash (and
// the file it came from, when known) beside the entry it matched.
type matchLine struct {
	Algo     string `json:"algo"`
	Value    string `json:"value"`
	File     string `json:"file,omitempty"`
	List     string `json:"list"`
	Key      string `json:"key"`
	Distance int    `json:"distance"`
	Category string `json:"category,omitempty"`
	Severity string `json:"severity,omitempty"`
	Version  uint64 `json:"version"`
}

// cmdMatch matches hash lines, or pictures hashed in memory, against
// local mirrors. Nothing is sent anywhere: the mirrors were verified when
// they were pulled, and matching is a local lookup.
//
// Its exit status is grep's: 0 something matched, 1 nothing did, 2 an
// error (a usage error, a refused mirror, a bad input line).
func cmdMatch(e *env, args []string) error {
	err := runMatch(e, args)
	var ue *usageError
	var h *hinted
	switch {
	case err == nil, errors.Is(err, errNoMatch), errors.Is(err, errHelp), errors.As(err, &ue):
		return err
	case errors.As(err, &h):
		return &hinted{err: &usageError{cmd: e.cmd, quiet: true, msg: h.err.Error()}, hint: h.hint}
	}
	return &usageError{cmd: e.cmd, quiet: true, msg: err.Error()}
}

func runMatch(e *env, args []string) error {
	fs := e.flags()
	var dirs, cats multiFlag
	fs.Var(&dirs, "dir", "`DIR` of a mirror written by hashctl pull (repeatable)")
	fs.Var(&cats, "category", "`LIST=CATEGORY`: the category to report for that list's matches (repeatable; release lines carry none)")
	maxDist := fs.Int("max-distance", match.DefaultDistance, fmt.Sprintf("the largest PDQ Hamming `DISTANCE` that matches, 0 to %d (default %d)", match.MaxDistance, match.DefaultDistance))
	lowQuality := fs.Bool("low-quality", false, fmt.Sprintf("match PDQ hashes of quality below %d too (they come from nearly featureless pictures and match innocent ones)", match.MinQuality))
	images := fs.Bool("images", false, "the arguments are pictures or directories of them, hashed in memory like hashctl hash, instead of hash lines")
	format := fs.String("format", "", "`FORMAT` of the hash lines, ndjson or csv (default: from the file name, or from the first line on standard input); a bad line is reported with its number and skipped, and the exit status is then 2")
	allowExpired := fs.Bool("allow-expired", false, "match against a mirror past its manifest's expiry, with a warning (by default it is refused)")
	e.g.register(fs)
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		e.cmdUsage(e.stdout, fs)
		return errHelp
	}
	if err != nil {
		return e.usagef("%v", err)
	}
	if len(dirs) == 0 {
		return e.usagef("missing --dir")
	}
	if *maxDist < 0 || *maxDist > match.MaxDistance {
		return e.usagef("--max-distance %d: use 0 to %d", *maxDist, match.MaxDistance)
	}
	category := map[string]string{}
	for _, c := range cats {
		l, v, ok := strings.Cut(c, "=")
		if !ok || l == "" {
			return e.usagef("--category %q: use LIST=CATEGORY", c)
		}
		category[l] = v
	}
	if !*images && len(pos) > 1 {
		return e.usagef("unexpected argument %q (one FILE of hash lines, or --images)", pos[1])
	}
	if *images && len(pos) == 0 {
		return e.usagef("missing FILE|DIR (with --images)")
	}

	ix, err := e.loadMirrors(dirs, category, *allowExpired)
	if err != nil {
		return err
	}

	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	var matched, skipped, queries int
	lookup := func(algo, value, file string, quality *int) error {
		queries++
		res, err := ix.Lookup(match.Query{Algo: algo, Value: value, Quality: quality, MaxDistance: maxDist, LowQuality: *lowQuality})
		if err != nil {
			return err
		}
		if res.SkippedLowQuality {
			skipped++
		}
		for _, m := range res.Matches {
			matched++
			if err := enc.Encode(matchLine{Algo: algo, Value: value, File: file, List: m.List, Key: m.Key(),
				Distance: m.Distance, Category: m.Category, Severity: m.Severity, Version: m.Version}); err != nil {
				return err
			}
		}
		return nil
	}

	var bad int
	if *images {
		bad, err = e.matchImages(pos, lookup)
	} else {
		name := "-"
		if len(pos) == 1 {
			name = pos[0]
		}
		bad, err = e.matchLines(name, *format, lookup)
	}
	if err != nil {
		return err
	}
	if skipped > 0 {
		fmt.Fprintf(e.stderr, "hashctl match: %d pdq hash(es) of quality below %d not matched (--low-quality matches them)\n", skipped, match.MinQuality)
	}
	if bad > 0 {
		return &usageError{cmd: e.cmd, quiet: true, msg: fmt.Sprintf("%d bad input(s); the rest was matched (%d match(es))", bad, matched)}
	}
	if matched == 0 {
		return errNoMatch
	}
	return nil
}

// loadMirrors builds one index from the mirrors' current versions. A
// directory that is not a mirror is refused, and so is a mirror past its
// manifest's expiry unless allowExpired (then it is a warning): its list
// may have been frozen by someone keeping retractions from reaching it.
func (e *env) loadMirrors(dirs []string, category map[string]string, allowExpired bool) (*match.Index, error) {
	ix := match.New()
	lists := map[string]string{}
	for _, dir := range dirs {
		if !mirror.Exists(dir) {
			return nil, e.usagef("--dir %s is not a mirror (no %s): create one with hashctl pull --dir", dir, mirror.FileName)
		}
		st, err := peekState(dir)
		if err != nil {
			return nil, err
		}
		if other, ok := lists[st.List]; ok {
			return nil, e.usagef("--dir %s and --dir %s both mirror list %q", other, dir, st.List)
		}
		lists[st.List] = dir
		if st.Version == 0 {
			return nil, e.usagef("--dir %s holds no verified version yet: pull first", dir)
		}
		if !clock().Before(st.ExpiresTime()) {
			msg := fmt.Sprintf("mirror %s (list %s, version %d) expired at %s: pull a newer version", dir, st.List, st.Version, st.Expires)
			if !allowExpired {
				return nil, &hinted{err: errors.New(msg), hint: "--allow-expired matches against it anyway, with this warning"}
			}
			fmt.Fprintf(e.stderr, "hashctl match: warning: %s\n", msg)
		}
		if _, err := ix.LoadMirror(dir, category[st.List]); err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// peekState reads a mirror's recorded state.
func peekState(dir string) (*mirror.State, error) {
	m, err := mirror.OpenReadOnly(dir)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	return m.State()
}

// matchLines reads hash lines (the import format, as hashctl hash writes
// it) and looks each up. A bad line is reported with its line number and
// skipped; the count of bad lines is returned. An error that ends the
// input (not text, a bad CSV header, a read error) is returned.
func (e *env) matchLines(name, format string, lookup func(algo, value, file string, quality *int) error) (int, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return 0, e.usagef("%v", err)
		}
		defer f.Close()
		r = f
	}
	f := strings.ToLower(format)
	switch {
	case f == "" && name != "-":
		f = formatOf(name)
	case f != "" && f != "ndjson" && f != "csv":
		return 0, e.usagef("--format %q: use ndjson or csv", format)
	}
	br := bufio.NewReader(r)
	if f == "" {
		f = sniffFormat(br)
	}
	var rd ingest.Reader
	if f == "csv" {
		var err error
		if rd, err = ingest.NewCSV(br, 0); err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
	} else {
		rd = ingest.NewNDJSON(br, 0)
	}
	bad := 0
	for {
		if err := e.ctx.Err(); err != nil {
			return bad, err
		}
		rec, err := rd.Next()
		var le *ingest.LineError
		switch {
		case err == io.EOF:
			return bad, nil
		case errors.As(err, &le):
			fmt.Fprintf(e.stderr, "hashctl match: %s: %v\n", name, le)
			bad++
			continue
		case err != nil:
			return bad, fmt.Errorf("%s: %w", name, err)
		}
		err = lookup(rec.Algo, rec.Value, rec.File, rec.Quality)
		if errors.Is(err, match.ErrBadQuery) {
			fmt.Fprintf(e.stderr, "hashctl match: %s: line %d: %v\n", name, rec.Line, err)
			bad++
			continue
		}
		if err != nil {
			return bad, err
		}
	}
}

// sniffFormat tells NDJSON from CSV by the first non-blank byte: hash
// lines in JSON are objects.
func sniffFormat(br *bufio.Reader) string {
	b, _ := br.Peek(4096)
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	if t := bytes.TrimLeft(b, " \t\r\n\v\f"); len(t) == 0 || t[0] == '{' {
		return "ndjson"
	}
	return "csv"
}

// matchImages hashes pictures (and files) in memory, as hashctl hash
// does, and looks up each hash. Files that cannot be read are counted.
func (e *env) matchImages(paths []string, lookup func(algo, value, file string, quality *int) error) (int, error) {
	files, bad := e.collectFiles("hashctl match", paths)
	want := map[string]bool{}
	for _, a := range hashAlgos {
		want[a] = true
	}
	for _, f := range files {
		if err := e.ctx.Err(); err != nil {
			return bad, err
		}
		lines, note, err := hashFile(f, want)
		if err != nil {
			fmt.Fprintf(e.stderr, "hashctl match: %s: %v\n", f, err)
			bad++
			continue
		}
		if note != "" {
			// Not an error: its cryptographic hashes are still matched.
			fmt.Fprintf(e.stderr, "hashctl match: %s: no pdq hash: %s\n", f, note)
		}
		for _, l := range lines {
			if err := lookup(l.Algo, l.Value, l.File, l.Quality); err != nil {
				return bad, err
			}
		}
	}
	return bad, nil
}
