package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
)

// The review pages: the analyst's queue, where they assess with the
// keyboard; the entry page with its history and each list's standing in
// words; the disputes and their resolution. All call the hub with the
// session's Actor, so blind review, authorisation and the audit of reads
// are the API's.

// DefaultBreakAfter is how many reviews in a day the queue reminds an
// analyst to take a break after (and after every further as many).
const DefaultBreakAfter = 50

// breakAfter holds each console's setting (SetBreakAfter), kept here
// beside the queue that uses it.
var breakAfter sync.Map // *Console → int

// SetBreakAfter sets how many reviews in a day are followed by a reminder
// to take a break (and every as many after); 0 turns the reminder off.
// Unset, it is DefaultBreakAfter.
func (cn *Console) SetBreakAfter(n int) { breakAfter.Store(cn, max(n, 0)) }

func (cn *Console) breakEvery() int {
	if n, ok := breakAfter.Load(cn); ok {
		return n.(int)
	}
	return DefaultBreakAfter
}

// queuePage is the review queue's data.
type queuePage struct {
	Today      int
	BreakAfter int
	// TakeBreak is set right after every BreakAfter-th review of the day.
	TakeBreak bool
	Disputes  []entries.Dispute
	// Current is the entry to assess now; Next the ones after it.
	Current *queueItem
	Next    []queueItem
	// After is the queue position the page started after (kept by the
	// form, so that an entry passed over stays passed over); Skip is the
	// position past Current.
	After, Skip string
	Form        assessForm
}

type queueItem struct {
	hub.ReviewItem
	Link string
}

// assessForm is the assess form's values (kept when it is refused).
type assessForm struct {
	Key, Verdict, Category, Jurisdictions, Severity, Note string
	Error, Field                                          string
}

func entryLink(key string) string { return Prefix + "/entry?key=" + url.QueryEscape(key) }

// review is the analyst's queue: disputes they may resolve, then the
// entries their organisation has not assessed, those one more assessment
// publishes first.
func (cn *Console) review(c *gin.Context, s *Session) {
	cn.renderQueue(c, s, http.StatusOK, assessForm{})
}

func (cn *Console) renderQueue(c *gin.Context, s *Session, status int, form assessForm) {
	after, err := strconv.ParseUint(c.Query("after"), 10, 64)
	if c.Query("after") != "" && err != nil {
		cn.Error(c, s, http.StatusBadRequest, "The queue position is not a number.")
		return
	}
	if c.Request.Method == http.MethodPost {
		after, _ = strconv.ParseUint(c.Request.PostForm.Get("after"), 10, 64)
	}
	r, err := cn.Hub().Review(s.Actor(), after, 11)
	if err != nil {
		cn.reviewFail(c, s, err)
		return
	}
	today, err := cn.Hub().ReviewsToday(s.Actor())
	if err != nil {
		cn.reviewFail(c, s, err)
		return
	}
	p := queuePage{Today: today, BreakAfter: cn.breakEvery(), Disputes: r.Disputes, Form: form}
	if p.BreakAfter > 0 && today > 0 && today%p.BreakAfter == 0 {
		p.TakeBreak = true
	}
	if after > 0 {
		p.After = strconv.FormatUint(after, 10)
	}
	for i, it := range r.Entries {
		qi := queueItem{ReviewItem: it, Link: entryLink(it.Key)}
		if i == 0 {
			p.Current = &qi
			continue
		}
		p.Next = append(p.Next, qi)
	}
	if p.Current != nil {
		p.Skip = strconv.FormatUint(p.Current.Pos, 10)
		if form.Key == "" {
			p.Form = assessForm{Key: p.Current.Key, Verdict: string(entries.Illegal), Category: string(entries.Baseline)}
			if cl := p.Current.Claim; cl != nil {
				p.Form.Category = string(cl.Category)
				p.Form.Severity = string(cl.Severity)
				p.Form.Jurisdictions = strings.Join(cl.Jurisdictions, ",")
			}
		}
	}
	cn.Render(c, s, status, "review", p)
}

// assess records the analyst's verdict from the queue or the entry page
// and says what it changed.
func (cn *Console) assess(c *gin.Context, s *Session) {
	f := c.Request.PostForm
	form := assessForm{Key: f.Get("key"), Verdict: f.Get("verdict"), Category: f.Get("category"),
		Jurisdictions: f.Get("jurisdictions"), Severity: f.Get("severity"), Note: f.Get("note")}
	in := entries.Input{Verdict: entries.Verdict(form.Verdict), Category: entries.Category(form.Category),
		Severity: entries.Severity(form.Severity), Note: strings.TrimSpace(form.Note)}
	for _, j := range strings.FieldsFunc(form.Jurisdictions, func(r rune) bool { return r == ',' || r == ' ' }) {
		in.Jurisdictions = append(in.Jurisdictions, j)
	}
	if in.Verdict == "" {
		form.Error, form.Field = "Choose a verdict: illegal or not illegal.", "verdict"
	} else if in.Category == entries.Baseline {
		in.Jurisdictions = nil
	}
	var e *entries.Entry
	var d *entries.Dispute
	var err error
	if form.Error == "" {
		e, d, err = cn.Hub().Assess(s.Actor(), form.Key, in)
	}
	var fe *entries.FieldError
	if errors.As(err, &fe) {
		form.Error, form.Field = fe.Error(), fe.Field
	}
	if form.Error != "" {
		if f.Get("from") == "entry" {
			cn.renderEntry(c, s, http.StatusUnprocessableEntity, form.Key, form)
			return
		}
		cn.renderQueue(c, s, http.StatusUnprocessableEntity, form)
		return
	}
	if err != nil {
		cn.reviewFail(c, s, err)
		return
	}
	msg := "Assessment of " + Short(e.Value) + " saved."
	if d != nil {
		msg += " A not illegal verdict opened dispute " + d.ID + ": the entry is out of every list until an analyst of another organisation resolves it."
	} else if in := listsIn(cn, e); len(in) > 0 {
		msg += " It is now in " + strings.Join(in, ", ") + "."
	}
	cn.Flash(c, msg)
	if f.Get("from") == "entry" {
		cn.Redirect(c, entryLink(e.Key()))
		return
	}
	to := Prefix + "/review"
	if a := f.Get("after"); a != "" {
		if _, err := strconv.ParseUint(a, 10, 64); err == nil {
			to += "?after=" + a
		}
	}
	cn.Redirect(c, to)
}

// listsIn names the lists the entry qualifies for now.
func listsIn(cn *Console, e *entries.Entry) []string {
	ls, err := cn.Hub().Lists()
	if err != nil {
		return nil
	}
	var out []string
	for i := range ls {
		if ls[i].Policy.Evaluate(e).Qualifies() {
			out = append(out, ls[i].Name)
		}
	}
	return out
}

// entryPage is the entry page's data.
type entryPage struct {
	H       *hub.History
	Key     string
	Rows    []assessmentRow
	Analyst bool
	Form    assessForm
	// Feedback by id, for the disputes it opened.
	OrgNames map[string]string
}

type assessmentRow struct {
	entries.Assessment
	OrgName string
}

// entry shows one entry: its assessments with their provenance, each
// list's standing in words, feedback, disputes and retractions. Opening it
// is an audited read.
func (cn *Console) entry(c *gin.Context, s *Session) {
	cn.renderEntry(c, s, http.StatusOK, c.Query("key"), assessForm{})
}

func (cn *Console) renderEntry(c *gin.Context, s *Session, status int, key string, form assessForm) {
	p, err := cn.entryData(s, key)
	if err != nil {
		cn.reviewFail(c, s, err)
		return
	}
	p.Form = form
	if form.Key == "" {
		p.Form = assessForm{Key: p.Key, Verdict: string(entries.Illegal), Category: string(entries.Baseline)}
		if b := p.H.Blind; b != nil && b.Claim != nil {
			p.Form.Category, p.Form.Severity = string(b.Claim.Category), string(b.Claim.Severity)
			p.Form.Jurisdictions = strings.Join(b.Claim.Jurisdictions, ",")
		}
	}
	cn.Render(c, s, status, "entry", p)
}

func (cn *Console) entryData(s *Session, key string) (*entryPage, error) {
	if key == "" || !strings.Contains(key, ":") {
		return nil, fmt.Errorf("%w: %q", entries.ErrNotFound, key)
	}
	h, err := cn.Hub().HistoryFor(s.Actor(), key)
	if err != nil {
		return nil, err
	}
	p := &entryPage{H: h, Key: h.Entry.Key(), Analyst: s.Role.Analyst(), OrgNames: map[string]string{}}
	name := func(id string) string {
		if n, ok := p.OrgNames[id]; ok {
			return n
		}
		n := id
		if o, err := cn.Hub().Org(id); err == nil {
			n = o.Name
		}
		p.OrgNames[id] = n
		return n
	}
	for _, a := range h.Entry.Assessments {
		p.Rows = append(p.Rows, assessmentRow{Assessment: a, OrgName: name(a.Org)})
	}
	for _, d := range h.Disputes {
		name(d.Org)
		if d.Resolution != nil {
			name(d.Resolution.Org)
		}
	}
	for _, f := range h.Feedback {
		name(f.Org)
	}
	return p, nil
}

// disputesPage lists disputes: the open ones first, then recent outcomes.
type disputesPage struct {
	Open, Closed []entries.Dispute
	OrgNames     map[string]string
	Org          string
}

func (cn *Console) disputes(c *gin.Context, s *Session) {
	open, err := cn.Hub().Disputes(entries.DisputeOpen, "", 200)
	if err != nil {
		cn.reviewFail(c, s, err)
		return
	}
	all, err := cn.Hub().Disputes("", "", 1000)
	if err != nil {
		cn.reviewFail(c, s, err)
		return
	}
	p := disputesPage{Open: open, OrgNames: map[string]string{}, Org: s.Org}
	for i := len(all) - 1; i >= 0 && len(p.Closed) < 50; i-- {
		if all[i].Status != entries.DisputeOpen {
			p.Closed = append(p.Closed, all[i])
		}
	}
	for _, ds := range [][]entries.Dispute{p.Open, p.Closed} {
		for _, d := range ds {
			if _, ok := p.OrgNames[d.Org]; !ok {
				p.OrgNames[d.Org] = d.Org
				if o, err := cn.Hub().Org(d.Org); err == nil {
					p.OrgNames[d.Org] = o.Name
				}
			}
		}
	}
	cn.Render(c, s, http.StatusOK, "disputes", p)
}

// disputePage shows a dispute beside its entry.
type disputePage struct {
	D *entries.Dispute
	// Feedback is the platform's feedback that opened it, if it did.
	Feedback *entries.Feedback
	E        *entryPage
	// MayResolve: an analyst of another organisation, dispute open.
	MayResolve bool
	Outcome    string
	Reason     string
	Error      string
}

func (cn *Console) dispute(c *gin.Context, s *Session) {
	cn.renderDispute(c, s, http.StatusOK, c.Param("id"), "", "", "")
}

func (cn *Console) renderDispute(c *gin.Context, s *Session, status int, id, outcome, reason, msg string) {
	d, err := cn.Hub().Dispute(id)
	if err != nil {
		cn.reviewFail(c, s, err)
		return
	}
	e, err := cn.entryData(s, d.Entry)
	if err != nil {
		cn.reviewFail(c, s, err)
		return
	}
	p := disputePage{D: d, E: e, Outcome: outcome, Reason: reason, Error: msg,
		MayResolve: s.Role.Analyst() && d.Org != s.Org && d.Status == entries.DisputeOpen}
	for i := range e.H.Feedback {
		if f := &e.H.Feedback[i]; f.ID == d.SourceID && d.Source == "feedback" {
			p.Feedback = f
		}
	}
	for i := range e.H.Disputes {
		// The history's copy is blinded where the reader may not see it.
		if e.H.Disputes[i].ID == d.ID {
			p.D = &e.H.Disputes[i]
		}
	}
	cn.Render(c, s, status, "dispute", p)
}

// resolve upholds or overturns a dispute; the reason is mandatory.
func (cn *Console) resolve(c *gin.Context, s *Session) {
	id := c.Param("id")
	outcome, reason := c.Request.PostForm.Get("outcome"), strings.TrimSpace(c.Request.PostForm.Get("reason"))
	if outcome != entries.DisputeUpheld && outcome != entries.DisputeOverturned {
		cn.renderDispute(c, s, http.StatusUnprocessableEntity, id, outcome, reason, "Choose an outcome: uphold or overturn.")
		return
	}
	if reason == "" {
		cn.renderDispute(c, s, http.StatusUnprocessableEntity, id, outcome, reason, "Give a reason: a resolution says why.")
		return
	}
	d, err := cn.Hub().ResolveDispute(s.Actor(), id, outcome, reason)
	var fe *entries.FieldError
	if errors.As(err, &fe) {
		cn.renderDispute(c, s, http.StatusUnprocessableEntity, id, outcome, reason, fe.Error())
		return
	}
	if err != nil {
		cn.reviewFail(c, s, err)
		return
	}
	msg := "Dispute " + d.ID + " " + d.Status + "."
	if e, err := cn.Hub().Entry(d.Entry); err == nil {
		if in := listsIn(cn, e); len(in) > 0 {
			msg += " The entry is in " + strings.Join(in, ", ") + "."
		} else {
			msg += " The entry is in no list."
		}
	}
	cn.Flash(c, msg)
	cn.Redirect(c, Prefix+"/disputes/"+url.PathEscape(d.ID))
}

// reviewFail answers a hub error with an error page (the API's mapping, in
// words).
func (cn *Console) reviewFail(c *gin.Context, s *Session, err error) {
	switch {
	case errors.Is(err, entries.ErrNotFound), errors.Is(err, entries.ErrDisputeNotFound), errors.Is(err, lists.ErrNotFound):
		cn.Error(c, s, http.StatusNotFound, "There is no such entry or dispute.")
	case errors.Is(err, entries.ErrOwnDispute):
		cn.Error(c, s, http.StatusForbidden, "An analyst of another organisation resolves this dispute: yours opened it.")
	case errors.Is(err, entries.ErrDisputeClosed):
		cn.Error(c, s, http.StatusConflict, "This dispute is already resolved.")
	case errors.Is(err, hub.ErrForbidden):
		cn.Error(c, s, http.StatusForbidden, "Your role may not do this.")
	case errors.Is(err, entries.ErrInvalid):
		cn.Error(c, s, http.StatusUnprocessableEntity, err.Error())
	default:
		cn.log.Error("console: review", "err", err)
		cn.Error(c, s, http.StatusInternalServerError, "Something went wrong on the node.")
	}
}

// urlInText finds what looks like a URL inside free text: a scheme, or a
// host starting with www.
var urlInText = regexp.MustCompile(`(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>"']+`)

// DefangText defangs every URL inside free text (notes, reasons,
// feedback), leaving the words around them as they are: hashhub shows no
// live or copy-and-paste-able link to reported material. What Defang leaves
// of a scheme separator or a www. host (inside another URL's path, say) is
// broken too, so that no viewer or mail client can turn it into a link.
func DefangText(s string) string {
	s = urlInText.ReplaceAllStringFunc(s, Defang)
	return wwwInText.ReplaceAllStringFunc(breakSeparators(s), func(w string) string { return w[:3] + "[.]" })
}

// breakSeparators turns every "://" not already written "[://]" into it.
func breakSeparators(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		if i > 0 && s[i-1] == '[' && strings.HasPrefix(s[i+3:], "]") {
			b.WriteString(s[:i+4])
			s = s[i+4:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString("[://]")
		s = s[i+3:]
	}
}

var wwwInText = regexp.MustCompile(`(?i)www\.`)

// verdictWord is a verdict as people say it.
func verdictWord(v entries.Verdict) string {
	if v == entries.NotIllegal {
		return "not illegal"
	}
	return string(v)
}

func init() {
	funcs["verdict"] = verdictWord
	funcs["defangText"] = DefangText
	funcs["orgName"] = func(names map[string]string, id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
	funcs["isAnalyst"] = func(r orgs.Role) bool { return r.Analyst() }
	// dict passes several values to a shared template (the assess form).
	funcs["dict"] = func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			if k, ok := kv[i].(string); ok {
				m[k] = kv[i+1]
			}
		}
		return m
	}
}
