package hub

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/store"
)

// reviewFixture is a node with hotlines in NL, GB and FR and the lists
// given (none by default).
type reviewFixture struct {
	s                      *Service
	admin, nl, nl2, gb, fr Actor
}

func newReviewFixture(t testing.TB, ls ...lists.List) *reviewFixture {
	t.Helper()
	s, admin := bootstrapped(t)
	f := &reviewFixture{s: s, admin: admin}
	mk := func(name string, kind orgs.Role, jur string) Actor { return orgActor(t, s, admin, name, kind, jur) }
	f.nl = mk("Hotline NL", orgs.Hotline, "NL")
	f.gb = mk("Hotline GB", orgs.Hotline, "GB")
	f.fr = mk("Police FR", orgs.LawEnforcement, "FR")
	u, err := s.CreateUser(f.admin, f.nl.Org, "second")
	if err != nil {
		t.Fatal(err)
	}
	f.nl2 = Actor{User: u.User.ID, Org: f.nl.Org, Role: orgs.Hotline, Jurisdiction: "NL"}
	for _, l := range ls {
		if _, err := s.CreateList(f.admin, l); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func shaN(n byte) hashes.Hash {
	return hashes.Hash{Algo: "sha256", Value: strings.Repeat(string("0123456789abcdef"[n%16]), 64)}
}

func (f *reviewFixture) submit(t *testing.T, a Actor, h hashes.Hash, in entries.Input) string {
	t.Helper()
	e, _, err := f.s.Submit(a, h, in)
	if err != nil {
		t.Fatal(err)
	}
	return e.Key()
}

func (f *reviewFixture) assess(t *testing.T, a Actor, key string, in entries.Input) {
	t.Helper()
	if _, _, err := f.s.Assess(a, key, in); err != nil {
		t.Fatal(err)
	}
}

func queueKeys(t *testing.T, s *Service, a Actor, limit int) []string {
	t.Helper()
	var out []string
	var after uint64
	for {
		r, err := s.Review(a, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range r.Entries {
			out = append(out, it.Key)
		}
		if r.NextCursor == "" {
			return out
		}
		var next uint64
		for _, c := range r.NextCursor {
			next = next*10 + uint64(c-'0')
		}
		if next <= after {
			t.Fatalf("cursor went back: %d after %d", next, after)
		}
		after = next
	}
}

func TestReviewQueueOrderAndOrganisation(t *testing.T) {
	f := newReviewFixture(t, lists.List{Name: "three", Policy: lists.Policy{MinAssessments: 3, MinOrgs: 3, MinJurisdictions: 3}})
	e1 := f.submit(t, f.nl, shaN(1), entries.Input{})
	e2 := f.submit(t, f.nl, shaN(2), entries.Input{Severity: entries.SeverityA})
	f.assess(t, f.gb, e2, entries.Input{Verdict: entries.Illegal})
	e3 := f.submit(t, f.gb, shaN(3), entries.Input{})

	// FR has assessed nothing: the entry one more assessment publishes
	// first, then the others oldest first; every page size agrees.
	want := []string{e2, e1, e3}
	for _, limit := range []int{1, 2, 100} {
		if got := queueKeys(t, f.s, f.fr, limit); !slices.Equal(got, want) {
			t.Errorf("FR's queue (pages of %d) = %v, want %v", limit, got, want)
		}
	}
	r, err := f.s.Review(f.fr, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Entries[0].Publishes || r.Entries[1].Publishes {
		t.Errorf("publishes flags: %+v", r.Entries)
	}
	if c := r.Entries[0].Claim; c == nil || c.Severity != entries.SeverityA || c.Category != entries.Baseline {
		t.Errorf("claim of %s: %+v", e2, c)
	}
	// Another analyst of NL sees nothing NL assessed, whoever did it.
	if got := queueKeys(t, f.s, f.nl2, 100); !slices.Equal(got, []string{e3}) {
		t.Errorf("NL's queue = %v, want only %s", got, e3)
	}
	// FR's assessment publishes e2: it leaves every queue.
	f.assess(t, f.fr, e2, entries.Input{})
	if got := queueKeys(t, f.s, f.nl, 100); !slices.Equal(got, []string{e3}) {
		t.Errorf("after e2 qualified, NL's queue = %v", got)
	}
	// FR assesses e1: it is one short now (NL, FR), first for GB, and
	// never back in FR's queue, not even once FR retracts.
	f.assess(t, f.fr, e1, entries.Input{})
	if got := queueKeys(t, f.s, f.gb, 100); !slices.Equal(got, []string{e1}) {
		t.Errorf("GB's queue = %v, want [%s]", got, e1)
	}
	if _, err := f.s.Retract(f.fr, e1, "second look"); err != nil {
		t.Fatal(err)
	}
	if got := queueKeys(t, f.s, f.fr, 100); !slices.Equal(got, []string{e3}) {
		t.Errorf("after retracting, FR's queue = %v, want [%s]", got, e3)
	}
	// FR's two assessments count as its reviews today (the retraction does
	// not); GB's one.
	if n, err := f.s.ReviewsToday(f.fr); err != nil || n != 2 {
		t.Errorf("FR's reviews today = %d, %v; want 2", n, err)
	}
	if n, _ := f.s.ReviewsToday(f.gb); n != 1 {
		t.Errorf("GB's reviews today = %d, want 1", n)
	}
	// A platform has no queue.
	if _, err := f.s.Review(Actor{User: "u", Org: "o", Role: orgs.Platform}, 0, 10); err == nil {
		t.Error("a platform read the review queue")
	}
}

func TestReviewQueueLeavesDisputedAndRebuilds(t *testing.T) {
	f := newReviewFixture(t)
	e1 := f.submit(t, f.nl, shaN(1), entries.Input{})
	e2 := f.submit(t, f.nl, shaN(2), entries.Input{})
	// No list yet: nothing waits. A new list files the entries at once.
	if got := queueKeys(t, f.s, f.gb, 100); len(got) != 0 {
		t.Fatalf("queue without lists = %v", got)
	}
	if _, err := f.s.CreateList(f.admin, lists.List{Name: "two", Policy: lists.Policy{MinAssessments: 2, MinOrgs: 2, MinJurisdictions: 2}}); err != nil {
		t.Fatal(err)
	}
	if got := queueKeys(t, f.s, f.gb, 100); !slices.Equal(got, []string{e1, e2}) {
		t.Fatalf("queue after the list = %v", got)
	}
	// A not_illegal verdict opens a dispute: the entry leaves the entry
	// queue and the dispute waits for another organisation.
	f.assess(t, f.fr, e1, entries.Input{Verdict: entries.NotIllegal, Note: "adult, documented"})
	r, err := f.s.Review(f.gb, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Entries) != 1 || r.Entries[0].Key != e2 || len(r.Disputes) != 1 || r.Disputes[0].Entry != e1 {
		t.Fatalf("GB's queue with a dispute: %+v", r)
	}
	if r, _ := f.s.Review(f.fr, 0, 100); len(r.Disputes) != 0 {
		t.Errorf("FR is offered its own dispute: %+v", r.Disputes)
	}
	// A store whose index is lost (or predates it) is indexed again on the
	// first queue read.
	if err := f.s.db.Update(func(tx *store.Tx) error {
		if err := tx.ClearReview(); err != nil {
			return err
		}
		return tx.PutMeta("review_index", 0)
	}); err != nil {
		t.Fatal(err)
	}
	if got := queueKeys(t, f.s, f.gb, 100); !slices.Equal(got, []string{e2}) {
		t.Errorf("queue after a rebuild = %v", got)
	}
}

func TestBlindReview(t *testing.T) {
	f := newReviewFixture(t,
		lists.List{Name: "blind", Policy: lists.Policy{MinAssessments: 2, MinOrgs: 2, MinJurisdictions: 2, Algorithms: []string{"sha256"}}},
		lists.List{Name: "open-pdq", Policy: lists.Policy{MinAssessments: 1, Algorithms: []string{"md5"}, OpenReview: true}})
	key := f.submit(t, f.nl, shaN(1), entries.Input{Severity: entries.SeverityB, Note: "seen on a forum"})

	before := f.s.auditHead(t)
	h, err := f.s.HistoryFor(f.gb, key)
	if err != nil {
		t.Fatal(err)
	}
	if h.Blind == nil || h.Blind.Hidden != 1 || len(h.Entry.Assessments) != 0 {
		t.Fatalf("GB before assessing: blind %+v, assessments %+v", h.Blind, h.Entry.Assessments)
	}
	if c := h.Blind.Claim; c == nil || c.Severity != entries.SeverityB {
		t.Errorf("claim shown under blind review: %+v", c)
	}
	for _, st := range h.Lists {
		if st.Why != "" || st.In {
			t.Errorf("standing shown under blind review: %+v", st)
		}
	}
	if f.s.auditHead(t) != before+1 {
		t.Error("the read was not audited")
	}
	e, b, err := f.s.EntryFor(f.gb, key)
	if err != nil || b == nil || len(e.Assessments) != 0 {
		t.Fatalf("EntryFor under blind review: %+v %+v %v", e, b, err)
	}
	// The stored entry keeps its assessment (the copy was blinded).
	if e, _ := f.s.Entry(key); len(e.Assessments) != 1 {
		t.Fatal("blinding changed the stored entry")
	}
	// Admins and the submitting organisation see everything.
	for _, a := range []Actor{f.admin, f.nl, f.nl2} {
		if h, err := f.s.HistoryFor(a, key); err != nil || h.Blind != nil || len(h.Entry.Assessments) != 1 {
			t.Errorf("%s: blind %+v, err %v", a.User, h.Blind, err)
		}
	}
	// Once GB has given its own, it sees both and the standing in words.
	f.assess(t, f.gb, key, entries.Input{})
	h, err = f.s.HistoryFor(f.gb, key)
	if err != nil || h.Blind != nil || len(h.Entry.Assessments) != 2 {
		t.Fatalf("GB after assessing: %+v %v", h.Blind, err)
	}
	if h.Lists[0].List != "blind" || !h.Lists[0].In || !strings.HasPrefix(h.Lists[0].Why, "in the list") {
		t.Errorf("standing: %+v", h.Lists)
	}
	// An entry only open-review lists take is shown at once.
	md5 := hashes.Hash{Algo: "md5", Value: strings.Repeat("a", 32)}
	k2 := f.submit(t, f.nl, md5, entries.Input{})
	h, err = f.s.HistoryFor(f.fr, k2)
	if err != nil || h.Blind != nil || len(h.Entry.Assessments) != 1 {
		t.Errorf("open review: blind %+v, err %v", h.Blind, err)
	}
	// A dispute's reason from a not_illegal verdict is a verdict too.
	f.assess(t, f.gb, k2, entries.Input{Verdict: entries.NotIllegal, Note: "a drawing"})
	k3 := f.submit(t, f.nl, shaN(3), entries.Input{})
	f.assess(t, f.gb, k3, entries.Input{Verdict: entries.NotIllegal, Note: "a drawing"})
	h, err = f.s.HistoryFor(f.fr, k3)
	if err != nil || len(h.Disputes) != 1 || h.Disputes[0].Reason != "" {
		t.Errorf("dispute under blind review: %+v %v", h.Disputes, err)
	}
}

func (s *Service) auditHead(t *testing.T) uint64 {
	t.Helper()
	var n uint64
	if err := s.db.View(func(tx *store.Tx) (err error) { n, _, err = tx.AuditHead(); return err }); err != nil {
		t.Fatal(err)
	}
	return n
}
