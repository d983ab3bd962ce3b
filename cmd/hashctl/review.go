package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/lists"
)

func cmdDisputesList(e *env, args []string) error {
	var status *string
	return paged(e, args, func(fs *flag.FlagSet) {
		status = fs.String("status", "", "only disputes in `STATUS` open, upheld or overturned")
	}, func(c *client.Client, cursor string, limit int) ([]entries.Dispute, string, error) {
		p, err := c.Disputes(e.call(), *status, cursor, limit)
		if err != nil {
			return nil, "", err
		}
		return p.Disputes, p.NextCursor, nil
	}, "no disputes", "hashctl disputes list", func(ds []entries.Dispute) { printDisputes(e, ds) })
}

func printDisputes(e *env, ds []entries.Dispute) {
	t := newTable(e.stdout, "ID", "ENTRY", "SOURCE", "ORG", "OPENED", "STATUS", "RESOLVED_BY", "REASON")
	for _, d := range ds {
		by, reason := "", oneLine(d.Reason)
		if r := d.Resolution; r != nil {
			by = r.Org + " " + ts(r.Time)
			reason = oneLine(r.Reason)
		}
		t.row(d.ID, d.Entry, d.Source, d.Org, ts(d.Opened), d.Status, by, reason)
	}
	t.flush()
}

func cmdDisputesResolve(e *env, args []string) error {
	fs := e.flags()
	outcome := fs.String("outcome", "", "`OUTCOME`: upheld (the entry stays) or overturned (the entry leaves every list)")
	reason := fs.String("reason", "", "why (`TEXT`, recorded with the decision)")
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	if err := e.need("outcome", *outcome, "reason", *reason); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	d, err := c.ResolveDispute(e.call(), pos[0], client.ResolveRequest{Outcome: *outcome, Reason: *reason})
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Resolved dispute %s on %s: %s\n", d.ID, d.Entry, d.Status)
	return nil
}

func cmdReview(e *env, args []string) error {
	fs := e.flags()
	limit := fs.Int("limit", 0, "at most `N` disputes and N entries (1–1000; default the node's, 100)")
	cursor := fs.String("cursor", "", "continue the entry scan after `CURSOR`")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	r, err := c.Review(e.call(), *cursor, *limit)
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	if *cursor == "" {
		if len(r.Disputes) == 0 {
			fmt.Fprintln(e.stdout, "Open disputes you may resolve: none")
		} else {
			fmt.Fprintf(e.stdout, "Open disputes you may resolve (%d):\n", len(r.Disputes))
			t := newTable(e.stdout, "ID", "ENTRY", "SOURCE", "ORG", "OPENED", "REASON")
			for _, d := range r.Disputes {
				t.row(d.ID, d.Entry, d.Source, d.Org, ts(d.Opened), oneLine(d.Reason))
			}
			t.flush()
			fmt.Fprintln(e.stdout, "  resolve with: hashctl disputes resolve ID --outcome upheld|overturned --reason TEXT")
		}
		fmt.Fprintln(e.stdout)
	}
	if len(r.Entries) == 0 {
		fmt.Fprintf(e.stdout, "Entries one short of a list: none (%d examined)\n", r.Scanned)
	} else {
		fmt.Fprintf(e.stdout, "Entries one short of a list (%d, %d examined):\n", len(r.Entries), r.Scanned)
		t := newTable(e.stdout, "ALGO", "VALUE", "CREATED", "NEEDS")
		for _, it := range r.Entries {
			var needs []string
			for _, n := range it.Lists {
				needs = append(needs, n.List+": "+shortfall(n.Shortfall))
			}
			t.row(it.Algo, it.Value, it.Created, strings.Join(needs, "; "))
		}
		t.flush()
		fmt.Fprintln(e.stdout, "  assess with: hashctl hashes assess ALGO VALUE --verdict illegal|not_illegal")
	}
	if r.NextCursor != "" {
		fmt.Fprintf(e.stdout, "more: hashctl review --cursor %s\n", r.NextCursor)
	}
	return nil
}

// shortfall says what a list still needs, e.g. "1 more assessment, 1 more organisation".
func shortfall(s lists.Shortfall) string {
	var parts []string
	if s.Blocked != "" {
		parts = append(parts, "blocked: "+s.Blocked)
	}
	if s.Assessments > 0 {
		parts = append(parts, plural(s.Assessments, "more assessment", "more assessments"))
	}
	if s.Orgs > 0 {
		parts = append(parts, plural(s.Orgs, "more organisation", "more organisations"))
	}
	if s.Jurisdictions > 0 {
		parts = append(parts, plural(s.Jurisdictions, "more jurisdiction", "more jurisdictions"))
	}
	return strings.Join(parts, ", ")
}
