package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashhub/hashhub/client"
)

// maxShownErrors is how many line errors a human summary shows.
const maxShownErrors = 10

// table writes aligned columns; call flush when done.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cols ...string) {
	for i, c := range cols {
		if c == "" {
			cols[i] = "-"
		}
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
}

func (t *table) flush() { t.tw.Flush() }

// fields prints "name:  value" lines, aligned.
func fields(w io.Writer, kv ...string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", kv[i], v)
	}
	tw.Flush()
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func join[T ~string](s []T) string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return strings.Join(out, ",")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// printLineErrors prints up to max of errs; total is how many there were.
func printLineErrors(w io.Writer, errs []client.LineError, total, max int) {
	if len(errs) == 0 {
		return
	}
	shown := min(len(errs), max)
	if total > shown {
		fmt.Fprintf(w, "line errors (first %d of %d):\n", shown, total)
	} else {
		fmt.Fprintln(w, "line errors:")
	}
	for _, le := range errs[:shown] {
		fmt.Fprintf(w, "  %s\n", le)
	}
	if total > shown {
		fmt.Fprintf(w, "  … and %d more (--json shows every error the node returned)\n", total-shown)
	}
}

func hashKey(algo, value string) string { return algo + ":" + value }
