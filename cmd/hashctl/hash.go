package main

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/hashhub/hashhub/pdq"
)

// hashAlgos are the algorithms hashctl hash computes, in the order their
// lines are printed for each file.
var hashAlgos = []string{"pdq", "md5", "sha1", "sha256"}

// progressAfter is how many files make "more than a few": beyond it
// hashctl hash shows progress (on a terminal) and a summary.
const progressAfter = 5

// hashLine is one line of hashctl hash's output: the NDJSON import format
// (ingest.NewNDJSON) with the file the hash came from.
type hashLine struct {
	Algo    string `json:"algo"`
	Value   string `json:"value"`
	Quality *int   `json:"quality,omitempty"`
	File    string `json:"file"`
}

// cmdHash hashes local files. Nothing leaves the machine: it needs no
// node and no credentials, so a platform can hash its media where they
// are and only ever handle hashes.
func cmdHash(e *env, args []string) error {
	fset := e.flags()
	var algoFlags multiFlag
	fset.Var(&algoFlags, "algo", "`ALGO` to compute: pdq, md5, sha1 or sha256 (repeatable; default all four)")
	noProgress := fset.Bool("no-progress", false, "do not draw a progress bar (none is drawn when stderr is not a terminal)")
	e.g.register(fset)
	pos, err := parseInterleaved(fset, args)
	if errors.Is(err, flag.ErrHelp) {
		e.cmdUsage(e.stdout, fset)
		return errHelp
	}
	if err != nil {
		return e.usagef("%v", err)
	}
	if len(pos) == 0 {
		return e.usagef("missing FILE|DIR")
	}
	want := map[string]bool{}
	for _, a := range algoFlags {
		for _, a := range strings.Split(a, ",") {
			a = strings.ToLower(strings.TrimSpace(a))
			if !slices.Contains(hashAlgos, a) {
				return e.usagef("--algo %q: use pdq, md5, sha1 or sha256", a)
			}
			want[a] = true
		}
	}
	if len(want) == 0 {
		for _, a := range hashAlgos {
			want[a] = true
		}
	}

	// Collect the files first, so that the order is deterministic (each
	// directory in lexical order, arguments in the order given) and the
	// progress bar knows the total.
	files, unreadable := e.collectFiles("hashctl hash", pos)

	bar := (*progressbar.ProgressBar)(nil)
	if len(files) > progressAfter && !*noProgress && isTerminal(e.stderr) {
		bar = progressbar.NewOptions(len(files),
			progressbar.OptionSetWriter(e.stderr),
			progressbar.OptionSetDescription("hashing"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("files"),
			progressbar.OptionSetWidth(25),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	notPictures, hashed := 0, 0
	for _, f := range files {
		if err := e.ctx.Err(); err != nil {
			return err
		}
		lines, note, err := hashFile(f, want)
		if bar != nil {
			_ = bar.Add(1)
		}
		if err != nil {
			if bar != nil {
				_ = bar.Clear()
			}
			fmt.Fprintf(e.stderr, "hashctl hash: %s: %v\n", f, err)
			unreadable++
			continue
		}
		if note != "" {
			if bar != nil {
				_ = bar.Clear()
			}
			fmt.Fprintf(e.stderr, "hashctl hash: %s: no pdq hash: %s\n", f, note)
			notPictures++
		}
		hashed++
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	if len(files)+unreadable > progressAfter {
		fmt.Fprintf(e.stderr, "hashctl hash: %d file(s) hashed, %d without a pdq hash, %d could not be read\n", hashed, notPictures, unreadable)
	}
	if unreadable > 0 {
		return fmt.Errorf("%d file(s) could not be read", unreadable)
	}
	return nil
}

// collectFiles lists the files named by paths, each directory walked in
// lexical order and the arguments in the order given, so that the order
// is deterministic (and a progress bar knows the total). Paths that
// cannot be read are reported on stderr under prog and counted.
// Directories are descended into; symbolic links and other special files
// inside a directory are skipped.
func (e *env) collectFiles(prog string, paths []string) (files []string, unreadable int) {
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", prog, err)
			unreadable++
			continue
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		_ = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				fmt.Fprintf(e.stderr, "%s: %v\n", prog, err)
				unreadable++
			case d.Type().IsRegular():
				files = append(files, path)
			}
			return nil
		})
	}
	return files, unreadable
}

// hashFile reads path once and returns its output lines. A file that is
// not a picture (or one refused as too large) still gets its
// cryptographic hashes, and note says why it has no PDQ hash; err is set
// only when the file could not be read.
func hashFile(path string, want map[string]bool) (lines []hashLine, note string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	return hashReader(f, path, want)
}

// hashReader is hashFile on a reader (hashctl match serve hashes request
// bodies in memory this way); name is the lines' file.
func hashReader(f io.Reader, path string, want map[string]bool) (lines []hashLine, note string, err error) {
	var sums []hash.Hash
	var names []string
	for _, a := range hashAlgos[1:] {
		if want[a] {
			sums = append(sums, newSum(a))
			names = append(names, a)
		}
	}
	writers := make([]io.Writer, len(sums))
	for i, h := range sums {
		writers[i] = h
	}
	// One read feeds the cryptographic hashes and the picture decoder.
	r := io.TeeReader(f, io.MultiWriter(writers...))

	if want["pdq"] {
		res, err := pdq.HashReader(r)
		switch {
		case err == nil:
			q := res.Quality
			lines = append(lines, hashLine{Algo: "pdq", Value: res.Hash.String(), Quality: &q, File: path})
		case errors.Is(err, pdq.ErrNotImage), errors.Is(err, pdq.ErrTooLarge), errors.Is(err, pdq.ErrEmpty):
			note = strings.TrimPrefix(err.Error(), "pdq: ")
		default:
			return nil, "", err
		}
	}
	// The decoder may stop before the end of the file: the rest still
	// counts for the cryptographic hashes.
	if len(sums) > 0 {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, "", err
		}
	}
	for i, h := range sums {
		lines = append(lines, hashLine{Algo: names[i], Value: hex.EncodeToString(h.Sum(nil)), File: path})
	}
	return lines, note, nil
}

func newSum(algo string) hash.Hash {
	switch algo {
	case "md5":
		return md5.New()
	case "sha1":
		return sha1.New()
	}
	return sha256.New()
}
