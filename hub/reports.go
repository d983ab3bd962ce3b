package hub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hashhub/hashhub/audit"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/reports"
	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/text"
)

// Defaults of the report desk, exported so flag help can show them.
const (
	DefaultMaxHold = 30 * 24 * time.Hour
)

// DefaultRenotice is when a notice not yet removed is sent again and
// escalated, counted from its first delivery (DESIGN §6).
var DefaultRenotice = []time.Duration{24 * time.Hour, 72 * time.Hour, 7 * 24 * time.Hour}

// ReportConfig is how a node handles reports.
type ReportConfig struct {
	// Jurisdiction is the node's own: URLs hosted there go to its law
	// enforcement and a notice to the hosting provider.
	Jurisdiction string
	// Fallback is the organisation that receives reports for
	// jurisdictions with no peer (empty: they stay unrouted, visible to
	// the admin).
	Fallback string
	// MaxHold bounds a law-enforcement hold.
	MaxHold time.Duration
	// Renotice lists the delays after the first delivery at which a notice
	// still not removed is sent again, one escalation level each.
	Renotice []time.Duration
	// HopLimit is the hop limit of reports that start here.
	HopLimit int
	// NoticeDelay is how long a non-urgent report's first takedown notice
	// waits after routing, so that law enforcement, which sees the report
	// at once, can hold the takedown before the provider is told (0: the
	// notice goes at once). Urgent reports never wait.
	NoticeDelay time.Duration
}

// Reports is the node's report desk: intake, routing, law-enforcement
// inboxes, holds and takedown notices. Every change and every read of
// report data is recorded in the audit chain in the same transaction.
type Reports struct {
	s    *Service
	cfg  ReportConfig
	kick func()
}

// NewReports returns the report desk of a node.
func NewReports(s *Service, cfg ReportConfig) *Reports {
	if cfg.MaxHold <= 0 {
		cfg.MaxHold = DefaultMaxHold
	}
	if cfg.Renotice == nil {
		cfg.Renotice = DefaultRenotice
	}
	if cfg.HopLimit <= 0 {
		cfg.HopLimit = reports.DefaultHopLimit
	}
	return &Reports{s: s, cfg: cfg, kick: func() {}}
}

// Config is the desk's configuration.
func (r *Reports) Config() ReportConfig { return r.cfg }

// OnJob sets a function called after a transaction that scheduled
// background work (the outbox worker wakes up).
func (r *Reports) OnJob(f func()) { r.kick = f }

// DB is the store.
func (r *Reports) DB() *store.DB { return r.s.db }

// NodeID is this node's id.
func (r *Reports) NodeID() string { return r.s.nodeID }

// Now is the desk's clock.
func (r *Reports) Now() time.Time { return r.s.now().UTC() }

func randomID(prefix string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// NewUUID returns a random (version 4) UUID, the XARF report_id of a notice.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Job kinds of the outbox.
const (
	JobRoute    = "route"
	JobNotice   = "notice"
	JobForward  = "forward"
	JobPush     = "push"
	JobRenotice = "renotice"
	JobHoldEnd  = "hold_end"
)

func schedule(tx *store.Tx, kind, ref, target, key string, due, now time.Time) error {
	return tx.PutJob(&store.Job{ID: randomID("job_"), Kind: kind, Ref: ref, Target: target, Key: key, Due: due, Created: now})
}

// ReportSubmitted is what Submit kept for a replay: the stored report (nil
// for a loop) and whether it had been seen before.
type ReportSubmitted struct {
	Report    *reports.Report
	Duplicate bool
}

// Submit takes a report in. A reporter's report gets a new id and this
// node as its first hop; a peer's forwarded report keeps its id and adds
// this node to its hops. A report seen before (by id, or with this node
// already in its hops) is not stored again: dup is true and the stored
// report (nil if only the hops named this node) is returned. Routing runs
// in the background; the answer is immediate.
func (r *Reports) Submit(a Actor, sub *reports.Submission) (rep *reports.Report, dup bool, err error) {
	now := r.Now()
	fromPeer := a.Role == orgs.Peer
	if err := sub.Validate(fromPeer, now); err != nil {
		return nil, false, err
	}
	err = r.s.update(a, func(tx *store.Tx) error {
		if fromPeer {
			if existing, err := tx.Report(sub.ID); err == nil {
				rep, dup = existing, true
				return record(tx, a.audit(), now, "report.duplicate", sub.ID, sub.Hops)
			}
			if slices.Contains(sub.Hops, r.s.nodeID) {
				dup = true
				return record(tx, a.audit(), now, "report.loop", sub.ID, sub.Hops)
			}
			if len(sub.Hops) >= sub.HopLimit {
				return fmt.Errorf("%w: the report passed %d nodes, its limit is %d", reports.ErrHopLimit, len(sub.Hops), sub.HopLimit)
			}
		}
		rep = &reports.Report{
			ID: sub.ID, URLs: sub.URLs, Hashes: sub.Hashes, Classification: sub.Classification,
			Detection: sub.Detection, Explanation: sub.Explanation, ReporterRef: sub.ReporterRef,
			Urgent: sub.Urgent, ObservedAt: sub.ObservedAt, HostingJurisdiction: sub.HostingJurisdiction,
			Received: now, Status: reports.Received,
		}
		if fromPeer {
			rep.Reporter = *sub.Reporter
			rep.Hops = append(slices.Clone(sub.Hops), r.s.nodeID)
			rep.HopLimit = sub.HopLimit
		} else {
			o, err := tx.Org(a.Org)
			if err != nil {
				return err
			}
			rep.ID = randomID("rep_")
			rep.Reporter = reports.Reporter{Org: a.Org, OrgName: o.Name, Role: string(a.Role), Jurisdiction: a.Jurisdiction, Node: r.s.nodeID}
			rep.Hops = []string{r.s.nodeID}
			rep.HopLimit = r.cfg.HopLimit
		}
		if err := tx.PutReport(rep); err != nil {
			return err
		}
		if err := schedule(tx, JobRoute, rep.ID, "", rep.ID+"/route", now, now); err != nil {
			return err
		}
		return record(tx, a.audit(), now, "report.submit", rep.ID, rep)
	}, func() any { return ReportSubmitted{Report: rep, Duplicate: dup} })
	if err != nil {
		return nil, false, err
	}
	if !dup {
		r.kick()
	}
	return rep, dup, nil
}

// mayRead reports whether a's organisation may read the report: the
// reporting organisation (on the node it reported to) and the
// organisations it was forwarded to; administrators only an unrouted
// report, which nobody else was given and which they must hand on.
// Nobody else: report data is shared on a need-to-know basis.
func (r *Reports) mayRead(a Actor, rep *reports.Report) bool {
	if rep.Reporter.Node == r.s.nodeID && rep.Reporter.Org == a.Org && a.Role != orgs.Peer {
		return true
	}
	if a.Role == orgs.Admin && rep.Status == reports.Unrouted {
		return true
	}
	for _, f := range rep.Forwards {
		if f.To == a.Org && f.Kind != "peer" {
			return true
		}
	}
	return false
}

// Get reads a report the caller may read, and records the read. A report
// the caller may not read is not found, so that its existence leaks not.
func (r *Reports) Get(a Actor, id string) (*reports.Report, error) {
	var rep *reports.Report
	err := r.s.db.Update(func(tx *store.Tx) (err error) {
		rep, err = tx.Report(id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !r.mayRead(a, rep)) {
			return fmt.Errorf("%w: %q", reports.ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		return record(tx, a.audit(), r.Now(), "report.read", id, id)
	})
	return rep, err
}

// InboxEntry is one report in an inbox.
type InboxEntry struct {
	Seq    uint64          `json:"seq"`
	Kind   string          `json:"kind"`
	At     time.Time       `json:"at"`
	Report *reports.Report `json:"report"`
}

// Inbox reads the caller's organisation's inbox after a cursor, and
// records the read (one event naming the reports shown).
func (r *Reports) Inbox(a Actor, after uint64, limit int) ([]InboxEntry, error) {
	return r.readItems(a, "report.inbox_read", func(tx *store.Tx) ([]store.InboxItem, error) {
		return tx.Inbox(a.Org, after, limit)
	})
}

// Unrouted lists, for an administrator, the reports with a URL that
// found no destination (no peer for its jurisdiction, no fallback), oldest
// first after a cursor, and records the read.
func (r *Reports) Unrouted(a Actor, after uint64, limit int) ([]InboxEntry, error) {
	if a.Role != orgs.Admin {
		return nil, ErrForbidden
	}
	return r.readItems(a, "report.unrouted_read", func(tx *store.Tx) ([]store.InboxItem, error) {
		return tx.Unrouted(after, limit)
	})
}

// readItems reads a page of report items with their reports and records
// the read (action) in the same transaction: every read of report data is
// audited.
func (r *Reports) readItems(a Actor, action string, page func(tx *store.Tx) ([]store.InboxItem, error)) ([]InboxEntry, error) {
	out := []InboxEntry{}
	err := r.s.db.Update(func(tx *store.Tx) error {
		items, err := page(tx)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(items))
		for _, it := range items {
			rep, err := tx.Report(it.Report)
			if err != nil {
				return err
			}
			out = append(out, InboxEntry{Seq: it.Seq, Kind: it.Kind, At: it.At, Report: rep})
			ids = append(ids, it.Report)
		}
		if len(ids) == 0 {
			return nil
		}
		return record(tx, a.audit(), r.Now(), action, a.Org, ids)
	})
	return out, err
}

// UnroutedCount is the number of unrouted reports (a metric: it should
// stay 0 on a node with peers or a fallback for every jurisdiction).
func (r *Reports) UnroutedCount() (int, error) {
	n := 0
	err := r.s.db.View(func(tx *store.Tx) error { n = tx.UnroutedCount(); return nil })
	return n, err
}

// Ack records that the caller's organisation acknowledged a report
// forwarded to it. Acknowledging twice changes nothing.
func (r *Reports) Ack(a Actor, id string) (*reports.Report, error) {
	var rep *reports.Report
	err := r.s.db.Update(func(tx *store.Tx) (err error) {
		rep, err = tx.Report(id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !r.recipient(a, rep)) {
			return fmt.Errorf("%w: %q", reports.ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		now := r.Now()
		changed := false
		for i := range rep.Forwards {
			f := &rep.Forwards[i]
			if f.To == a.Org && f.Kind != "peer" && f.AckedAt == nil {
				f.AckedAt, f.AckedBy, changed = &now, a.User, true
			}
		}
		if !changed {
			return nil
		}
		if err := tx.PutReport(rep); err != nil {
			return err
		}
		return record(tx, a.audit(), now, "report.ack", id, a.Org)
	})
	return rep, err
}

func (r *Reports) recipient(a Actor, rep *reports.Report) bool {
	for _, f := range rep.Forwards {
		if f.To == a.Org && f.Kind != "peer" {
			return true
		}
	}
	return false
}

// Hold puts law enforcement's hold on a report's takedown: its notices
// not yet final wait (a queued one is not sent) until the hold ends, and
// the time held does not count toward re-notices. until is bounded by the
// configured maximum. Only a law-enforcement organisation the report was
// forwarded to may hold it.
func (r *Reports) Hold(a Actor, id, reason string, until time.Time) (*reports.Report, error) {
	now := r.Now()
	if err := text.Note("reason", reason); err != nil {
		return nil, err
	}
	if l := len([]rune(reason)); l == 0 || l > 1000 {
		return nil, &reports.FieldError{Field: "reason", Reason: "1–1000 characters: why the takedown must wait"}
	}
	if !until.After(now) {
		return nil, &reports.FieldError{Field: "until", Reason: "in the future"}
	}
	if until.Sub(now) > r.cfg.MaxHold {
		return nil, &reports.FieldError{Field: "until", Reason: fmt.Sprintf("%v: a hold lasts at most %v on this node", reports.ErrHoldTooLong, r.cfg.MaxHold)}
	}
	until = until.UTC()
	var rep *reports.Report
	err := r.s.db.Update(func(tx *store.Tx) (err error) {
		rep, err = tx.Report(id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (a.Role != orgs.LawEnforcement || !r.recipient(a, rep))) {
			return fmt.Errorf("%w: %q", reports.ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		rep.Hold = &reports.Hold{By: a.User, Org: a.Org, Reason: reason, Since: now, Until: until}
		if err := tx.PutReport(rep); err != nil {
			return err
		}
		for _, rt := range rep.Routes {
			if rt.Notice == "" {
				continue
			}
			n, err := tx.Notice(rt.Notice)
			if err != nil {
				return err
			}
			if reports.Final(n.Status) {
				continue
			}
			if n.Status != reports.Held {
				n.HeldFrom, n.HeldSince = n.Status, &now
				n.Status = reports.Held
			}
			n.HoldUntil = &until
			n.History = append(n.History, reports.Change{At: now, Status: reports.Held, By: a.Org, Note: "law enforcement hold until " + until.Format(time.RFC3339)})
			if err := tx.PutNotice(n); err != nil {
				return err
			}
			if err := schedule(tx, JobHoldEnd, n.ID, "", "", until, now); err != nil {
				return err
			}
		}
		return record(tx, a.audit(), now, "report.hold", id, rep.Hold)
	})
	return rep, err
}

// ---- hosting providers ----

// PutProvider registers (or replaces) a hosting provider's domains,
// ranges and channels. The organisation must be of kind hosting_provider.
// Only an admin does this: a provider naming its own domains could
// divert others' notices.
func (r *Reports) PutProvider(a Actor, p reports.Provider) (*reports.Provider, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now := r.Now()
	err := r.s.update(a, func(tx *store.Tx) error {
		o, err := tx.Org(p.Org)
		if errors.Is(err, store.ErrNotFound) {
			return &reports.FieldError{Field: "org", Reason: fmt.Sprintf("no organisation %q", p.Org)}
		}
		if err != nil {
			return err
		}
		if o.Kind != orgs.HostingProvider {
			return &reports.FieldError{Field: "org", Reason: fmt.Sprintf("%q is a %s organisation, not hosting_provider", p.Org, o.Kind)}
		}
		p.Name, p.Jurisdiction, p.Updated = o.Name, o.Jurisdiction, now
		if err := tx.PutProvider(&p); err != nil {
			return err
		}
		return record(tx, a.audit(), now, "provider.put", p.Org, p)
	}, func() any { return &p })
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Providers lists every registration.
func (r *Reports) Providers() ([]reports.Provider, error) {
	var out []reports.Provider
	err := r.s.db.View(func(tx *store.Tx) (err error) {
		out, err = tx.Providers()
		return err
	})
	return out, err
}

// Provider reads a registration; a provider reads only its own.
func (r *Reports) Provider(a Actor, org string) (*reports.Provider, error) {
	if a.Role == orgs.HostingProvider && a.Org != org {
		return nil, fmt.Errorf("%w: provider %q", reports.ErrNotFound, org)
	}
	var p *reports.Provider
	err := r.s.db.View(func(tx *store.Tx) (err error) {
		p, err = tx.Provider(org)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: provider %q", reports.ErrNotFound, org)
		}
		return err
	})
	return p, err
}

// SetPushURL sets (or with "" clears) the webhook a law-enforcement or
// fallback organisation wants its inbox pushed to.
func (r *Reports) SetPushURL(a Actor, webhook string) (*store.Recipient, error) {
	if webhook != "" {
		p := reports.Provider{Domains: []string{"example.net"}, WebhookURL: webhook}
		if err := p.Validate(); err != nil {
			return nil, err
		}
	}
	now := r.Now()
	rc := &store.Recipient{Org: a.Org, WebhookURL: webhook, Updated: now}
	err := r.s.db.Update(func(tx *store.Tx) error {
		if err := tx.PutRecipient(rc); err != nil {
			return err
		}
		return record(tx, a.audit(), now, "inbox.push_url", a.Org, rc)
	})
	return rc, err
}

// System is the audit actor of the outbox's own changes.
var reportSystem = audit.Actor{User: "system", Org: "system", Role: "system"}
