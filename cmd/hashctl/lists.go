package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/release"
)

func cmdListsCreate(e *env, args []string) error {
	fs := e.flags()
	name := fs.String("name", "", "list `NAME` (a-z, 0-9, '.', '_', '-')")
	desc := fs.String("description", "", "what the list is for (`TEXT`)")
	minA := fs.Int("min-assessments", 0, "independent illegal assessments an entry needs (`N`, 1–100)")
	minO := fs.Int("min-orgs", 0, "distinct organisations among them (`N`; default 1)")
	minJ := fs.Int("min-jurisdictions", 0, "distinct jurisdictions among them (`N`; default 1)")
	open := fs.Bool("open-review", false, "turn blind review off: analysts see the other verdicts before giving their own")
	var algos, cats, roles, readerOrgs listFlag
	fs.Var(&algos, "algorithms", "algorithms admitted, comma-separated (`ALGOS`, e.g. md5,sha256; default all)")
	fs.Var(&cats, "categories", "categories that count: baseline,national (`CATEGORIES`; default both)")
	fs.Var(&roles, "reader-roles", "roles that may read the list, e.g. platform (`ROLES`)")
	fs.Var(&readerOrgs, "reader-orgs", "organisations that may read the list, by id or exact name (`ORGS`)")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.need("name", *name); err != nil {
		return err
	}
	if *minA == 0 {
		return e.usagef("missing --min-assessments")
	}
	req := client.CreateListRequest{Name: *name, Description: *desc,
		Policy:  lists.Policy{Algorithms: algos, MinAssessments: *minA, MinOrgs: *minO, MinJurisdictions: *minJ, OpenReview: *open},
		Readers: lists.Readers{Orgs: readerOrgs}}
	for _, c := range cats {
		req.Policy.Categories = append(req.Policy.Categories, entries.Category(c))
	}
	for _, r := range roles {
		req.Readers.Roles = append(req.Readers.Roles, orgs.Role(r))
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	for i, ref := range req.Readers.Orgs {
		if req.Readers.Orgs[i], err = resolveOrg(e, c, ref); err != nil {
			return err
		}
	}
	l, err := c.CreateList(e.call(), req)
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Created list %s\n", l.Name)
	printList(e, l)
	return nil
}

func printList(e *env, l *lists.List) {
	p := l.Policy
	fields(e.stdout,
		"name", l.Name,
		"description", l.Description,
		"algorithms", orAll(join(p.Algorithms)),
		"categories", orAll(join(p.Categories)),
		"min_assessments", strconv.Itoa(p.MinAssessments),
		"min_orgs", strconv.Itoa(p.MinOrgs),
		"min_jurisdictions", strconv.Itoa(p.MinJurisdictions),
		"review", reviewMode(p),
		"reader_roles", join(l.Readers.Roles),
		"reader_orgs", join(l.Readers.Orgs),
		"created", ts(l.Created),
		"created_by", l.CreatedBy)
}

func cmdListsList(e *env, args []string) error {
	return show(e, args, 0, func(c *client.Client, _ []string) ([]lists.List, error) { return c.Lists(e.call()) },
		func(ls []lists.List) {
			if len(ls) == 0 {
				fmt.Fprintln(e.stdout, "no lists you may read")
				return
			}
			t := newTable(e.stdout, "NAME", "MIN_ASSESSMENTS", "MIN_ORGS", "MIN_JURISDICTIONS", "ALGORITHMS", "CATEGORIES", "READERS")
			for _, l := range ls {
				p := l.Policy
				readers := strings.Trim(join(l.Readers.Roles)+","+join(l.Readers.Orgs), ",")
				t.row(l.Name, strconv.Itoa(p.MinAssessments), strconv.Itoa(p.MinOrgs), strconv.Itoa(p.MinJurisdictions),
					orAll(join(p.Algorithms)), orAll(join(p.Categories)), readers)
			}
			t.flush()
		})
}

// reviewMode names the list's review setting: blind unless turned off.
func reviewMode(p lists.Policy) string {
	if p.OpenReview {
		return "open"
	}
	return "blind"
}

func orAll(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

func cmdListsShow(e *env, args []string) error {
	return show(e, args, 1, func(c *client.Client, pos []string) (*lists.List, error) { return c.List(e.call(), pos[0]) },
		func(l *lists.List) { printList(e, l) })
}

func cmdListsEntries(e *env, args []string) error {
	fs := e.flags()
	limit := fs.Int("limit", 0, "page size `N` (1–1000; default the node's, 100)")
	cursor := fs.String("cursor", "", "continue after `CURSOR` (the next cursor of the previous page)")
	all := fs.Bool("all", false, "follow next cursors to the end of the list")
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	name := pos[0]
	if !*all {
		q, err := c.ListEntries(e.call(), name, *cursor, *limit)
		if err != nil {
			return err
		}
		if e.g.json.v {
			return e.printRaw()
		}
		t := newTable(e.stdout, "ALGO", "VALUE", "QUALITY", "SEVERITY")
		for _, h := range q.Entries {
			t.row(qualifiedRow(h)...)
		}
		t.flush()
		fmt.Fprintf(e.stdout, "%s on %s in this page (%d examined)\n", plural(len(q.Entries), "entry", "entries"), q.List, q.Scanned)
		if q.NextCursor != "" {
			fmt.Fprintf(e.stdout, "more: hashctl lists entries %s --cursor %s (or --all)\n", name, q.NextCursor)
		}
		return nil
	}
	// --all: page after page, printed as they come, so a long list is
	// never held in memory. With --json the pages become one document of
	// the same shape as a page.
	var t *table
	if !e.g.json.v {
		t = newTable(e.stdout, "ALGO", "VALUE", "QUALITY", "SEVERITY")
	}
	total, scanned, next := 0, 0, *cursor
	for first := true; first || next != ""; first = false {
		q, err := c.ListEntries(e.ctx, name, next, *limit)
		if err != nil {
			if t != nil {
				t.flush()
			}
			return err
		}
		if first && e.g.json.v {
			b, _ := json.Marshal(q.List)
			fmt.Fprintf(e.stdout, "{\"list\": %s, \"entries\": [", b)
		}
		for _, h := range q.Entries {
			if t != nil {
				t.row(qualifiedRow(h)...)
				continue
			}
			b, err := json.Marshal(h)
			if err != nil {
				return err
			}
			sep := ",\n  "
			if total == 0 {
				sep = "\n  "
			}
			fmt.Fprintf(e.stdout, "%s%s", sep, b)
			total++
		}
		if t != nil {
			total += len(q.Entries)
			t.flush()
		}
		scanned += q.Scanned
		next = q.NextCursor
	}
	if e.g.json.v {
		if total > 0 {
			fmt.Fprint(e.stdout, "\n")
		}
		fmt.Fprintf(e.stdout, "], \"scanned\": %d}\n", scanned)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s on %s (%d examined)\n", plural(total, "entry", "entries"), name, scanned)
	return nil
}

func qualifiedRow(h client.QualifiedHash) []string {
	q := ""
	if h.Quality != nil {
		q = strconv.Itoa(*h.Quality)
	}
	return []string{h.Algo, h.Value, q, h.Severity}
}

func cmdListsRelease(e *env, args []string) error {
	return show(e, args, 1, func(c *client.Client, pos []string) (*release.Manifest, error) {
		return c.BuildRelease(e.call(), pos[0])
	}, func(m *release.Manifest) {
		fmt.Fprintf(e.stdout, "Released %s version %d\n", m.List, m.Version)
		fields(e.stdout,
			"entries", strconv.FormatUint(m.Entries, 10),
			"changes", fmt.Sprintf("%d added, %d removed, %d updated", m.Delta.Adds, m.Delta.Removes, m.Delta.Updates),
			"set_root", m.SetRoot,
			"log_index", strconv.FormatInt(m.LogIndex, 10),
			"expires", m.Expires)
	})
}
