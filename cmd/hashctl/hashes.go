package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/entries"
)

// verdictFlags are the flags an assessment (or a submission) takes.
type verdictFlags struct {
	category      *string
	jurisdictions listFlag
	severity      *string
	note          *string
}

func addVerdictFlags(fs *flag.FlagSet) *verdictFlags {
	v := &verdictFlags{}
	v.category = fs.String("category", "", "`CATEGORY`: baseline (illegal everywhere, the default) or national")
	fs.Var(&v.jurisdictions, "jurisdictions", "for national: where it is illegal, comma-separated (`CODES`, e.g. NL,DE)")
	v.severity = fs.String("severity", "", "`GRADE` A, B or C (UK sentencing scale)")
	v.note = fs.String("note", "", "a note for other analysts (`TEXT`)")
	return v
}

func cmdHashesSubmit(e *env, args []string) error {
	fs := e.flags()
	algo := fs.String("algo", "", "`ALGO`rithm: md5, sha1, sha256, pdq or photodna")
	value := fs.String("value", "", "hash `VALUE` (hex; base64 for photodna)")
	var quality optInt
	fs.Var(&quality, "quality", "PDQ quality `Q` (0–100)")
	v := addVerdictFlags(fs)
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.need("algo", *algo, "value", *value); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	ent, created, err := c.Submit(e.call(), client.SubmitRequest{Algo: *algo, Value: *value, Quality: quality.ptr(),
		Category: *v.category, Jurisdictions: v.jurisdictions, Severity: *v.severity, Note: *v.note})
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	what := "Added your assessment to existing entry"
	if created {
		what = "Created entry"
	}
	fmt.Fprintf(e.stdout, "%s %s\n", what, ent.Key)
	fields(e.stdout, "status", ent.Status, "assessments", strconv.Itoa(activeAssessments(&ent.Entry)))
	return nil
}

func activeAssessments(e *entries.Entry) int {
	n := 0
	for i := range e.Assessments {
		if e.Assessments[i].Active() {
			n++
		}
	}
	return n
}

func cmdHashesShow(e *env, args []string) error {
	return show(e, args, 2, func(c *client.Client, pos []string) (*client.Entry, error) { return c.Entry(e.call(), pos[0], pos[1]) },
		func(ent *client.Entry) { printEntry(e, &ent.Entry, ent.Status) })
}

func printEntry(e *env, ent *entries.Entry, status string) {
	q := ""
	if ent.Quality != nil {
		q = strconv.Itoa(*ent.Quality)
	}
	fields(e.stdout, "key", ent.Key(), "status", status, "quality", q, "created", ts(ent.Created),
		"updated", ts(ent.Updated), "open_disputes", strings.Join(ent.OpenDisputes, ","))
	if len(ent.Assessments) == 0 {
		return
	}
	fmt.Fprintln(e.stdout, "\nAssessments:")
	t := newTable(e.stdout, "ORG", "JUR", "USER", "VERDICT", "CATEGORY", "JURISDICTIONS", "SEVERITY", "TIME", "STATE", "NOTE")
	for _, a := range ent.Assessments {
		state := "active"
		switch {
		case a.Retracted != nil:
			state = "retracted: " + a.Retracted.Reason
		case a.OverruledBy != "":
			state = "overruled by " + a.OverruledBy
		}
		origin := ""
		if a.Origin != "" {
			origin = "@" + a.Origin
		}
		t.row(a.Org+origin, a.OrgJur, a.User, string(a.Verdict), string(a.Category), strings.Join(a.Jurisdictions, ","),
			string(a.Severity), ts(a.Time), state, oneLine(a.Note))
	}
	t.flush()
}

// oneLine keeps free text from breaking a table.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return s
}

func cmdHashesHistory(e *env, args []string) error {
	return show(e, args, 2, func(c *client.Client, pos []string) (*client.History, error) {
		return c.History(e.call(), pos[0], pos[1])
	},
		func(h *client.History) { printHistory(e, h) })
}

func printHistory(e *env, h *client.History) {
	if h.Entry != nil {
		printEntry(e, h.Entry, h.Status)
	}
	if len(h.Feedback) > 0 {
		fmt.Fprintln(e.stdout, "\nFeedback:")
		t := newTable(e.stdout, "ID", "KIND", "ORG", "USER", "TIME", "DISPUTE", "NOTE")
		for _, f := range h.Feedback {
			t.row(f.ID, f.Kind, f.Org, f.User, ts(f.Time), f.Dispute, oneLine(f.Note))
		}
		t.flush()
	}
	if len(h.Disputes) > 0 {
		fmt.Fprintln(e.stdout, "\nDisputes:")
		printDisputes(e, h.Disputes)
	}
}

func cmdHashesAssess(e *env, args []string) error {
	fs := e.flags()
	verdict := fs.String("verdict", "", "`VERDICT`: illegal or not_illegal (not_illegal opens a dispute)")
	v := addVerdictFlags(fs)
	pos, err := e.parse(fs, args, 2)
	if err != nil {
		return err
	}
	if err := e.need("verdict", *verdict); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	r, err := c.Assess(e.call(), pos[0], pos[1], client.AssessRequest{Verdict: *verdict, Category: *v.category,
		Jurisdictions: v.jurisdictions, Severity: *v.severity, Note: *v.note})
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Assessed %s as %s\n", r.Entry.Key, *verdict)
	fields(e.stdout, "status", r.Entry.Status, "assessments", strconv.Itoa(activeAssessments(&r.Entry.Entry)))
	if r.Dispute != nil {
		fmt.Fprintf(e.stdout, "Opened dispute %s: the entry is left out of every list until an analyst of another organisation resolves it.\n", r.Dispute.ID)
	}
	return nil
}

func cmdHashesRetract(e *env, args []string) error {
	fs := e.flags()
	reason := fs.String("reason", "", "why (`TEXT`, recorded in the entry's history)")
	pos, err := e.parse(fs, args, 2)
	if err != nil {
		return err
	}
	if err := e.need("reason", *reason); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	ent, err := c.Retract(e.call(), pos[0], pos[1], *reason)
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Retracted your organisation's assessments of %s\n", ent.Key)
	fields(e.stdout, "status", ent.Status, "assessments", strconv.Itoa(activeAssessments(&ent.Entry)))
	return nil
}

func cmdHashesFeedback(e *env, args []string) error {
	fs := e.flags()
	kind := fs.String("kind", "", "`KIND`: confirmed_match or false_positive (false_positive opens a dispute)")
	note := fs.String("note", "", "what you found (`TEXT`; no personal data)")
	from := fs.String("from-matches", "", "`FILE` of hashctl match output (- for standard input): the feedback goes to each matched entry once, instead of to ALGO VALUE; running it again records nothing new")
	pos, err := e.parse(fs, args, anyArgs)
	if err != nil {
		return err
	}
	switch {
	case *from != "" && len(pos) > 0:
		return e.usagef("unexpected argument %q (--from-matches names the entries)", pos[0])
	case *from == "" && len(pos) < 2:
		return e.usagef("missing %s (or --from-matches FILE|-)", missingArgs(e.cmd.args, len(pos), 2))
	case *from == "" && len(pos) > 2:
		return e.usagef("unexpected argument %q", pos[2])
	}
	if err := e.need("kind", *kind); err != nil {
		return err
	}
	if *from != "" {
		return e.feedbackFromMatches(*from, *kind, *note)
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	f, err := c.Feedback(e.call(), pos[0], pos[1], client.FeedbackRequest{Kind: *kind, Note: *note})
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Recorded feedback %s (%s) on %s\n", f.ID, f.Kind, f.Entry)
	if f.Dispute != "" {
		fmt.Fprintf(e.stdout, "Opened dispute %s: the entry is left out of every list until an analyst resolves it.\n", f.Dispute)
	}
	return nil
}
