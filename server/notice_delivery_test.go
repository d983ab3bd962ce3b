package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/hosting"
	"github.com/hashhub/hashhub/reports"
	"github.com/hashhub/hashhub/server"
)

func (w *deskWorld) notice(t *testing.T, who *principal, id string) reports.Notice {
	t.Helper()
	var n reports.Notice
	w.tn.get("/v1/notices/"+id, who.Token).decode(t, http.StatusOK, &n)
	return n
}

func (w *deskWorld) routed(t *testing.T, id string) reports.Report {
	t.Helper()
	var rep reports.Report
	eventually(t, "routing", func() bool { rep = w.report(t, id); return rep.Status == reports.Routed })
	return rep
}

// TestNoticeRetriesOnceProcessed: a webhook that fails its first
// deliveries gets the notice again and again under one idempotency key,
// and processes it once; one that refuses outright makes a dead letter.
func TestNoticeRetriesOnceProcessed(t *testing.T) {
	w := newDeskWorld(t)
	w.hookA.failFirst = 4
	w.hookB.status = http.StatusGone
	w.tn.startOutbox(hosting.Static{"cdn.other.example": {"198.51.100.7"}}, nil)
	rep := w.routed(t, w.submit(t, w.hotline, validReport("https://www.hosting-a.example/1", "https://cdn.other.example/2")).ID)
	a, b := rep.Routes[0].Notice, rep.Routes[1].Notice
	eventually(t, "delivery after failures", func() bool { return w.notice(t, w.provA, a).Status == reports.Sent })
	calls, processed := w.hookA.snapshot()
	if calls != 5 || len(processed) != 1 || processed[0] != a+"/1" {
		t.Fatalf("provider A: %d calls, processed %q", calls, processed)
	}
	eventually(t, "dead letter", func() bool { return w.notice(t, w.provB, b).Status == reports.Failed })
	nb := w.notice(t, w.provB, b)
	if !strings.Contains(nb.FailReason, "410") || nb.SentAt != nil {
		t.Fatalf("failed notice %+v", nb)
	}
	var ob server.OutboxState
	w.tn.get("/v1/outbox", w.tn.admin.Token).decode(t, http.StatusOK, &ob)
	if len(ob.Dead) != 1 || ob.Dead[0].Ref != b || ob.Dead[0].Attempts != 1 {
		t.Fatalf("dead letters %+v", ob.Dead)
	}
	var page server.NoticePage
	w.tn.get("/v1/notices?status=failed", w.tn.admin.Token).decode(t, http.StatusOK, &page)
	if len(page.Notices) != 1 || page.Notices[0].ID != b {
		t.Fatalf("failed notices %+v", page.Notices)
	}
}

// TestHoldAndRenotice: a hold keeps a queued notice from being sent until
// it ends; a notice not removed is sent again at each re-notice delay, one
// escalation level up, until removal stops it.
func TestHoldAndRenotice(t *testing.T) {
	w := newDeskWorld(t)
	w.tn.n.Reports.SetRenotice([]time.Duration{300 * time.Millisecond, 600 * time.Millisecond})
	w.hookA.status = http.StatusServiceUnavailable // keeps the notice queued
	w.tn.startOutbox(nil, nil)
	rr := w.submit(t, w.hotline, validReport("https://hosting-a.example/held"))
	rep := w.routed(t, rr.ID)
	id := rep.Routes[0].Notice

	// Too long a hold, and a hold by someone it was not forwarded to.
	w.tn.postJSON("/v1/reports/"+rr.ID+"/hold", w.police.Token, map[string]any{"reason": "investigation", "until": time.Now().Add(365 * 24 * time.Hour)}).
		problem(t, http.StatusUnprocessableEntity, "invalid-input")
	until := time.Now().Add(700 * time.Millisecond)
	w.tn.postJSON("/v1/reports/"+rr.ID+"/hold", w.police.Token, map[string]any{"reason": "investigation", "until": until}).decode(t, http.StatusOK, &rep)
	if rep.Hold == nil || rep.Hold.Org != w.police.Org {
		t.Fatalf("hold %+v", rep.Hold)
	}
	n := w.notice(t, w.hotline, id)
	if n.Status != reports.Held || n.HeldFrom != reports.Queued {
		t.Fatalf("held notice %+v", n)
	}
	w.hookA.mu.Lock()
	w.hookA.status = 0
	w.hookA.mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	if _, p := w.hookA.snapshot(); len(p) != 0 {
		t.Fatalf("sent while held: %q", p)
	}
	eventually(t, "sent after the hold", func() bool { _, p := w.hookA.snapshot(); return len(p) == 1 })
	if time.Now().Before(until) {
		t.Fatal("sent before the hold ended")
	}
	// Not removed: re-notices at escalation 1 and 2.
	eventually(t, "two re-notices", func() bool { _, p := w.hookA.snapshot(); return len(p) == 3 })
	_, p := w.hookA.snapshot()
	if p[1] != id+"/2" || p[2] != id+"/3" {
		t.Fatalf("keys %q", p)
	}
	if e := w.hookA.notice(p[2]); e.Escalation != 2 || e.Send != 3 {
		t.Fatalf("third send: escalation %d send %d", e.Escalation, e.Send)
	}
	// The reporting hotline's analyst confirms removal; no more sends.
	w.tn.postJSON("/v1/notices/"+id+"/status", w.hotline.Token, map[string]any{"status": "removed", "note": "checked by analyst"}).decode(t, http.StatusOK, &n)
	if n.Status != reports.Removed || n.Escalation != 2 || n.HeldSeconds < 0 {
		t.Fatalf("removed notice %+v", n)
	}
	// A hotline may not acknowledge for the provider.
	w.tn.postJSON("/v1/notices/"+id+"/status", w.hotline.Token, map[string]any{"status": "acknowledged"}).problem(t, http.StatusForbidden, "forbidden")
	time.Sleep(700 * time.Millisecond)
	if _, p := w.hookA.snapshot(); len(p) != 3 {
		t.Fatalf("sent after removal: %q", p)
	}
}

// With a notice delay, law enforcement sees a non-urgent report at once
// and can hold its takedown before the provider is told; an urgent report
// is noticed at once all the same.
func TestNoticeDelayLetsPoliceHoldFirst(t *testing.T) {
	w := newDeskWorld(t)
	w.tn.n.Reports.SetNoticeDelay(400 * time.Millisecond)
	w.tn.startOutbox(nil, nil)
	held := validReport("https://hosting-a.example/wait-for-police")
	held["urgent"] = false
	rr := w.submit(t, w.hotline, held)
	rep := w.routed(t, rr.ID)
	heldID := rep.Routes[0].Notice
	until := time.Now().Add(1200 * time.Millisecond)
	w.tn.postJSON("/v1/reports/"+rr.ID+"/hold", w.police.Token, map[string]any{"reason": "securing evidence", "until": until}).decode(t, http.StatusOK, &rep)
	urgent := w.submit(t, w.hotline, validReport("https://hosting-a.example/urgent"))
	urgentID := w.routed(t, urgent.ID).Routes[0].Notice
	eventually(t, "the urgent notice", func() bool { _, p := w.hookA.snapshot(); return len(p) == 1 })
	if _, p := w.hookA.snapshot(); p[0] != urgentID+"/1" {
		t.Fatalf("first delivery %q, want the urgent notice", p)
	}
	time.Sleep(600 * time.Millisecond) // past the delay, inside the hold
	if _, p := w.hookA.snapshot(); len(p) != 1 {
		t.Fatalf("a held notice went out: %q", p)
	}
	eventually(t, "the held notice after the hold", func() bool { _, p := w.hookA.snapshot(); return len(p) == 2 })
	if time.Now().Before(until) {
		t.Fatal("sent before the hold ended")
	}
	if _, p := w.hookA.snapshot(); p[1] != heldID+"/1" {
		t.Fatalf("second delivery %q", p)
	}
}
