package hub

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/reports"
	"github.com/hashhub/hashhub/store"
)

// The views of takedown tracking: the notices a report caused, the notices
// by provider and state with the overdue ones first, and how fast each
// provider removes, week by week. They serve the console's law-enforcement
// and admin pages; the authorisation is the API's.

// ReportNotices lists the notices a report caused, for whoever may read
// the report (its reporting organisation, the organisations it was handed
// to, an admin for an unrouted one). The read is recorded like the
// report's own: a notice names the reported URL.
func (r *Reports) ReportNotices(a Actor, id string) ([]reports.Notice, error) {
	out := []reports.Notice{}
	err := r.s.db.Update(func(tx *store.Tx) error {
		rep, err := tx.Report(id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !r.mayRead(a, rep)) {
			return fmt.Errorf("%w: %q", reports.ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		ids := []string{}
		for _, rt := range rep.Routes {
			if rt.Notice == "" {
				continue
			}
			n, err := tx.Notice(rt.Notice)
			if err != nil {
				return err
			}
			out = append(out, *n)
			ids = append(ids, n.ID)
		}
		if len(ids) == 0 {
			return nil
		}
		return record(tx, a.audit(), r.Now(), "report.notices_read", id, ids)
	})
	return out, err
}

// TakedownFilter selects the notices of the takedown board.
type TakedownFilter struct {
	// Provider keeps one provider's notices (its organisation id, or
	// "email:" and the abuse address of a provider not registered here).
	Provider string
	// Status keeps the notices in one status; "" keeps the open ones
	// (not removed, disputed or failed).
	Status string
	// Limit caps the notices listed (the counts cover all of them).
	Limit int
}

// DefaultTakedownLimit is how many notices the board lists by default.
const DefaultTakedownLimit = 200

// TakedownBoard is the takedown tracking view.
type TakedownBoard struct {
	// Providers counts every visible notice by provider and status,
	// providers with overdue notices first.
	Providers []ProviderNotices
	// Notices are those the filter keeps, overdue first (the longest
	// overdue at the top), then by when they fall due.
	Notices []TrackedNotice
	// Matching is how many notices the filter keeps, before the limit.
	Matching int
	// Deadline is the time a provider has to remove from the first
	// delivery (the first re-notice delay).
	Deadline time.Duration
}

// ProviderNotices are one provider's notice counts.
type ProviderNotices struct {
	Provider string
	Name     string
	Total    int
	ByStatus map[string]int
	Overdue  int
}

// TrackedNotice is a notice with its removal clock.
type TrackedNotice struct {
	reports.Notice
	// Due is when the provider should have removed it: the first delivery
	// plus the deadline plus the time held. Zero while no clock runs
	// (queued, held) or when it is final.
	Due time.Time
	// Overdue is how long past Due it is (0 when not overdue).
	Overdue time.Duration
}

// noticeKey names a notice's provider: the registered organisation, or
// the abuse address of a provider found by RDAP (as Stats does).
func noticeKey(n *reports.Notice) string {
	if n.Provider != "" {
		return n.Provider
	}
	return "email:" + n.Email
}

// removalDeadline is how long a provider has to remove after the first
// delivery before a notice is overdue: the first re-notice delay, the
// moment the node itself escalates.
func (r *Reports) removalDeadline() time.Duration {
	if len(r.cfg.Renotice) > 0 {
		return r.cfg.Renotice[0]
	}
	return DefaultRenotice[0]
}

// track computes a notice's removal clock at now.
func track(n *reports.Notice, deadline time.Duration, now time.Time) TrackedNotice {
	t := TrackedNotice{Notice: *n}
	if n.SentAt == nil || (n.Status != reports.Sent && n.Status != reports.Acknowledged) {
		return t
	}
	t.Due = n.SentAt.Add(deadline + time.Duration(n.HeldSeconds)*time.Second)
	if now.After(t.Due) {
		t.Overdue = now.Sub(t.Due)
	}
	return t
}

// noticeReader decides which notices an actor sees on the board: an admin
// every one, a provider its own, an analyst those of the reports its
// organisation may read (reported, or was handed). Anyone else none.
func (r *Reports) noticeReader(tx *store.Tx, a Actor) (func(*reports.Notice) bool, error) {
	switch a.Role {
	case orgs.Admin:
		return func(*reports.Notice) bool { return true }, nil
	case orgs.HostingProvider:
		return func(n *reports.Notice) bool { return n.Provider != "" && n.Provider == a.Org }, nil
	case orgs.Hotline, orgs.LawEnforcement:
		seen := map[string]bool{}
		return func(n *reports.Notice) bool {
			ok, done := seen[n.Report]
			if !done {
				rep, err := tx.Report(n.Report)
				ok = err == nil && r.mayRead(a, rep)
				seen[n.Report] = ok
			}
			return ok
		}, nil
	}
	return nil, ErrForbidden
}

// Takedowns builds the takedown board of the notices the caller may see,
// and records the read (the notices listed name reported URLs).
func (r *Reports) Takedowns(a Actor, f TakedownFilter) (*TakedownBoard, error) {
	if f.Status != "" && !slices.Contains(reports.NoticeStatuses, f.Status) {
		return nil, &reports.FieldError{Field: "status", Reason: fmt.Sprintf("%q is not a notice status", f.Status)}
	}
	if f.Limit <= 0 {
		f.Limit = DefaultTakedownLimit
	}
	now := r.Now()
	deadline := r.removalDeadline()
	b := &TakedownBoard{Deadline: deadline, Providers: []ProviderNotices{}, Notices: []TrackedNotice{}}
	// The scan reads every notice: it runs in a read transaction, so it
	// does not hold up writers; the read is recorded afterwards in a
	// short write of its own.
	err := r.s.db.View(func(tx *store.Tx) error {
		may, err := r.noticeReader(tx, a)
		if err != nil {
			return err
		}
		by := map[string]*ProviderNotices{}
		var kept []TrackedNotice
		if err := tx.EachNotice(func(n *reports.Notice) error {
			if !may(n) {
				return nil
			}
			t := track(n, deadline, now)
			key := noticeKey(n)
			p := by[key]
			if p == nil {
				p = &ProviderNotices{Provider: key, Name: n.ProviderName, ByStatus: map[string]int{}}
				by[key] = p
			}
			p.Total++
			p.ByStatus[n.Status]++
			if t.Overdue > 0 {
				p.Overdue++
			}
			if f.Provider != "" && key != f.Provider {
				return nil
			}
			if f.Status == "" && reports.Final(n.Status) || f.Status != "" && n.Status != f.Status {
				return nil
			}
			t.History = nil // the board shows none; the notice page has it
			kept = append(kept, t)
			return nil
		}); err != nil {
			return err
		}
		for _, p := range by {
			b.Providers = append(b.Providers, *p)
		}
		sort.Slice(b.Providers, func(i, j int) bool {
			x, y := b.Providers[i], b.Providers[j]
			if x.Overdue != y.Overdue {
				return x.Overdue > y.Overdue
			}
			return x.Provider < y.Provider
		})
		sortTracked(kept)
		b.Matching = len(kept)
		if len(kept) > f.Limit {
			kept = kept[:f.Limit]
		}
		b.Notices = append(b.Notices, kept...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(b.Notices) == 0 {
		return b, nil
	}
	ids := make([]string, len(b.Notices))
	for i, t := range b.Notices {
		ids[i] = t.ID
	}
	err = r.s.db.Update(func(tx *store.Tx) error {
		return record(tx, a.audit(), now, "notice.board_read", a.Org, ids)
	})
	if err != nil {
		return nil, err // a read that cannot be recorded is not shown
	}
	return b, nil
}

// sortTracked puts overdue notices first, the longest overdue at the top;
// then those with a running clock by when they fall due; then the rest,
// newest first.
func sortTracked(ts []TrackedNotice) {
	sort.SliceStable(ts, func(i, j int) bool {
		x, y := ts[i], ts[j]
		if (x.Overdue > 0) != (y.Overdue > 0) {
			return x.Overdue > 0
		}
		if x.Overdue != y.Overdue {
			return x.Overdue > y.Overdue
		}
		if x.Due.IsZero() != y.Due.IsZero() {
			return !x.Due.IsZero()
		}
		if !x.Due.Equal(y.Due) {
			return x.Due.Before(y.Due)
		}
		if !x.Created.Equal(y.Created) {
			return x.Created.After(y.Created)
		}
		return x.ID < y.ID
	})
}

// RemovalWeek is one week of one provider's removals: the notices removed
// that week and the median and 90th percentile of their time to removal
// (from the first delivery, time held excluded).
type RemovalWeek struct {
	// Start is the Monday 00:00 UTC the week starts.
	Start   time.Time
	Removed int
	// MedianSeconds and P90Seconds are meaningful when Removed > 0.
	MedianSeconds float64
	P90Seconds    float64
}

// RemovalTrend is one provider's time to removal, week by week, oldest
// week first; every week of the window is present (Removed 0 when none).
type RemovalTrend struct {
	Provider string
	Name     string
	Weeks    []RemovalWeek
}

// DefaultTrendWeeks is how many weeks the takedown chart covers.
const DefaultTrendWeeks = 12

// weekStart is the Monday 00:00 UTC of t's week (ISO weeks).
func weekStart(t time.Time) time.Time {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	off := (int(d.Weekday()) + 6) % 7 // Monday 0 … Sunday 6
	return d.AddDate(0, 0, -off)
}

// RemovalTrends computes each provider's time to removal by week over the
// last weeks weeks (this one included). A removal counts in the week it
// happened, so a past week's figures never change. The figures are the
// API's takedown statistics by week: every role that reads those reads
// these, a provider only its own; they name no URL, so the read is not
// recorded.
func (r *Reports) RemovalTrends(a Actor, weeks int) ([]RemovalTrend, error) {
	switch a.Role {
	case orgs.Admin, orgs.Hotline, orgs.LawEnforcement, orgs.HostingProvider:
	default:
		return nil, ErrForbidden
	}
	if weeks <= 0 {
		weeks = DefaultTrendWeeks
	}
	last := weekStart(r.Now())
	first := last.AddDate(0, 0, -7*(weeks-1))
	type acc struct {
		name string
		secs [][]float64 // by week
	}
	by := map[string]*acc{}
	err := r.s.db.View(func(tx *store.Tx) error {
		return tx.EachNotice(func(n *reports.Notice) error {
			key := noticeKey(n)
			if a.Role == orgs.HostingProvider && key != a.Org {
				return nil
			}
			if n.RemovedAt == nil || n.SentAt == nil || n.RemovedAt.Before(first) {
				return nil
			}
			w := int(weekStart(*n.RemovedAt).Sub(first) / (7 * 24 * time.Hour))
			if w >= weeks {
				return nil
			}
			p := by[key]
			if p == nil {
				p = &acc{name: n.ProviderName, secs: make([][]float64, weeks)}
				by[key] = p
			}
			held := time.Duration(n.HeldSeconds) * time.Second
			p.secs[w] = append(p.secs[w], max(0, n.RemovedAt.Sub(*n.SentAt)-held).Seconds())
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	out := make([]RemovalTrend, 0, len(by))
	for key, p := range by {
		t := RemovalTrend{Provider: key, Name: p.name, Weeks: make([]RemovalWeek, weeks)}
		for i := range t.Weeks {
			t.Weeks[i] = RemovalWeek{Start: first.AddDate(0, 0, 7*i), Removed: len(p.secs[i]),
				MedianSeconds: median(p.secs[i]), P90Seconds: percentile(p.secs[i], 0.9)}
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Provider < out[j].Provider })
	return out, nil
}

// percentile is the nearest-rank percentile q (0 < q ≤ 1) of v: the
// smallest value that at least q of the values do not exceed, so it is
// always a time some removal actually took.
func percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
