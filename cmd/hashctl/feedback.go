package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/entries"
)

// maxMatchLine bounds one line of hashctl match output; a real one is a
// few hundred bytes.
const maxMatchLine = 1 << 20

// feedbackFromMatches gives the feedback kind (with note) to every entry
// named by hashctl match output, once per entry: the same entry matched by
// several queries, or in several lists, is one entry at the node.
//
// Each request carries an Idempotency-Key derived from the entry and the
// kind, so running the command again on the same output (after a crash, or
// by mistake) replays the node's first answer instead of recording the
// feedback twice. The node keeps these answers for a day (IdempotencyTTL);
// a false positive never opens a second dispute for the same organisation
// in any case.
func (e *env) feedbackFromMatches(name, kind, note string) error {
	if kind != entries.ConfirmedMatch && kind != entries.FalsePositive {
		return e.usagef("--kind %q: use confirmed_match or false_positive", kind)
	}
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return e.usagef("%v", err)
		}
		defer f.Close()
		r = f
	}
	keys, lines, bad, err := e.readMatchKeys(name, r)
	if err != nil {
		return &usageError{cmd: e.cmd, quiet: true, msg: err.Error()}
	}
	prog := "hashctl " + e.cmd.name
	if len(keys) == 0 && bad == 0 {
		return &usageError{cmd: e.cmd, quiet: true, msg: fmt.Sprintf("%s: no match lines (the output of hashctl match)", name)}
	}
	var c *client.Client
	if len(keys) > 0 {
		if c, err = e.client(); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	var sent, before, failed int
	for i, key := range keys {
		if err := e.ctx.Err(); err != nil {
			return err
		}
		algo, value, _ := strings.Cut(key, ":")
		ctx := client.WithIdempotencyKey(e.ctx, feedbackIdemKey(key, kind))
		f, err := c.Feedback(ctx, algo, value, client.FeedbackRequest{Kind: kind, Note: note})
		var p *client.Problem
		switch {
		case errors.As(err, &p) && p.Kind() == "idempotency-key-reused":
			// This kind was given to this entry before, with another
			// note: the verdict is at the node already.
			fmt.Fprintf(e.stderr, "%s: [%d/%d] %s: %s given before (with another note); not sent again\n", prog, i+1, len(keys), key, kind)
			before++
			continue
		case err != nil:
			fmt.Fprintf(e.stderr, "%s: [%d/%d] %s: %v\n", prog, i+1, len(keys), key, err)
			failed++
			continue
		}
		sent++
		if e.g.json.v {
			if err := enc.Encode(f); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(e.stdout, "Recorded feedback %s (%s) on %s\n", f.ID, f.Kind, f.Entry)
		}
		msg := "feedback " + f.ID
		if f.Dispute != "" {
			msg += ", dispute " + f.Dispute + " (the entry is left out of every list until an analyst resolves it)"
		}
		fmt.Fprintf(e.stderr, "%s: [%d/%d] %s: %s\n", prog, i+1, len(keys), key, msg)
	}
	fmt.Fprintf(e.stderr, "%s: %d match line(s), %d entr(y/ies): %d recorded, %d given before, %d failed, %d bad line(s)\n",
		prog, lines, len(keys), sent, before, failed, bad)
	switch {
	case failed > 0:
		return fmt.Errorf("feedback failed for %d of %d entr(y/ies); run the command again to retry them (the others are not recorded twice)", failed, len(keys))
	case bad > 0:
		return &usageError{cmd: e.cmd, quiet: true, msg: fmt.Sprintf("%d bad line(s); nothing was sent for them", bad)}
	}
	return nil
}

// readMatchKeys reads hashctl match output and returns the entry keys it
// names, each once, in the order first seen; the count of match lines; and
// the count of bad lines, each reported on stderr with its number.
func (e *env) readMatchKeys(name string, r io.Reader) (keys []string, lines, bad int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxMatchLine)
	seen := map[string]bool{}
	n := 0
	for sc.Scan() {
		n++
		raw := strings.TrimSpace(sc.Text())
		if n == 1 {
			raw = strings.TrimPrefix(raw, "\ufeff")
		}
		if raw == "" {
			continue
		}
		key, err := matchKey([]byte(raw))
		if err != nil {
			fmt.Fprintf(e.stderr, "hashctl %s: %s: line %d: %v\n", e.cmd.name, name, n, err)
			bad++
			continue
		}
		lines++
		if !seen[key] {
			seen[key] = true
			keys = append(keys, key)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, lines, bad, fmt.Errorf("%s: after line %d: %w", name, n, err)
	}
	return keys, lines, bad, nil
}

// matchKey returns the entry key of one line of hashctl match output: the
// list entry's key (algo:value), not the query's hash, which may be a near
// duplicate of it.
func matchKey(raw []byte) (string, error) {
	var m matchLine
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", fmt.Errorf("not a JSON match line: %v", err)
	}
	if m.Key == "" {
		return "", errors.New(`no "key": not a line of hashctl match output`)
	}
	algo, value, ok := strings.Cut(m.Key, ":")
	if !ok || algo == "" || value == "" || strings.ContainsAny(m.Key, " \t\r\n") {
		return "", fmt.Errorf("key %q: want ALGO:VALUE", m.Key)
	}
	if m.List == "" {
		return "", errors.New(`no "list": not a line of hashctl match output`)
	}
	return m.Key, nil
}

// feedbackIdemKey is the Idempotency-Key of the feedback kind on an entry:
// the same for every run, so a second run is answered from the node's
// record of the first.
func feedbackIdemKey(key, kind string) string {
	h := sha256.Sum256([]byte(kind + "\n" + key))
	return "hashctl-feedback-" + hex.EncodeToString(h[:])
}
