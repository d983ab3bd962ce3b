package hub

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/reports"
	bolt "go.etcd.io/bbolt"
)

// desk is a node's report desk on a real store, with a clock the test
// moves, a law-enforcement organisation and two registered providers.
type desk struct {
	*fixture
	r            *Reports
	clock        time.Time
	police       Actor
	provA, provB Actor
}

func newDesk(t *testing.T) *desk {
	t.Helper()
	f := newFixture(t)
	d := &desk{fixture: f, clock: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)} // a Wednesday
	f.s.now = func() time.Time { return d.clock }
	d.r = NewReports(f.s, ReportConfig{Jurisdiction: "NL"})
	mk := func(name string, kind orgs.Role) Actor {
		o, err := f.s.CreateOrg(f.admin, orgs.Org{Name: name, Kind: kind, Jurisdiction: "NL"})
		if err != nil {
			t.Fatal(err)
		}
		u, err := f.s.CreateUser(f.admin, o.ID, "officer")
		if err != nil {
			t.Fatal(err)
		}
		return Actor{User: u.User.ID, Org: o.ID, Role: kind, Jurisdiction: "NL"}
	}
	d.police = mk("Police NL", orgs.LawEnforcement)
	d.provA = mk("Host A", orgs.HostingProvider)
	d.provB = mk("Host B", orgs.HostingProvider)
	for _, p := range []struct {
		a      Actor
		domain string
	}{{d.provA, "a.example"}, {d.provB, "b.example"}} {
		if _, err := d.r.PutProvider(f.admin, reports.Provider{Org: p.a.Org, Domains: []string{p.domain}, Email: "abuse@" + p.domain}); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// report submits a report of one URL hosted by provider p in NL, routes
// it and returns it with its notice id.
func (d *desk) report(t *testing.T, p Actor, url string) (*reports.Report, string) {
	t.Helper()
	rep, _, err := d.r.Submit(d.nl, &reports.Submission{URLs: []string{url},
		Classification: reports.Classification{Category: "baseline", Severity: "A"}, Detection: "manual_review",
		Explanation: "seen by an analyst", ObservedAt: d.clock.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.r.ApplyRoutes(rep.ID, []Resolution{{URL: url, Host: "h", Jurisdiction: "NL", Provider: p.Org}}); err != nil {
		t.Fatal(err)
	}
	rep, err = d.r.Report(rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Routes) != 1 || rep.Routes[0].Notice == "" {
		t.Fatalf("routes %+v: want one notice", rep.Routes)
	}
	return rep, rep.Routes[0].Notice
}

// deliver runs the notice's first delivery now.
func (d *desk) deliver(t *testing.T, notice string) {
	t.Helper()
	js, err := d.r.DueJobs(100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range js {
		if js[i].Kind == JobNotice && js[i].Ref == notice {
			if err := d.r.Delivered(&js[i]); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no notice job due for %s", notice)
}

func TestReportNoticesFollowTheReportsReaders(t *testing.T) {
	d := newDesk(t)
	rep, nid := d.report(t, d.provA, "https://a.example/x")
	for _, a := range []Actor{d.police, d.nl} {
		before := d.auditLen(t)
		ns, err := d.r.ReportNotices(a, rep.ID)
		if err != nil {
			t.Fatalf("%s: %v", a.Role, err)
		}
		if len(ns) != 1 || ns[0].ID != nid || ns[0].URL != "https://a.example/x" {
			t.Fatalf("%s: notices %+v", a.Role, ns)
		}
		if d.auditLen(t) != before+1 {
			t.Fatalf("%s: the read was not audited", a.Role)
		}
	}
	for _, a := range []Actor{d.gb, d.pl, d.provB, d.admin} {
		if _, err := d.r.ReportNotices(a, rep.ID); !errors.Is(err, reports.ErrNotFound) {
			t.Fatalf("%s reads the notices of a report not theirs: %v", a.Role, err)
		}
	}
}

func TestTakedownBoardOverdueFirst(t *testing.T) {
	d := newDesk(t)
	d.r.SetNoticeDelay(0)
	_, late := d.report(t, d.provA, "https://a.example/late")
	d.deliver(t, late)
	d.clock = d.clock.Add(2 * time.Hour)
	_, later := d.report(t, d.provB, "https://b.example/less-late")
	d.deliver(t, later)
	d.clock = d.clock.Add(time.Hour)
	_, fresh := d.report(t, d.provB, "https://b.example/fresh")
	d.deliver(t, fresh)
	_, queued := d.report(t, d.provA, "https://a.example/queued")
	_, gone := d.report(t, d.provA, "https://a.example/gone")
	d.deliver(t, gone)
	if _, err := d.r.SetStatus(d.provA, gone, reports.Removed, ""); err != nil {
		t.Fatal(err)
	}
	// 25 h after the first delivery: "late" is 1 h overdue, "less-late"
	// is not yet (2 h later), "fresh" neither.
	d.clock = d.clock.Add(22 * time.Hour)

	before := d.auditLen(t)
	b, err := d.r.Takedowns(d.admin, TakedownFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if d.auditLen(t) != before+1 {
		t.Error("listing the notices was not recorded")
	}
	var got []string
	for _, n := range b.Notices {
		got = append(got, n.ID)
	}
	want := []string{late, later, fresh, queued} // the removed one is final: not open
	if len(got) != len(want) {
		t.Fatalf("notices %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
	if b.Notices[0].Overdue != time.Hour || b.Notices[1].Overdue != 0 || !b.Notices[3].Due.IsZero() {
		t.Fatalf("clocks: %+v", b.Notices)
	}
	if b.Matching != 4 || b.Deadline != 24*time.Hour {
		t.Fatalf("matching %d deadline %v", b.Matching, b.Deadline)
	}
	if len(b.Providers) != 2 || b.Providers[0].Provider != d.provA.Org || b.Providers[0].Overdue != 1 {
		t.Fatalf("providers: %+v", b.Providers)
	}
	pa := b.Providers[0].ByStatus
	if pa[reports.Sent] != 1 || pa[reports.Queued] != 1 || pa[reports.Removed] != 1 || b.Providers[0].Total != 3 {
		t.Fatalf("provider A by status: %v", pa)
	}

	// Filters: by provider and by status (final ones too).
	b, err = d.r.Takedowns(d.admin, TakedownFilter{Provider: d.provB.Org})
	if err != nil || len(b.Notices) != 2 || b.Notices[0].ID != later {
		t.Fatalf("provider B: %+v %v", b, err)
	}
	b, err = d.r.Takedowns(d.admin, TakedownFilter{Status: reports.Removed})
	if err != nil || len(b.Notices) != 1 || b.Notices[0].ID != gone {
		t.Fatalf("removed: %+v %v", b, err)
	}
	if b, err = d.r.Takedowns(d.admin, TakedownFilter{Limit: 1}); err != nil || len(b.Notices) != 1 || b.Matching != 4 {
		t.Fatalf("limit: %+v %v", b, err)
	}
	if _, err := d.r.Takedowns(d.admin, TakedownFilter{Status: "lost"}); err == nil {
		t.Fatal("an unknown status is accepted")
	}

	// Who sees what: a provider its own, law enforcement the notices of
	// reports handed to it, a platform nothing.
	b, err = d.r.Takedowns(d.provB, TakedownFilter{})
	if err != nil || len(b.Notices) != 2 || len(b.Providers) != 1 {
		t.Fatalf("provider B sees %+v %v", b, err)
	}
	b, err = d.r.Takedowns(d.police, TakedownFilter{})
	if err != nil || len(b.Notices) != 4 {
		t.Fatalf("police sees %+v %v", b, err)
	}
	b, err = d.r.Takedowns(d.gb, TakedownFilter{})
	if err != nil || len(b.Notices) != 0 {
		t.Fatalf("another hotline sees %+v %v", b, err)
	}
	if _, err := d.r.Takedowns(d.pl, TakedownFilter{}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("platform: %v", err)
	}
}

func TestHeldTimeDelaysOverdue(t *testing.T) {
	d := newDesk(t)
	d.r.SetNoticeDelay(0)
	rep, nid := d.report(t, d.provA, "https://a.example/held")
	d.deliver(t, nid)
	if _, err := d.r.Hold(d.police, rep.ID, "investigation", d.clock.Add(10*time.Hour)); err != nil {
		t.Fatal(err)
	}
	d.clock = d.clock.Add(10 * time.Hour)
	js, err := d.r.DueJobs(100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range js {
		if js[i].Kind == JobHoldEnd {
			if err := d.r.HoldEnd(&js[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	d.clock = d.clock.Add(20 * time.Hour) // 30 h after delivery, 10 h of it held
	b, err := d.r.Takedowns(d.admin, TakedownFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n := b.Notices[0]; n.Status != reports.Sent || n.Overdue != 0 || !n.Due.Equal(d.clock.Add(4*time.Hour)) {
		t.Fatalf("held notice: status %s overdue %v due %v", n.Status, n.Overdue, n.Due)
	}
}

func TestRemovalTrendsByWeek(t *testing.T) {
	d := newDesk(t)
	d.r.SetNoticeDelay(0)
	start := d.clock // Wednesday of week W
	// Week W: provider A removes after 1 h, 2 h, 3 h and 10 h.
	remove := func(p Actor, url string, after time.Duration) {
		t.Helper()
		_, nid := d.report(t, p, url)
		d.deliver(t, nid)
		d.clock = d.clock.Add(after)
		if _, err := d.r.SetStatus(p, nid, reports.Removed, ""); err != nil {
			t.Fatal(err)
		}
		d.clock = d.clock.Add(-after)
	}
	for i, h := range []int{1, 2, 3, 10} {
		remove(d.provA, "https://a.example/"+string(rune('a'+i)), time.Duration(h)*time.Hour)
	}
	// Week W+1: provider A after 5 h; provider B after 48 h.
	d.clock = start.Add(7 * 24 * time.Hour)
	remove(d.provA, "https://a.example/next", 5*time.Hour)
	remove(d.provB, "https://b.example/slow", 48*time.Hour)
	// Not removed: not counted.
	_, open := d.report(t, d.provB, "https://b.example/open")
	d.deliver(t, open)

	d.clock = start.Add(9 * 24 * time.Hour) // Friday of week W+1
	ts, err := d.r.RemovalTrends(d.admin, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 {
		t.Fatalf("trends %+v", ts)
	}
	if ts[0].Provider != d.provA.Org {
		ts[0], ts[1] = ts[1], ts[0]
	}
	a := ts[0].Weeks
	if len(a) != 3 || !a[1].Start.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) || a[0].Removed != 0 {
		t.Fatalf("weeks of A: %+v", a)
	}
	if a[1].Removed != 4 || a[1].MedianSeconds != 2.5*3600 || a[1].P90Seconds != 10*3600 {
		t.Fatalf("week W of A: %+v", a[1])
	}
	if a[2].Removed != 1 || a[2].MedianSeconds != 5*3600 || a[2].P90Seconds != 5*3600 {
		t.Fatalf("week W+1 of A: %+v", a[2])
	}
	// B's removal happened two days into week W+1... after 48 h, still W+1.
	if b := ts[1].Weeks[2]; b.Removed != 1 || b.MedianSeconds != 48*3600 {
		t.Fatalf("week W+1 of B: %+v", b)
	}
	// A provider sees only its own trend; a platform none.
	if ts, err := d.r.RemovalTrends(d.provB, 3); err != nil || len(ts) != 1 || ts[0].Provider != d.provB.Org {
		t.Fatalf("provider B: %+v %v", ts, err)
	}
	if _, err := d.r.RemovalTrends(d.pl, 3); !errors.Is(err, ErrForbidden) {
		t.Fatalf("platform: %v", err)
	}
}

func TestPercentileNearestRank(t *testing.T) {
	for _, c := range []struct {
		v    []float64
		q    float64
		want float64
	}{
		{nil, 0.9, 0},
		{[]float64{7}, 0.9, 7},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9},
		{[]float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 11}, 0.9, 10},
		{[]float64{3, 1, 2}, 0.5, 2},
	} {
		if got := percentile(c.v, c.q); got != c.want || math.IsNaN(got) {
			t.Errorf("percentile(%v, %v) = %v, want %v", c.v, c.q, got, c.want)
		}
	}
}

func TestWeekStartIsMonday(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"2026-03-02T00:00:00Z", "2026-03-02T00:00:00Z"}, // Monday
		{"2026-03-08T23:59:59Z", "2026-03-02T00:00:00Z"}, // Sunday
		{"2026-03-09T00:00:01Z", "2026-03-09T00:00:00Z"},
		{"2027-01-01T12:00:00Z", "2026-12-28T00:00:00Z"}, // across a year
	} {
		in, _ := time.Parse(time.RFC3339, c.in)
		if got := weekStart(in).Format(time.RFC3339); got != c.want {
			t.Errorf("weekStart(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestOverviewAndAuditCheck(t *testing.T) {
	d := newDesk(t)
	if _, err := d.s.Overview(d.nl); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a hotline reads the overview: %v", err)
	}
	o, err := d.s.Overview(d.admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Lists) != 1 || o.Lists[0].Name != "two-orgs" || o.Lists[0].Version != 0 {
		t.Fatalf("lists %+v", o.Lists)
	}
	if !o.Audit.Intact || o.Audit.Verified != o.Audit.HeadSeq || o.Audit.HeadSeq == 0 {
		t.Fatalf("audit %+v", o.Audit)
	}
	first := o.Audit.Verified
	d.report(t, d.provA, "https://a.example/y") // appends events
	st, err := d.s.CheckAudit()
	if err != nil || !st.Intact || st.Verified <= first || st.Verified != st.HeadSeq {
		t.Fatalf("second check %+v %v", st, err)
	}
	// Edit an event already verified: the mark no longer matches, the
	// chain is walked again and the break found.
	if err := d.s.db.Bolt().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		k := binary.BigEndian.AppendUint64(nil, st.HeadSeq)
		v := bytes.Replace(b.Get(k), []byte(`"action":"`), []byte(`"action":"x`), 1)
		return b.Put(k, v)
	}); err != nil {
		t.Fatal(err)
	}
	st, err = d.s.CheckAudit()
	if err != nil || st.Intact || st.Problem == "" {
		t.Fatalf("tampered chain: %+v %v", st, err)
	}
	if o.OutboxPending != 0 {
		t.Fatalf("outbox %d", o.OutboxPending)
	}
	o, err = d.s.Overview(d.admin)
	if err != nil || o.OutboxPending == 0 || o.Audit.Intact {
		t.Fatalf("after a report: outbox %d audit %+v %v", o.OutboxPending, o.Audit, err)
	}
}

func TestOverviewListsReleasesAndStaleness(t *testing.T) {
	d := newDesk(t)
	withPublisher(t, d.fixture)
	m, err := d.s.BuildRelease(d.admin, "two-orgs")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.s.PutCosignature(1, "witness.example", "— witness.example AAAA"); err != nil {
		t.Fatal(err)
	}
	o, err := d.s.Overview(d.admin)
	if err != nil {
		t.Fatal(err)
	}
	l := o.Lists[0]
	if l.Version != m.Version || l.Age != 0 || l.Stale || l.Expires.Sub(l.Created) <= 0 {
		t.Fatalf("fresh release: %+v", l)
	}
	if o.TreeSize != 1 || len(o.Cosigners) != 1 || o.LastCosigned != 1 || o.LastCosignedNames[0] != "witness.example" {
		t.Fatalf("cosignatures: %+v", o)
	}
	life := l.Expires.Sub(l.Created)
	d.clock = d.clock.Add(life * 3 / 4).Add(time.Minute)
	if o, err = d.s.Overview(d.admin); err != nil || !o.Lists[0].Stale {
		t.Fatalf("a release past 3/4 of its life is not stale: %+v %v", o.Lists, err)
	}
}
