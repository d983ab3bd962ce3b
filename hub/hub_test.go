package hub

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/store"
)

type fixture struct {
	s                 *Service
	admin, nl, gb, pl Actor
	nl2               Actor
}

// bootstrapped is a service on a fresh store with its admin organisation.
func bootstrapped(t testing.TB) (*Service, Actor) {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := New(db, "node-a")
	if _, _, err := s.Bootstrap("Admins", "NL"); err != nil {
		t.Fatal(err)
	}
	return s, Actor{User: "usr_admin", Org: "org_admin", Role: orgs.Admin, Jurisdiction: "NL"}
}

// orgActor creates an organisation with one user and returns that user.
func orgActor(t testing.TB, s *Service, admin Actor, name string, kind orgs.Role, jur string) Actor {
	t.Helper()
	o, err := s.CreateOrg(admin, orgs.Org{Name: name, Kind: kind, Jurisdiction: jur})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(admin, o.ID, "analyst")
	if err != nil {
		t.Fatal(err)
	}
	return Actor{User: u.User.ID, Org: o.ID, Role: kind, Jurisdiction: jur}
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	s, admin := bootstrapped(t)
	f := &fixture{s: s, admin: admin}
	mk := func(name string, kind orgs.Role, jur string) Actor { return orgActor(t, s, admin, name, kind, jur) }
	f.nl = mk("Hotline NL", orgs.Hotline, "NL")
	f.gb = mk("Hotline GB", orgs.Hotline, "GB")
	f.pl = mk("Platform", orgs.Platform, "US")
	u, err := s.CreateUser(f.admin, f.nl.Org, "second")
	if err != nil {
		t.Fatal(err)
	}
	f.nl2 = Actor{User: u.User.ID, Org: f.nl.Org, Role: orgs.Hotline, Jurisdiction: "NL"}
	if _, err := s.CreateList(f.admin, lists.List{Name: "two-orgs", Policy: lists.Policy{MinAssessments: 2, MinOrgs: 2, MinJurisdictions: 2},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) auditLen(t *testing.T) uint64 {
	t.Helper()
	var n uint64
	if err := f.s.db.View(func(tx *store.Tx) (err error) { n, _, err = tx.AuditHead(); return err }); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) qualifying(t *testing.T) []string {
	t.Helper()
	q, err := f.s.QualifyingEntries("two-orgs", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range q.Entries {
		out = append(out, e.Algo+":"+e.Value)
	}
	return out
}

const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestHumanReviewLoop(t *testing.T) {
	f := newFixture(t)
	h, _ := hashes.Parse("sha256", strings.ToUpper(sha), nil)
	key := h.Key()
	if _, created, err := f.s.Submit(f.nl, h, entries.Input{Severity: "A"}); err != nil || !created {
		t.Fatalf("submit: created=%v err=%v", created, err)
	}
	// Same submission again: nothing changes, no audit event.
	before := f.auditLen(t)
	if _, created, err := f.s.Submit(f.nl, h, entries.Input{Severity: "A"}); err != nil || created {
		t.Fatalf("resubmit: created=%v err=%v", created, err)
	}
	if f.auditLen(t) != before {
		t.Fatal("an unchanged resubmission was audited as a change")
	}
	if q := f.qualifying(t); len(q) != 0 {
		t.Fatalf("one org qualifies: %v", q)
	}
	// A second analyst of the same org is not a second organisation.
	if _, _, err := f.s.Assess(f.nl2, key, entries.Input{Verdict: entries.Illegal}); err != nil {
		t.Fatal(err)
	}
	if q := f.qualifying(t); len(q) != 0 {
		t.Fatalf("same org twice qualifies: %v", q)
	}
	// The review queue shows GB the entry one short; NL analysts already assessed it.
	r, err := f.s.Review(f.gb, 0, 10)
	if err != nil || len(r.Entries) != 1 || r.Entries[0].Key != key {
		t.Fatalf("GB review: %+v %v", r, err)
	}
	if r, _ := f.s.Review(f.nl, 0, 10); len(r.Entries) != 0 {
		t.Fatalf("NL sees its own entry in review: %+v", r.Entries)
	}
	if _, _, err := f.s.Assess(f.gb, key, entries.Input{Verdict: entries.Illegal}); err != nil {
		t.Fatal(err)
	}
	if q := f.qualifying(t); len(q) != 1 || q[0] != key {
		t.Fatalf("two orgs, two jurisdictions: %v", q)
	}

	// The platform's false positive takes it out of the list and opens a dispute.
	fb, err := f.s.GiveFeedback(f.pl, key, entries.FalsePositive, "matched a holiday photo")
	if err != nil || fb.Dispute == "" {
		t.Fatalf("feedback: %+v %v", fb, err)
	}
	if q := f.qualifying(t); len(q) != 0 {
		t.Fatalf("disputed entry still listed: %v", q)
	}
	r, _ = f.s.Review(f.gb, 0, 10)
	if len(r.Disputes) != 1 || r.Disputes[0].ID != fb.Dispute {
		t.Fatalf("dispute not in review queue: %+v", r.Disputes)
	}
	// A platform cannot resolve; a second false positive by the same org opens nothing new.
	if _, err := f.s.ResolveDispute(f.pl, fb.Dispute, entries.DisputeUpheld, "x"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("platform resolved: %v", err)
	}
	fb2, err := f.s.GiveFeedback(f.pl, key, entries.FalsePositive, "again")
	if err != nil || fb2.Dispute != "" {
		t.Fatalf("second feedback: %+v %v", fb2, err)
	}
	if _, err := f.s.ResolveDispute(f.gb, fb.Dispute, "maybe", "x"); err == nil {
		t.Fatal("bad outcome accepted")
	}
	if _, err := f.s.ResolveDispute(f.gb, fb.Dispute, entries.DisputeUpheld, "re-assessed: category A"); err != nil {
		t.Fatal(err)
	}
	if q := f.qualifying(t); len(q) != 1 {
		t.Fatalf("upheld entry not back: %v", q)
	}
	if _, err := f.s.ResolveDispute(f.gb, fb.Dispute, entries.DisputeUpheld, "again"); !errors.Is(err, entries.ErrDisputeClosed) {
		t.Fatalf("resolved twice: %v", err)
	}

	// A not_illegal assessment opens a dispute the assessing org may not resolve.
	_, d, err := f.s.Assess(f.gb, key, entries.Input{Verdict: entries.NotIllegal, Note: "adult"})
	if err != nil || d == nil {
		t.Fatalf("not_illegal: %v %v", d, err)
	}
	if _, err := f.s.ResolveDispute(f.gb, d.ID, entries.DisputeOverturned, "mine"); !errors.Is(err, entries.ErrOwnDispute) {
		t.Fatalf("own dispute resolved: %v", err)
	}
	if _, err := f.s.ResolveDispute(f.nl, d.ID, entries.DisputeOverturned, "agreed: not illegal"); err != nil {
		t.Fatal(err)
	}
	if q := f.qualifying(t); len(q) != 0 {
		t.Fatalf("overturned entry still listed: %v", q)
	}
	hist, err := f.s.History(key)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Disputes) != 2 || len(hist.Feedback) != 2 || hist.Status != "not_illegal" {
		t.Fatalf("history: %d disputes, %d feedback, status %s", len(hist.Disputes), len(hist.Feedback), hist.Status)
	}
	if n, err := VerifyAudit(f.s.db); err != nil || n < 10 {
		t.Fatalf("audit: %d %v", n, err)
	}
}

func TestUpheldNotIllegalIsSetAside(t *testing.T) {
	f := newFixture(t)
	h, _ := hashes.Parse("md5", "00112233445566778899aabbccddeeff", nil)
	f.s.Submit(f.nl, h, entries.Input{})
	f.s.Assess(f.gb, h.Key(), entries.Input{Verdict: entries.Illegal})
	_, d, err := f.s.Assess(f.nl2, h.Key(), entries.Input{Verdict: entries.NotIllegal})
	if err != nil || d == nil {
		t.Fatal(err)
	}
	if _, err := f.s.ResolveDispute(f.gb, d.ID, entries.DisputeUpheld, "it is illegal"); err != nil {
		t.Fatal(err)
	}
	// nl2's not_illegal is overruled and nl still counts through the submitter.
	if q := f.qualifying(t); len(q) != 1 {
		t.Fatalf("upheld entry not listed: %v", q)
	}
}

func TestRetract(t *testing.T) {
	f := newFixture(t)
	h, _ := hashes.Parse("md5", "00112233445566778899aabbccddeeff", nil)
	f.s.Submit(f.nl, h, entries.Input{})
	f.s.Assess(f.gb, h.Key(), entries.Input{Verdict: entries.Illegal})
	if len(f.qualifying(t)) != 1 {
		t.Fatal("not qualifying before retraction")
	}
	if _, err := f.s.Retract(f.nl, h.Key(), ""); !errors.Is(err, entries.ErrInvalid) {
		t.Fatalf("retraction without reason: %v", err)
	}
	if _, err := f.s.Retract(f.pl, h.Key(), "not mine"); !errors.Is(err, entries.ErrNothingToRetract) {
		t.Fatalf("platform retracted: %v", err)
	}
	e, err := f.s.Retract(f.nl, h.Key(), "submitted in error")
	if err != nil {
		t.Fatal(err)
	}
	// Both NL analysts' assessments are the organisation's; both go.
	if e.Status() != "active" || len(f.qualifying(t)) != 0 {
		t.Fatalf("after NL retraction: status %s, qualifying %v", e.Status(), f.qualifying(t))
	}
	e, _ = f.s.Retract(f.gb, h.Key(), "withdrawn")
	if e.Status() != "retracted" {
		t.Fatalf("all retracted: status %s", e.Status())
	}
	if _, err := f.s.Retract(f.gb, h.Key(), "again"); !errors.Is(err, entries.ErrNothingToRetract) {
		t.Fatalf("double retraction: %v", err)
	}
}

func TestFeedbackDoesNotRevealUnlistedEntries(t *testing.T) {
	f := newFixture(t)
	h, _ := hashes.Parse("md5", "00112233445566778899aabbccddeeff", nil)
	f.s.Submit(f.nl, h, entries.Input{})
	_, err := f.s.GiveFeedback(f.pl, h.Key(), entries.ConfirmedMatch, "")
	if !errors.Is(err, entries.ErrNotFound) {
		t.Fatalf("feedback on an unlisted entry: %v", err)
	}
}

func TestImportLineErrorsAndBatches(t *testing.T) {
	f := newFixture(t)
	f.s.ImportBatch = 3
	body := `{"algo":"md5","value":"00112233445566778899AABBCCDDEEFF"}
{"algo":"md5","value":"0011"}
{"algo":"crc32","value":"00"}

{"algo":"sha1","value":"da39a3ee5e6b4b0d3255bfef95601890afd80709","category":"national","jurisdictions":["nl"]}
{"algo":"sha1","value":"da39a3ee5e6b4b0d3255bfef95601890afd80709","category":"national","jurisdictions":["nl"]}
{"algo":"pdq","value":"` + strings.Repeat("f0", 32) + `","quality":80,"severity":"B"}
{"algo":"md5","value":"ffeeddccbbaa99887766554433221100","category":"local"}
`
	res, err := f.s.Import(f.nl, ingest.NewNDJSON(strings.NewReader(body), ingest.DefaultMaxLine), "t1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != 7 || res.Accepted != 4 || res.Created != 3 || res.Unchanged != 1 || res.Rejected != 3 || res.Batches != 2 {
		t.Fatalf("result: %+v", res)
	}
	wantLines := []int{2, 3, 8}
	for i, e := range res.Errors {
		if e.Line != wantLines[i] {
			t.Fatalf("error %d at line %d, want %d (%v)", i, e.Line, wantLines[i], e)
		}
	}
	if res.Errors[0].Field != "value" || res.Errors[1].Field != "algo" || res.Errors[2].Field != "category" {
		t.Fatalf("error fields: %+v %+v %+v", res.Errors[0], res.Errors[1], res.Errors[2])
	}
	e, err := f.s.Entry("md5:00112233445566778899aabbccddeeff")
	if err != nil || len(e.Assessments) != 1 {
		t.Fatalf("normalised entry: %+v %v", e, err)
	}
	// Re-running the import is idempotent.
	head := f.auditLen(t)
	res, _ = f.s.Import(f.nl, ingest.NewNDJSON(strings.NewReader(body), ingest.DefaultMaxLine), "t2", nil)
	if res.Created != 0 || res.Updated != 0 || res.Unchanged != 4 {
		t.Fatalf("rerun: %+v", res)
	}
	if f.auditLen(t) != head+2 {
		t.Fatalf("rerun audit events: %d → %d (one per batch)", head, f.auditLen(t))
	}
	// Garbage changes nothing.
	head = f.auditLen(t)
	_, err = f.s.Import(f.nl, ingest.NewNDJSON(strings.NewReader("\x00\x01\x02\xff\xfe garbage\n"), ingest.DefaultMaxLine), "t3", nil)
	if !errors.Is(err, ingest.ErrNotText) || f.auditLen(t) != head {
		t.Fatalf("garbage: %v, audit %d → %d", err, head, f.auditLen(t))
	}
}

// brokenReader yields some valid lines, then fails like a dropped connection.
type brokenReader struct {
	r ingest.Reader
	n int
}

func (b *brokenReader) Next() (ingest.Record, error) {
	if b.n == 0 {
		return ingest.Record{}, errors.New("connection reset")
	}
	b.n--
	return b.r.Next()
}

func TestImportBrokenStreamWritesNothing(t *testing.T) {
	f := newFixture(t)
	f.s.ImportBatch = 2
	var body strings.Builder
	for i := 0; i < 10; i++ {
		body.WriteString(`{"algo":"md5","value":"` + strings.Repeat(string("0123456789"[i]), 32) + `"}` + "\n")
	}
	head := f.auditLen(t)
	_, err := f.s.Import(f.nl, &brokenReader{r: ingest.NewNDJSON(strings.NewReader(body.String()), ingest.DefaultMaxLine), n: 7}, "b", nil)
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v", err)
	}
	if f.auditLen(t) != head {
		t.Fatal("a broken import wrote audit events")
	}
	if _, err := f.s.Entry("md5:" + strings.Repeat("0", 32)); !errors.Is(err, entries.ErrNotFound) {
		t.Fatalf("a broken import stored an entry: %v", err)
	}
}

// TestImportAcrossRuns spills many small runs, with the same hash in
// several of them, and checks the merged result.
func TestImportAcrossRuns(t *testing.T) {
	f := newFixture(t)
	f.s.ImportBatch = 4
	var body strings.Builder
	for i := 0; i < 50; i++ {
		v := strings.Repeat(string("0123456789abcdef"[i%16]), 32) // 16 distinct hashes, repeated
		body.WriteString(`{"algo":"md5","value":"` + v + `","severity":"` + []string{"A", "B", "C"}[i%3] + `"}` + "\n")
	}
	var batches []int
	res, err := f.s.Import(f.nl, ingest.NewNDJSON(strings.NewReader(body.String()), ingest.DefaultMaxLine), "r",
		func(r ImportResult) { batches = append(batches, r.Accepted) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 50 || res.Created != 16 || res.Created+res.Updated+res.Unchanged != 50 || res.Batches != 13 || len(batches) != 13 {
		t.Fatalf("result %+v, progress %v", res, batches)
	}
	// The last line for each hash wins: line 49 (i=48) gave hash 0 severity A.
	e, err := f.s.Entry("md5:" + strings.Repeat("0", 32))
	if err != nil || len(e.Assessments) != 1 || e.Assessments[0].Severity != "A" {
		t.Fatalf("entry: %+v %v", e, err)
	}
	e, _ = f.s.Entry("md5:" + strings.Repeat("1", 32)) // last: i=49 → severity B
	if e.Assessments[0].Severity != "B" {
		t.Fatalf("hash 1 severity %s, want B", e.Assessments[0].Severity)
	}
	n, err := VerifyAudit(f.s.db)
	if err != nil || n == 0 {
		t.Fatal(n, err)
	}
}
