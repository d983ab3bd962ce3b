package server_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/server"
)

// TestHumanReviewLoop walks the oversight loop of docs/design.md §3
// (lists) through the API: nothing reaches a platform until the list's
// policy of independent human assessments is met, and a platform's false
// positive puts a human back in the loop.
func TestHumanReviewLoop(t *testing.T) {
	tn := newTestNode(t)
	nl := tn.member(orgs.Hotline, "NL")
	gb := tn.member(orgs.Hotline, "GB")
	pl := tn.member(orgs.Platform, "US")

	tn.postJSON("/v1/lists", tn.admin.Token, map[string]any{
		"name":    "verified",
		"policy":  map[string]any{"min_assessments": 2, "min_orgs": 2, "min_jurisdictions": 2},
		"readers": map[string]any{"orgs": []string{pl.Org}},
	}).decode(t, http.StatusCreated, nil)
	tn.postJSON("/v1/lists", tn.admin.Token, map[string]any{
		"name":    "analysts-only",
		"policy":  map[string]any{"min_assessments": 1},
		"readers": map[string]any{"roles": []string{"hotline"}},
	}).decode(t, http.StatusCreated, nil)

	value := sha256Hex()
	key := "sha256:" + value
	entryPath := "/v1/hashes/sha256/" + value

	listed := func(t *testing.T) bool {
		t.Helper()
		var q hub.Qualifying
		tn.get("/v1/lists/verified/entries", pl.Token).decode(t, http.StatusOK, &q)
		for _, e := range q.Entries {
			if e.Algo == "sha256" && e.Value == value {
				return true
			}
		}
		return false
	}
	review := func(t *testing.T, p *principal) *hub.Review {
		t.Helper()
		var r hub.Review
		tn.get("/v1/review", p.Token).decode(t, http.StatusOK, &r)
		return &r
	}

	// 1. NL submits: one assessment, one organisation, one jurisdiction.
	tn.postJSON("/v1/hashes", nl.Token, map[string]any{"algo": "sha256", "value": value, "severity": "A"}).decode(t, http.StatusCreated, nil)
	if listed(t) {
		t.Fatal("listed after one assessment; the policy needs two organisations in two jurisdictions")
	}

	// 2. GB's review queue shows the entry one assessment short; NL's does not
	// (NL has assessed it).
	r := review(t, gb)
	i := slices.IndexFunc(r.Entries, func(it hub.ReviewItem) bool { return it.Key == key })
	if i < 0 {
		t.Fatalf("GB's review queue lacks %s: %+v", key, r)
	}
	if n := r.Entries[i].Lists; len(n) != 1 || n[0].List != "verified" ||
		n[0].Shortfall != (lists.Shortfall{Assessments: 1, Orgs: 1, Jurisdictions: 1}) {
		t.Fatalf("needs %+v", n)
	}
	if r := review(t, nl); slices.ContainsFunc(r.Entries, func(it hub.ReviewItem) bool { return it.Key == key }) {
		t.Fatal("NL is asked to review its own submission")
	}

	// 3. GB assesses: the policy is met.
	var ar server.AssessResponse
	tn.postJSON(entryPath+"/assessments", gb.Token, map[string]any{"verdict": "illegal", "severity": "B"}).decode(t, http.StatusOK, &ar)
	if ar.Dispute != nil || ar.Entry.Status != "active" {
		t.Fatalf("assessment answer %+v", ar)
	}
	if !listed(t) {
		t.Fatal("not listed after two independent assessments")
	}
	var q hub.Qualifying
	tn.get("/v1/lists/verified/entries", pl.Token).decode(t, http.StatusOK, &q)
	for _, e := range q.Entries {
		if e.Value == value && e.Severity != "A" {
			t.Errorf("listed severity %q, want the most severe, A", e.Severity)
		}
	}

	// 4. The platform reports a false positive: the entry leaves the list and
	// NL (another organisation than the platform) is asked to resolve it.
	var fb struct {
		ID      string `json:"id"`
		Dispute string `json:"dispute"`
	}
	tn.postJSON(entryPath+"/feedback", pl.Token, map[string]any{"kind": "false_positive", "note": "matched a holiday photo"}).
		decode(t, http.StatusCreated, &fb)
	if fb.Dispute == "" {
		t.Fatal("false positive opened no dispute")
	}
	if listed(t) {
		t.Fatal("still listed while disputed")
	}
	r = review(t, nl)
	if !slices.ContainsFunc(r.Disputes, func(d entries.Dispute) bool { return d.ID == fb.Dispute && d.Entry == key && d.Status == "open" }) {
		t.Fatalf("NL's review queue lacks dispute %s: %+v", fb.Dispute, r.Disputes)
	}
	var ev server.EntryView
	tn.get(entryPath, nl.Token).decode(t, http.StatusOK, &ev)
	if ev.Status != "disputed" {
		t.Fatalf("status %q while disputed", ev.Status)
	}

	// 5. The platform may not resolve (only analysts do).
	before := tn.state()
	tn.postJSON("/v1/disputes/"+fb.Dispute+"/resolve", pl.Token, map[string]any{"outcome": "overturned", "reason": "we say so"}).
		problem(t, http.StatusForbidden, "forbidden")
	tn.unchanged(t, before, "the platform's resolution")

	// 6. NL upholds the entry: it is listed again.
	var d entries.Dispute
	tn.postJSON("/v1/disputes/"+fb.Dispute+"/resolve", nl.Token, map[string]any{"outcome": "upheld", "reason": "re-assessed: category A"}).
		decode(t, http.StatusOK, &d)
	if d.Status != "upheld" || d.Resolution == nil || d.Resolution.Org != nl.Org {
		t.Fatalf("resolution %+v", d)
	}
	if !listed(t) {
		t.Fatal("not listed again after the dispute was upheld")
	}
	tn.postJSON("/v1/disputes/"+fb.Dispute+"/resolve", gb.Token, map[string]any{"outcome": "overturned", "reason": "late"}).
		problem(t, http.StatusConflict, "dispute-closed")
	if r := review(t, gb); slices.ContainsFunc(r.Disputes, func(d entries.Dispute) bool { return d.ID == fb.Dispute }) {
		t.Fatal("a resolved dispute is still in a review queue")
	}

	// 7. The history tells the whole story.
	var h hub.History
	tn.get(entryPath+"/history", nl.Token).decode(t, http.StatusOK, &h)
	if h.Status != "active" || len(h.Entry.Assessments) != 2 {
		t.Fatalf("history: status %q, %d assessments", h.Status, len(h.Entry.Assessments))
	}
	orgsSeen := map[string]bool{}
	for _, a := range h.Entry.Assessments {
		orgsSeen[a.Org+"/"+a.OrgJur] = a.Verdict == "illegal"
	}
	if !orgsSeen[nl.Org+"/NL"] || !orgsSeen[gb.Org+"/GB"] {
		t.Fatalf("assessments %+v", h.Entry.Assessments)
	}
	if len(h.Feedback) != 1 || h.Feedback[0].Kind != "false_positive" || h.Feedback[0].Org != pl.Org || h.Feedback[0].Dispute != fb.Dispute {
		t.Fatalf("feedback %+v", h.Feedback)
	}
	if len(h.Disputes) != 1 || h.Disputes[0].Status != "upheld" || h.Disputes[0].Source != "feedback" ||
		h.Disputes[0].Resolution == nil || h.Disputes[0].Resolution.Reason != "re-assessed: category A" {
		t.Fatalf("disputes %+v", h.Disputes)
	}
	actions := tn.auditActions()
	for _, want := range []string{"hash.submit", "hash.assess", "dispute.open", "hash.feedback", "dispute.resolve"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit lacks %s: %v", want, actions)
		}
	}

	// 8. A list the platform does not read does not exist for it.
	for _, p := range []string{"/v1/lists/analysts-only", "/v1/lists/analysts-only/entries"} {
		tn.get(p, pl.Token).problem(t, http.StatusNotFound, "not-found")
		tn.get(p, nl.Token).decode(t, http.StatusOK, nil)
	}
	var ls server.ListList
	tn.get("/v1/lists", pl.Token).decode(t, http.StatusOK, &ls)
	if len(ls.Lists) != 1 || ls.Lists[0].Name != "verified" {
		t.Fatalf("the platform sees lists %+v", ls)
	}
	// …and neither does a missing list: the two answers are the same.
	a := tn.get("/v1/lists/analysts-only", pl.Token)
	b := tn.get("/v1/lists/no-such-list", pl.Token)
	pa, pb := a.problem(t, 404, "not-found"), b.problem(t, 404, "not-found")
	if pa.Title != pb.Title {
		t.Fatalf("hidden and missing lists answer differently: %+v / %+v", pa, pb)
	}
}

// TestBlindReviewAPI: the API applies blind review as the console does. An
// analyst of another organisation reading an entry before assessing it
// gets no assessments, only the claim and how many were hidden, on the
// entry and on its history, and each read is audited; after assessing, they
// get every verdict and the list's standing in words. A list created with
// open_review shows them at once.
func TestBlindReviewAPI(t *testing.T) {
	tn := newTestNode(t)
	nl := tn.member(orgs.Hotline, "NL")
	gb := tn.member(orgs.Hotline, "GB")
	tn.postJSON("/v1/lists", tn.admin.Token, map[string]any{
		"name": "verified", "policy": map[string]any{"min_assessments": 2, "min_orgs": 2, "min_jurisdictions": 2, "algorithms": []string{"sha256"}},
	}).decode(t, http.StatusCreated, nil)
	var open lists.List
	tn.postJSON("/v1/lists", tn.admin.Token, map[string]any{
		"name": "md5-open", "policy": map[string]any{"min_assessments": 1, "algorithms": []string{"md5"}, "open_review": true},
	}).decode(t, http.StatusCreated, &open)
	if !open.Policy.OpenReview {
		t.Fatalf("open_review not kept: %+v", open.Policy)
	}
	value := sha256Hex()
	path := "/v1/hashes/sha256/" + value
	tn.postJSON("/v1/hashes", nl.Token, map[string]any{"algo": "sha256", "value": value, "severity": "B", "note": "first opinion"}).decode(t, http.StatusCreated, nil)

	var v server.EntryView
	tn.get(path, gb.Token).decode(t, http.StatusOK, &v)
	if v.Blind == nil || v.Blind.Hidden != 1 || len(v.Assessments) != 0 || v.Blind.Claim == nil || v.Blind.Claim.Severity != entries.SeverityB {
		t.Fatalf("GB before assessing: blind %+v, assessments %+v", v.Blind, v.Assessments)
	}
	var h hub.History
	tn.get(path+"/history", gb.Token).decode(t, http.StatusOK, &h)
	if h.Blind == nil || len(h.Entry.Assessments) != 0 || len(h.Lists) != 2 || h.Lists[1].Why != "" {
		t.Fatalf("GB's history before assessing: %+v", h)
	}
	if n := slices.Index(tn.auditActions(), "hash.read"); n < 0 {
		t.Error("an entry read is not in the audit log")
	}
	tn.postJSON(path+"/assessments", gb.Token, map[string]any{"verdict": "illegal"}).decode(t, http.StatusOK, nil)
	h = hub.History{}
	tn.get(path+"/history", gb.Token).decode(t, http.StatusOK, &h)
	if h.Blind != nil || len(h.Entry.Assessments) != 2 {
		t.Fatalf("GB's history after assessing: blind %+v, %d assessments", h.Blind, len(h.Entry.Assessments))
	}
	if want := "in the list: 2 illegal assessments from 2 organisations in 2 jurisdictions (GB, NL)"; h.Lists[1].List != "verified" || h.Lists[1].Why != want {
		t.Errorf("standing: %+v", h.Lists)
	}
	md5 := "00112233445566778899aabbccddeeff"
	tn.postJSON("/v1/hashes", nl.Token, map[string]any{"algo": "md5", "value": md5}).decode(t, http.StatusCreated, nil)
	v = server.EntryView{}
	tn.get("/v1/hashes/md5/"+md5, gb.Token).decode(t, http.StatusOK, &v)
	if v.Blind != nil || len(v.Assessments) != 1 {
		t.Errorf("an entry only an open-review list takes: blind %+v, %d assessments", v.Blind, len(v.Assessments))
	}
}
