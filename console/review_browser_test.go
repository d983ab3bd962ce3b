package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/internal/consoletest"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
)

// analyst creates a person of kind in jur and returns them with their
// Actor, for setting up a scenario through the hub.
func analyst(n *consoletest.Node, kind orgs.Role, jur string) (*consoletest.Person, hub.Actor) {
	p := n.Person(kind, jur)
	return p, hub.Actor{User: p.User, Org: p.Org, Role: kind, Jurisdiction: jur}
}

func createList(t *testing.T, n *consoletest.Node, name string, p lists.Policy) {
	t.Helper()
	if _, err := n.N.Hub.CreateList(n.Admin, lists.List{Name: name, Policy: p, Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
}

func submit(t *testing.T, n *consoletest.Node, a hub.Actor, value string, in entries.Input) string {
	t.Helper()
	e, _, err := n.N.Hub.Submit(a, hashes.Hash{Algo: "sha256", Value: value}, in)
	if err != nil {
		t.Fatal(err)
	}
	return e.Key()
}

func qualifying(t *testing.T, n *consoletest.Node, list string) []string {
	t.Helper()
	q, err := n.N.Hub.QualifyingEntries(list, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range q.Entries {
		out = append(out, e.Algo+":"+e.Value)
	}
	return out
}

// key presses keys on the page (outside any text field).
func key(b *consoletest.Browser, keys string) {
	b.T.Helper()
	b.Do(chromedp.KeyEvent(keys))
}

// keyAndLoad presses a key that leaves the page and waits for the next.
func keyAndLoad(b *consoletest.Browser, keys string) {
	b.T.Helper()
	consoletest.Run(b, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.KeyEvent(keys)))
}

// transferred is what the page and its resources weigh as sent (bodies,
// compressed or not, without cache).
func transferred(b *consoletest.Browser) int {
	b.T.Helper()
	return consoletest.Run(b, chromedp.Evaluate[int](`performance.getEntriesByType('navigation')[0].encodedBodySize +
		performance.getEntriesByType('resource').reduce((s, r) => s + r.encodedBodySize, 0)`))
}

func checkPage(t *testing.T, b *consoletest.Browser, shot string) {
	t.Helper()
	b.Axe()
	if n := transferred(b); n > 100<<10 {
		t.Errorf("%s weighs %d bytes, over 100 KB", b.Path(), n)
	}
	if shot != "" {
		b.Screenshot(shot)
	}
}

// TestBrowserReviewQueue: an analyst signs in, finds an entry another
// organisation submitted in their queue with its verdict hidden (blind
// review), assesses it with the keyboard alone, and the entry qualifies for
// the list; the entry page then shows every verdict with its provenance and
// the list's standing in words.
func TestBrowserReviewQueue(t *testing.T) {
	n := consoletest.StartNode(t)
	createList(t, n, "verified", lists.Policy{MinAssessments: 2, MinOrgs: 2, MinJurisdictions: 2})
	_, nl := analyst(n, orgs.Hotline, "NL")
	first := submit(t, n, nl, strings.Repeat("a1", 32), entries.Input{Severity: entries.SeverityB, Note: "found at https://bad.example.org/gallery?id=7"})
	second := submit(t, n, nl, strings.Repeat("b2", 32), entries.Input{})
	gb, _ := analyst(n, orgs.Hotline, "GB")

	b := consoletest.NewBrowser(t, n)
	b.SignIn(n, gb)
	b.Click(`nav a[href="/console/review"]`)
	if b.Has("#break") {
		t.Error("a break reminder before any review")
	}
	if got := b.Text("dd.hash"); got != first {
		t.Fatalf("first in the queue: %q, want %q", got, first)
	}
	if b.Has("#history") || strings.Contains(b.Text("main"), "seen") || strings.Contains(b.Text("main"), "bad.example") {
		t.Error("the queue shows the other organisation's assessment before GB gave its own")
	}
	if got := b.Text("#today"); !strings.Contains(got, "Reviews today: 0") {
		t.Errorf("today: %q", got)
	}
	checkPage(t, b, "review")

	// Blind review on the entry page too: the verdict, its note and the
	// standing are hidden, the claim is shown.
	b.Click(`a[href^="/console/entry?key="]`)
	if !b.Has("#blind") || b.Has("#history") || strings.Contains(b.Text("main"), "bad") {
		t.Fatalf("entry page before assessing:\n%s", b.Text("main"))
	}
	if got := b.Text("#blind"); !strings.Contains(got, "1 assessment is hidden") || !strings.Contains(got, "severity B") {
		t.Errorf("blind notice: %q", got)
	}
	checkPage(t, b, "")

	// "u" passes the entry over; the next one comes up.
	b.Go("/console/review")
	keyAndLoad(b, "u")
	if got := b.Text("dd.hash"); got != second {
		t.Errorf("after passing: %q, want %q", got, second)
	}
	// Back at the start, assess with the keyboard alone: illegal,
	// severity A, a note, save.
	n.N.Server.Console().SetBreakAfter(1) // as hashhub serve --break-after 1
	b.Go("/console/review")
	key(b, "i")
	key(b, "1")
	key(b, "t")
	b.Do(chromedp.KeyEvent("confirmed"))
	b.Do(chromedp.KeyEvent("\x1b")) // Escape leaves the note
	keyAndLoad(b, "s")
	if got := b.Text(".flash"); !strings.Contains(got, "It is now in verified") {
		t.Errorf("after assessing: flash %q", got)
	}
	if got := b.Text("#today"); !strings.Contains(got, "Reviews today: 1") {
		t.Errorf("today after one: %q", got)
	}
	if !b.Has("#break") {
		t.Error("no break reminder after the first review with --break-after 1")
	}
	if got := qualifying(t, n, "verified"); len(got) != 1 || got[0] != first {
		t.Fatalf("list verified holds %v, want [%s]", got, first)
	}
	// The assessed entry never comes back: the other one is next.
	if got := b.Text("dd.hash"); got != second {
		t.Errorf("after assessing, next: %q", got)
	}

	// Now the entry page shows both verdicts, their provenance, the note
	// defanged (never a link) and the list's standing in words.
	b.Go("/console/entry?key=" + first)
	if b.Has("#blind") {
		t.Fatal("still blind after assessing")
	}
	hist := b.Text("#history")
	for _, want := range []string{"illegal", "node-a", "NL", "GB", "hxxps[://]bad[.]example[.]org/gallery?id=7", "confirmed", "counts"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %q:\n%s", want, hist)
		}
	}
	if b.Has(`main a[href*="example"]`) {
		t.Error("a URL is shown as a link")
	}
	if got := b.Text("#standing .why"); got != "in the list: 2 illegal assessments from 2 organisations in 2 jurisdictions (GB, NL)" {
		t.Errorf("standing: %q", got)
	}
	checkPage(t, b, "entry")
}

// TestBrowserBlindReviewEntryForm: on the entry page an analyst under
// blind review assesses, and then sees the verdict they were blind to; a
// verdict without its required jurisdictions is refused with the form kept.
func TestBrowserBlindReviewEntryForm(t *testing.T) {
	n := consoletest.StartNode(t)
	createList(t, n, "verified", lists.Policy{MinAssessments: 2, MinOrgs: 2, MinJurisdictions: 1})
	_, nl := analyst(n, orgs.Hotline, "NL")
	k := submit(t, n, nl, strings.Repeat("c3", 32), entries.Input{Note: "first opinion"})
	fr, _ := analyst(n, orgs.LawEnforcement, "FR")

	b := consoletest.NewBrowser(t, n)
	b.SignIn(n, fr)
	b.Go("/console/entry?key=" + k)
	if !b.Has("#blind") || strings.Contains(b.Text("main"), "first opinion") {
		t.Fatal("the verdict shows before FR assessed")
	}
	b.Submit("form.assess", map[string]string{"#category": "national", "#note": "national only"})
	if b.Status() != 422 || !strings.Contains(b.Text("#assess-error"), "jurisdictions") {
		t.Fatalf("national without jurisdictions: %d %q", b.Status(), b.Text("main"))
	}
	if got := consoletest.Run(b, chromedp.Evaluate[string](`document.getElementById("note").value`)); got != "national only" {
		t.Errorf("the refused form lost its note: %q", got)
	}
	b.Submit("form.assess", map[string]string{"#jurisdictions": "FR"})
	if b.Has("#blind") || !strings.Contains(b.Text("#history"), "first opinion") {
		t.Fatalf("after assessing:\n%s", b.Text("main"))
	}
	if got := b.Text("#standing .why"); got != "in the list: 2 illegal assessments from 2 organisations in 2 jurisdictions (FR, NL)" {
		t.Errorf("standing with a national FR verdict on a 2-organisation list: %q", got)
	}
}

// TestBrowserDispute: a platform's false-positive feedback opens a
// dispute and takes the entry out of the list; an analyst of another
// organisation sees the feedback beside the entry, is refused without a
// reason, overturns with one, and the entry stays out.
func TestBrowserDispute(t *testing.T) {
	n := consoletest.StartNode(t)
	createList(t, n, "verified", lists.Policy{MinAssessments: 1})
	_, nl := analyst(n, orgs.Hotline, "NL")
	k := submit(t, n, nl, strings.Repeat("d4", 32), entries.Input{})
	if got := qualifying(t, n, "verified"); len(got) != 1 {
		t.Fatalf("before the feedback the list holds %v", got)
	}
	_, plat := analyst(n, orgs.Platform, "US")
	fb, err := n.N.Hub.GiveFeedback(plat, k, entries.FalsePositive, "a cartoon, see https://cdn.example.com/a.png")
	if err != nil || fb.Dispute == "" {
		t.Fatalf("feedback: %+v %v", fb, err)
	}
	if got := qualifying(t, n, "verified"); len(got) != 0 {
		t.Fatalf("with a dispute open the list holds %v", got)
	}

	gb, _ := analyst(n, orgs.Hotline, "GB")
	b := consoletest.NewBrowser(t, n)
	b.SignIn(n, gb)
	b.Go("/console/review")
	b.Click(`a[href="/console/disputes/` + fb.Dispute + `"]`)
	if got := b.Text("#feedback-note"); got != "a cartoon, see hxxps[://]cdn[.]example[.]com/a.png" {
		t.Errorf("feedback note: %q", got)
	}
	if got := b.Text("#standing .why"); got != "shown once your organisation has assessed it" {
		t.Errorf("standing under blind review: %q", got)
	}
	checkPage(t, b, "dispute")

	// The reason is mandatory: the browser asks for it, and the node
	// refuses a form that comes without it anyway.
	b.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById("reason").removeAttribute("required")`))
	b.Do(chromedp.Click(chromedp.CSS("#outcome-overturned")))
	b.Click(`#resolve [type="submit"]`)
	if b.Status() != 422 || !strings.Contains(b.Text(".error"), "Give a reason") {
		t.Fatalf("without a reason: %d %q", b.Status(), b.Text("main"))
	}
	d, err := n.N.Hub.Dispute(fb.Dispute)
	if err != nil || d.Status != entries.DisputeOpen {
		t.Fatalf("a refused resolution changed the dispute: %+v %v", d, err)
	}
	b.Submit("#resolve", map[string]string{"#reason": "a drawing, not a photograph; not illegal in GB"})
	if got := b.Text(".flash"); !strings.Contains(got, "overturned") || !strings.Contains(got, "The entry is in no list") {
		t.Errorf("flash: %q", got)
	}
	if got := b.Text("#dispute-status"); got != "overturned" {
		t.Errorf("status: %q", got)
	}
	if got := b.Text("#resolution"); !strings.Contains(got, "a drawing, not a photograph") {
		t.Errorf("resolution: %q", got)
	}
	if got := qualifying(t, n, "verified"); len(got) != 0 {
		t.Errorf("after overturning the list holds %v", got)
	}
	b.Go("/console/disputes")
	if !strings.Contains(b.Text("#closed + table"), fb.Dispute) {
		t.Errorf("disputes page lacks the resolved one:\n%s", b.Text("main"))
	}
	checkPage(t, b, "disputes")
}

// TestBrowserReviewPagesByRole: the review pages by role. A platform's
// person opens none of them (403) and has no link to them; an admin reads
// entries and disputes but has no queue and no resolve form.
func TestBrowserReviewPagesByRole(t *testing.T) {
	n := consoletest.StartNode(t)
	createList(t, n, "verified", lists.Policy{MinAssessments: 1})
	_, nl := analyst(n, orgs.Hotline, "NL")
	k := submit(t, n, nl, strings.Repeat("e5", 32), entries.Input{})
	plat, platA := analyst(n, orgs.Platform, "US")
	fb, err := n.N.Hub.GiveFeedback(platA, k, entries.FalsePositive, "")
	if err != nil {
		t.Fatal(err)
	}
	admin := n.PersonIn(n.Admin.Org, orgs.Admin, "")
	pages := []struct {
		path           string
		platform, admn int
	}{
		{"/console/review", 403, 403},
		{"/console/entry?key=" + k, 403, 200},
		{"/console/disputes", 403, 200},
		{"/console/disputes/" + fb.Dispute, 403, 200},
	}
	for _, who := range []struct {
		p    *consoletest.Person
		want func(int, int) int
	}{{plat, func(p, _ int) int { return p }}, {admin, func(_, a int) int { return a }}} {
		b := consoletest.NewBrowser(t, n)
		b.SignIn(n, who.p)
		if who.p == plat && (b.Has(`nav a[href="/console/review"]`) || b.Has(`nav a[href="/console/disputes"]`)) {
			t.Error("a platform's navigation links to the review pages")
		}
		for _, pg := range pages {
			b.Go(pg.path)
			if got, want := b.Status(), who.want(pg.platform, pg.admn); got != want {
				t.Errorf("%s opens %s: %d, want %d", who.p.Role, pg.path, got, want)
			}
		}
		if who.p == admin && b.Has("#resolve") {
			t.Error("an admin is offered the resolve form")
		}
	}
}
