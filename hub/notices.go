package hub

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/reports"
	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/text"
)

// Resolution is where the outbox found one URL of a report to be hosted.
type Resolution struct {
	URL          string
	Host         string
	Jurisdiction string
	// Provider is the registered provider's organisation, if one matched.
	Provider string
	// AbuseEmail is the abuse address RDAP named, for a provider that is
	// not registered here.
	AbuseEmail string
	Evidence   *reports.Evidence
	Note       string
}

// ApplyRoutes records where each URL of a report goes and hands the report
// on, all in one transaction: law enforcement of this node's jurisdiction
// (inbox) with a takedown notice to the hosting provider, the peer that
// takes the URL's jurisdiction, or the fallback organisation. A URL with
// none of these is unrouted: the report's status says so and it joins the
// administrators' list (Unrouted). A provider registered on this node gets
// its notice from here whenever no peer takes the URL: registration is the
// provider's own request to hear from this node. Running it again for a
// routed report changes nothing (the outbox may retry).
func (r *Reports) ApplyRoutes(reportID string, res []Resolution) error {
	now := r.Now()
	err := r.s.db.Update(func(tx *store.Tx) error {
		rep, err := tx.Report(reportID)
		if err != nil {
			return err
		}
		if rep.Status != reports.Received {
			return nil
		}
		ps, err := tx.Peers()
		if err != nil {
			return err
		}
		var lawEnf []orgs.Org
		if err := eachOrg(tx, func(o orgs.Org) {
			if o.Kind == orgs.LawEnforcement && o.Jurisdiction == r.cfg.Jurisdiction {
				lawEnf = append(lawEnf, o)
			}
		}); err != nil {
			return err
		}
		hand := func(org, kind, name string) error {
			for _, f := range rep.Forwards {
				if f.To == org {
					return nil
				}
			}
			rep.Forwards = append(rep.Forwards, reports.Forward{To: org, Kind: kind, Name: name, At: now})
			if kind == "peer" {
				return schedule(tx, JobForward, rep.ID, org, rep.ID+"/forward/"+org, now, now)
			}
			if err := tx.AddToInbox(org, store.InboxItem{Report: rep.ID, Kind: kind, At: now}); err != nil {
				return err
			}
			if rc, err := tx.Recipient(org); err == nil && rc.WebhookURL != "" {
				return schedule(tx, JobPush, rep.ID, org, rep.ID+"/push/"+org, now, now)
			}
			return nil
		}
		for _, x := range res {
			rt := reports.Route{URL: x.URL, Host: x.Host, Jurisdiction: x.Jurisdiction, Evidence: x.Evidence, Note: x.Note}
			if rt.Jurisdiction == "" && rep.HostingJurisdiction != "" {
				rt.Jurisdiction = rep.HostingJurisdiction
				if rt.Evidence == nil {
					rt.Evidence = &reports.Evidence{Host: x.Host, ResolvedAt: now}
				}
				rt.Evidence.Method, rt.Evidence.Jurisdiction = "reporter", rt.Jurisdiction
			}
			switch peer := routedPeer(ps, rt.Jurisdiction); {
			case rt.Jurisdiction != "" && rt.Jurisdiction == r.cfg.Jurisdiction:
				rt.Destination = reports.DestLocal
				for _, o := range lawEnf {
					if err := hand(o.ID, "law_enforcement", o.Name); err != nil {
						return err
					}
				}
				if len(lawEnf) == 0 && r.cfg.Fallback != "" {
					if err := hand(r.cfg.Fallback, "fallback", ""); err != nil {
						return err
					}
				}
				id, err := r.newNotice(tx, rep, x, now)
				if err != nil {
					return err
				}
				rt.Notice = id
				if id == "" && rt.Note == "" {
					rt.Note = "no hosting provider known for this host: law enforcement informed, no notice sent"
				}
			case peer != nil && slices.Contains(rep.Hops, peer.ID):
				rt.Destination, rt.Peer = reports.DestSeen, peer.ID
			case peer != nil && len(rep.Hops) < rep.HopLimit:
				rt.Destination, rt.Peer = reports.DestPeer, peer.ID
				if err := hand(peer.ID, "peer", peer.Name); err != nil {
					return err
				}
			case r.cfg.Fallback != "":
				rt.Destination = reports.DestFallback
				if err := hand(r.cfg.Fallback, "fallback", ""); err != nil {
					return err
				}
				if rt.Notice, err = r.registeredNotice(tx, rep, x, now); err != nil {
					return err
				}
			default:
				rt.Destination = reports.DestUnrouted
				if rt.Note == "" {
					rt.Note = unroutedNote(rt.Jurisdiction)
				}
				if rt.Notice, err = r.registeredNotice(tx, rep, x, now); err != nil {
					return err
				}
			}
			rep.Routes = append(rep.Routes, rt)
		}
		rep.Status = reports.Routed
		for _, rt := range rep.Routes {
			if rt.Destination == reports.DestUnrouted {
				rep.Status = reports.Unrouted
			}
		}
		if err := tx.PutReport(rep); err != nil {
			return err
		}
		if rep.Status == reports.Unrouted {
			if err := tx.AddUnrouted(store.InboxItem{Report: rep.ID, Kind: reports.Unrouted, At: now}); err != nil {
				return err
			}
		}
		return record(tx, reportSystem, now, "report.route", rep.ID, rep.Routes)
	})
	if err == nil {
		r.kick()
	}
	return err
}

func eachOrg(tx *store.Tx, fn func(orgs.Org)) error {
	after := ""
	for {
		page, err := tx.Orgs(after, 500)
		if err != nil {
			return err
		}
		for _, o := range page {
			fn(o)
		}
		if len(page) < 500 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

func routedPeer(ps []peers.Peer, jur string) *peers.Peer {
	if jur == "" {
		return nil
	}
	for i := range ps {
		if !ps[i].Paused && slices.Contains(ps[i].RoutedJurisdictions, jur) {
			return &ps[i]
		}
	}
	return nil
}

// unroutedNote says why a URL went nowhere.
func unroutedNote(jur string) string {
	if jur == "" {
		return "hosting jurisdiction unknown and no fallback organisation set: an administrator must hand the report on"
	}
	return "no peer takes " + jur + " and no fallback organisation is set: an administrator must hand the report on"
}

// registeredNotice creates the notice of a URL hosted by a provider
// registered on this node, for a URL no peer takes; "" for any other
// host (an address found by RDAP abroad is for the node of that
// jurisdiction to notice).
func (r *Reports) registeredNotice(tx *store.Tx, rep *reports.Report, x Resolution, now time.Time) (string, error) {
	if x.Provider == "" {
		return "", nil
	}
	return r.newNotice(tx, rep, x, now)
}

// newNotice creates the takedown notice of one URL and schedules its
// delivery; "" when no provider is known.
func (r *Reports) newNotice(tx *store.Tx, rep *reports.Report, x Resolution, now time.Time) (string, error) {
	n := &reports.Notice{
		ID: randomID("ntc_"), Report: rep.ID, URL: x.URL, Status: reports.Queued, Evidence: x.Evidence,
		XARFID: NewUUID(), Urgent: rep.Urgent, Created: now, ReporterName: rep.Reporter.OrgName,
		Classification: rep.Classification, Detection: rep.Detection, ObservedAt: rep.ObservedAt, Hashes: rep.Hashes,
	}
	switch {
	case x.Provider != "":
		p, err := tx.Provider(x.Provider)
		if err != nil {
			return "", err
		}
		n.Provider, n.ProviderName, n.WebhookURL, n.Email = p.Org, p.Name, p.WebhookURL, p.Email
	case x.AbuseEmail != "":
		n.ProviderName, n.Email = x.AbuseEmail, x.AbuseEmail
	default:
		return "", nil
	}
	n.History = []reports.Change{{At: now, Status: reports.Queued, By: "node"}}
	if err := tx.PutNotice(n); err != nil {
		return "", err
	}
	first := now
	if !rep.Urgent {
		first = now.Add(r.cfg.NoticeDelay)
	}
	if err := schedule(tx, JobNotice, n.ID, "", n.ID+"/1", first, now); err != nil {
		return "", err
	}
	return n.ID, record(tx, reportSystem, now, "notice.create", n.ID, n)
}

// ---- the outbox's side ----

// DueJobs lists up to limit jobs due now.
func (r *Reports) DueJobs(limit int) ([]store.Job, error) {
	var out []store.Job
	err := r.s.db.View(func(tx *store.Tx) (err error) {
		out, err = tx.DueJobs(r.Now(), limit)
		return err
	})
	return out, err
}

// NextDue is when the earliest job is due.
func (r *Reports) NextDue() (time.Time, bool) {
	var t time.Time
	var ok bool
	_ = r.s.db.View(func(tx *store.Tx) error { t, ok = tx.NextDue(); return nil })
	return t, ok
}

// Report reads a report for the outbox (no audit: the node's own work).
func (r *Reports) Report(id string) (*reports.Report, error) {
	var rep *reports.Report
	err := r.s.db.View(func(tx *store.Tx) (err error) { rep, err = tx.Report(id); return err })
	return rep, err
}

// NoticeForDelivery reads a notice the outbox is to send; ok is false when
// it must not be sent now (held, or already final).
func (r *Reports) NoticeForDelivery(id string) (n *reports.Notice, ok bool, err error) {
	err = r.s.db.View(func(tx *store.Tx) (err error) { n, err = tx.Notice(id); return err })
	if err != nil {
		return nil, false, err
	}
	return n, n.Status == reports.Queued || n.Status == reports.Sent || n.Status == reports.Acknowledged, nil
}

// Recipient reads an organisation's push settings.
func (r *Reports) Recipient(org string) (*store.Recipient, error) {
	var rc *store.Recipient
	err := r.s.db.View(func(tx *store.Tx) (err error) { rc, err = tx.Recipient(org); return err })
	return rc, err
}

// Done removes a finished job.
func (r *Reports) Done(j *store.Job) error {
	return r.s.db.Update(func(tx *store.Tx) error { return tx.DeleteJob(j) })
}

// Retry reschedules a job after a failed attempt.
func (r *Reports) Retry(j *store.Job, cause error, next time.Time) error {
	return r.s.db.Update(func(tx *store.Tx) error {
		if err := tx.DeleteJob(j); err != nil {
			return err
		}
		j.Attempt++
		j.Error, j.Due = cause.Error(), next
		return tx.PutJob(j)
	})
}

// Bury makes a job a dead letter after its last attempt; a notice whose
// delivery died is failed.
func (r *Reports) Bury(j *store.Job, cause error) error {
	now := r.Now()
	return r.s.db.Update(func(tx *store.Tx) error {
		j.Attempt++
		j.Error = cause.Error()
		if err := tx.Bury(j); err != nil {
			return err
		}
		if j.Kind == JobNotice {
			n, err := tx.Notice(j.Ref)
			if err != nil {
				return err
			}
			if n.Status == reports.Queued {
				n.Status, n.FailedAt, n.FailReason = reports.Failed, &now, cause.Error()
				n.History = append(n.History, reports.Change{At: now, Status: reports.Failed, By: "node", Note: cause.Error()})
				if err := tx.PutNotice(n); err != nil {
					return err
				}
			}
		}
		return record(tx, reportSystem, now, "outbox.dead", j.ID, j)
	})
}

// Delivered records a successful delivery of a notice: the first makes it
// sent and starts the re-notice clock.
func (r *Reports) Delivered(j *store.Job) error {
	now := r.Now()
	return r.s.db.Update(func(tx *store.Tx) error {
		if err := tx.DeleteJob(j); err != nil {
			return err
		}
		n, err := tx.Notice(j.Ref)
		if err != nil {
			return err
		}
		n.Sends++
		note := fmt.Sprintf("delivered (send %d, attempt %d)", n.Sends, j.Attempt+1)
		if n.SentAt == nil {
			n.SentAt = &now
			if n.Status == reports.Queued {
				n.Status = reports.Sent
			}
			if err := r.scheduleRenotice(tx, n, now); err != nil {
				return err
			}
		}
		n.History = append(n.History, reports.Change{At: now, Status: n.Status, By: "node", Note: note})
		if err := tx.PutNotice(n); err != nil {
			return err
		}
		return record(tx, reportSystem, now, "notice.delivered", n.ID, note)
	})
}

// Forwarded records that a peer accepted a forwarded report.
func (r *Reports) Forwarded(j *store.Job) error {
	now := r.Now()
	return r.s.db.Update(func(tx *store.Tx) error {
		if err := tx.DeleteJob(j); err != nil {
			return err
		}
		return record(tx, reportSystem, now, "report.forwarded", j.Ref, j.Target)
	})
}

func (r *Reports) scheduleRenotice(tx *store.Tx, n *reports.Notice, now time.Time) error {
	if n.Escalation >= len(r.cfg.Renotice) || n.SentAt == nil {
		return nil
	}
	due := n.SentAt.Add(r.cfg.Renotice[n.Escalation] + time.Duration(n.HeldSeconds)*time.Second)
	return schedule(tx, JobRenotice, n.ID, "", "", due, now)
}

// Renotice runs a notice's re-notice check: a notice still not removed
// when its next delay has passed (not counting time held) is sent again,
// one escalation level up.
func (r *Reports) Renotice(j *store.Job) error {
	now := r.Now()
	sent := false
	err := r.s.db.Update(func(tx *store.Tx) error {
		if err := tx.DeleteJob(j); err != nil {
			return err
		}
		n, err := tx.Notice(j.Ref)
		if err != nil {
			return err
		}
		switch {
		case reports.Final(n.Status) || n.Status == reports.Queued:
			return nil
		case n.Status == reports.Held:
			return nil // the hold's end schedules the next check
		}
		due := n.SentAt.Add(r.cfg.Renotice[n.Escalation] + time.Duration(n.HeldSeconds)*time.Second)
		if now.Before(due) {
			return schedule(tx, JobRenotice, n.ID, "", "", due, now)
		}
		n.Escalation++
		n.History = append(n.History, reports.Change{At: now, Status: n.Status, By: "node",
			Note: fmt.Sprintf("not removed after %v: sent again, escalation level %d", r.cfg.Renotice[n.Escalation-1], n.Escalation)})
		if err := tx.PutNotice(n); err != nil {
			return err
		}
		if err := schedule(tx, JobNotice, n.ID, "", fmt.Sprintf("%s/%d", n.ID, n.Sends+1), now, now); err != nil {
			return err
		}
		if err := r.scheduleRenotice(tx, n, now); err != nil {
			return err
		}
		sent = true
		return record(tx, reportSystem, now, "notice.renotice", n.ID, n.Escalation)
	})
	if err == nil && sent {
		r.kick()
	}
	return err
}

// HoldEnd ends a notice's hold when it is due: the notice returns to the
// status it had, and a queued one is sent.
func (r *Reports) HoldEnd(j *store.Job) error {
	now := r.Now()
	err := r.s.db.Update(func(tx *store.Tx) error {
		if err := tx.DeleteJob(j); err != nil {
			return err
		}
		n, err := tx.Notice(j.Ref)
		if err != nil {
			return err
		}
		if n.Status != reports.Held || n.HoldUntil == nil || n.HoldUntil.After(now) {
			return nil
		}
		if n.HeldSince != nil {
			n.HeldSeconds += int64(now.Sub(*n.HeldSince) / time.Second)
		}
		n.Status, n.HeldFrom, n.HeldSince, n.HoldUntil = n.HeldFrom, "", nil, nil
		n.History = append(n.History, reports.Change{At: now, Status: n.Status, By: "node", Note: "hold ended"})
		if err := tx.PutNotice(n); err != nil {
			return err
		}
		if n.Status == reports.Queued {
			if err := schedule(tx, JobNotice, n.ID, "", fmt.Sprintf("%s/%d", n.ID, n.Sends+1), now, now); err != nil {
				return err
			}
		} else if err := r.scheduleRenotice(tx, n, now); err != nil {
			return err
		}
		return record(tx, reportSystem, now, "notice.hold_end", n.ID, n.Status)
	})
	if err == nil {
		r.kick()
	}
	return err
}

// ---- notices through the API ----

// NoticeFilter selects notices.
type NoticeFilter struct {
	Status string
	After  string
	Limit  int
}

// Notices lists the notices the caller may see: a provider its own, an
// admin every notice.
func (r *Reports) Notices(a Actor, f NoticeFilter) ([]reports.Notice, error) {
	owner := ""
	switch a.Role {
	case orgs.HostingProvider:
		owner = a.Org
	case orgs.Admin:
	default:
		return nil, ErrForbidden
	}
	if f.Status != "" && !slices.Contains(reports.NoticeStatuses, f.Status) {
		return nil, &reports.FieldError{Field: "status", Reason: fmt.Sprintf("%q is not a notice status", f.Status)}
	}
	var out []reports.Notice
	err := r.s.db.View(func(tx *store.Tx) (err error) {
		out, err = tx.Notices(owner, f.After, f.Limit, func(n *reports.Notice) bool { return f.Status == "" || n.Status == f.Status })
		return err
	})
	return out, err
}

// Notice reads one notice: its provider, an admin, or the reporting
// organisation. Anyone else finds nothing.
func (r *Reports) Notice(a Actor, id string) (*reports.Notice, error) {
	var n *reports.Notice
	err := r.s.db.View(func(tx *store.Tx) (err error) {
		n, err = tx.Notice(id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %q", reports.ErrNoticeGone, id)
		}
		if err != nil {
			return err
		}
		if !r.mayReadNotice(tx, a, n) {
			return fmt.Errorf("%w: %q", reports.ErrNoticeGone, id)
		}
		return nil
	})
	return n, err
}

func (r *Reports) mayReadNotice(tx *store.Tx, a Actor, n *reports.Notice) bool {
	switch a.Role {
	case orgs.Admin:
		return true
	case orgs.HostingProvider:
		return n.Provider != "" && n.Provider == a.Org
	case orgs.Hotline, orgs.LawEnforcement:
		rep, err := tx.Report(n.Report)
		return err == nil && rep.Reporter.Node == r.s.nodeID && rep.Reporter.Org == a.Org
	}
	return false
}

// SetStatus applies a status update: the provider acknowledges, reports
// removal or disputes (with a reason); an analyst of the reporting
// organisation may confirm removal. Never by fetching the URL.
func (r *Reports) SetStatus(a Actor, id, status, note string) (*reports.Notice, error) {
	if !slices.Contains([]string{reports.Acknowledged, reports.Removed, reports.Disputed}, status) {
		return nil, &reports.FieldError{Field: "status", Reason: fmt.Sprintf("%q: set acknowledged, removed or disputed", status)}
	}
	if err := text.Note("note", note); err != nil {
		return nil, err
	}
	if len([]rune(note)) > 1000 {
		return nil, &reports.FieldError{Field: "note", Reason: "at most 1000 characters"}
	}
	if status == reports.Disputed && note == "" {
		return nil, &reports.FieldError{Field: "note", Reason: "a dispute says why"}
	}
	now := r.Now()
	var n *reports.Notice
	err := r.s.db.Update(func(tx *store.Tx) (err error) {
		n, err = tx.Notice(id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %q", reports.ErrNoticeGone, id)
		}
		if err != nil {
			return err
		}
		if err := r.maySet(tx, a, n, status); err != nil {
			return err
		}
		if n.Status == status {
			return nil // a repeated update changes nothing
		}
		if !reports.CanSet(n.Status, status) {
			return fmt.Errorf("%w: notice %s is %s", reports.ErrTransition, id, n.Status)
		}
		if n.Status == reports.Held {
			if n.HeldSince != nil {
				n.HeldSeconds += int64(now.Sub(*n.HeldSince) / time.Second)
			}
			n.HeldFrom, n.HeldSince, n.HoldUntil = "", nil, nil
		}
		n.Status = status
		switch status {
		case reports.Acknowledged:
			n.AckedAt = &now
		case reports.Removed:
			n.RemovedAt = &now
			if n.AckedAt == nil {
				n.AckedAt = &now
			}
		case reports.Disputed:
			n.DisputedAt, n.DisputeReason = &now, note
			if n.AckedAt == nil {
				n.AckedAt = &now
			}
		}
		n.History = append(n.History, reports.Change{At: now, Status: status, By: a.Org, Note: note})
		if err := tx.PutNotice(n); err != nil {
			return err
		}
		return record(tx, a.audit(), now, "notice.status", id, n.History[len(n.History)-1])
	})
	return n, err
}

// maySet says whether a may give n the status. To whoever may not read
// the notice it does not exist; an analyst who may read it but asks for a
// status only the provider sets is told so (ErrForbidden), not that the
// notice is missing.
func (r *Reports) maySet(tx *store.Tx, a Actor, n *reports.Notice, status string) error {
	switch a.Role {
	case orgs.HostingProvider:
		if n.Provider != "" && n.Provider == a.Org {
			return nil
		}
	case orgs.Hotline, orgs.LawEnforcement:
		if r.mayReadNotice(tx, a, n) {
			if status == reports.Removed {
				return nil
			}
			return fmt.Errorf("%w: an analyst of the reporting organisation may confirm removal (removed); %s is the provider's to set", ErrForbidden, status)
		}
	}
	return fmt.Errorf("%w: %q", reports.ErrNoticeGone, n.ID)
}

// Stats computes the takedown figures of every provider (or of one, when
// the caller is a provider).
func (r *Reports) Stats(a Actor) ([]reports.ProviderStats, error) {
	// Per provider: its figures, and the seconds to each acknowledgement
	// and removal (for the medians).
	type acc struct {
		reports.ProviderStats
		ackSeconds, removalSeconds []float64
	}
	by := map[string]*acc{}
	err := r.s.db.View(func(tx *store.Tx) error {
		return tx.EachNotice(func(n *reports.Notice) error {
			key := n.Provider
			if key == "" {
				key = "email:" + n.Email
			}
			if a.Role == orgs.HostingProvider && key != a.Org {
				return nil
			}
			st := by[key]
			if st == nil {
				st = &acc{ProviderStats: reports.ProviderStats{Provider: key, Name: n.ProviderName}}
				by[key] = st
			}
			st.Notices++
			switch n.Status {
			case reports.Removed:
				st.Removed++
			case reports.Disputed:
				st.Disputed++
			case reports.Failed:
				st.Failed++
			case reports.Held:
				st.Held++
			case reports.Acknowledged:
				st.Acknowledged++
			}
			if n.SentAt == nil {
				return nil
			}
			st.Sent++
			held := time.Duration(n.HeldSeconds) * time.Second
			if n.AckedAt != nil {
				st.ackSeconds = append(st.ackSeconds, max(0, n.AckedAt.Sub(*n.SentAt)).Seconds())
			}
			if n.RemovedAt != nil {
				d := max(0, n.RemovedAt.Sub(*n.SentAt)-held)
				st.removalSeconds = append(st.removalSeconds, d.Seconds())
				for _, w := range []struct {
					lim time.Duration
					c   *float64
				}{{24 * time.Hour, &st.Within24h}, {72 * time.Hour, &st.Within3d}, {7 * 24 * time.Hour, &st.Within7d}} {
					if d <= w.lim {
						*w.c++
					}
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	out := make([]reports.ProviderStats, 0, len(by))
	for _, st := range by {
		if st.Sent > 0 {
			st.Within24h /= float64(st.Sent)
			st.Within3d /= float64(st.Sent)
			st.Within7d /= float64(st.Sent)
		}
		st.MedianAckSeconds = median(st.ackSeconds)
		st.MedianRemovalSec = median(st.removalSeconds)
		var sum float64
		for _, v := range st.removalSeconds {
			sum += v
		}
		if len(st.removalSeconds) > 0 {
			st.MeanRemovalSec = sum / float64(len(st.removalSeconds))
		}
		out = append(out, st.ProviderStats)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Provider < out[j].Provider })
	return out, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Peer reads a peer (for the outbox's forwarding).
func (r *Reports) Peer(id string) (*peers.Peer, error) { return r.s.Peer(id) }

// DeadLetter is a job that failed for good.
type DeadLetter struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Ref      string `json:"ref"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error"`
}

// Outbox reports how many jobs wait and which died.
func (r *Reports) Outbox() (pending int, dead []DeadLetter, err error) {
	dead = []DeadLetter{}
	err = r.s.db.View(func(tx *store.Tx) error {
		pending, _ = tx.OutboxLen()
		js, err := tx.DeadJobs()
		for _, j := range js {
			dead = append(dead, DeadLetter{ID: j.ID, Kind: j.Kind, Ref: j.Ref, Attempts: j.Attempt, Error: j.Error})
		}
		return err
	})
	return pending, dead, err
}

// SetRenotice replaces the re-notice delays (before serving; tests use
// short ones).
func (r *Reports) SetRenotice(d []time.Duration) { r.cfg.Renotice = d }

// SetFallback sets the organisation that receives reports no peer takes
// (before serving; tests; nodes set it in reports.json).
func (r *Reports) SetFallback(org string) { r.cfg.Fallback = org }

// SetNoticeDelay changes the law-enforcement window before a non-urgent
// report's first notice (tests; nodes set it in reports.json).
func (r *Reports) SetNoticeDelay(d time.Duration) { r.cfg.NoticeDelay = d }

// JobCurrent reports whether j is still scheduled as read; the outbox
// skips a stale copy (the job finished, or was rescheduled, meanwhile).
func (r *Reports) JobCurrent(j *store.Job) bool {
	ok := false
	_ = r.s.db.View(func(tx *store.Tx) error { ok = tx.HasJob(j); return nil })
	return ok
}
