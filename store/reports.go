package store

import (
	"encoding/binary"
	"encoding/json"
	"slices"
	"time"

	"github.com/hashhub/hashhub/reports"
)

// Reports, the per-recipient inboxes, takedown notices, hosting provider
// registrations and the outbox. The outbox is keyed by due time (8 bytes,
// big-endian Unix nanoseconds) and job id, so "jobs due before T" is one
// range scan from the start of the bucket.
var (
	bReports     = []byte("reports")
	bInbox       = []byte("report_inbox")
	bNotices     = []byte("notices")
	bNoticeIndex = []byte("notice_by_provider")
	bProviders   = []byte("providers")
	bRecipients  = []byte("report_recipients")
	bOutbox      = []byte("outbox")
	bOutboxDead  = []byte("outbox_dead")
	bUnrouted    = []byte("reports_unrouted")
)

func init() {
	allBuckets = append(allBuckets, bReports, bInbox, bNotices, bNoticeIndex, bProviders, bRecipients, bOutbox, bOutboxDead, bUnrouted)
	backfills[string(bUnrouted)] = fillUnrouted
}

// fillUnrouted lists the reports routed before the unrouted status
// existed that have an unrouted URL, and gives them that status.
func fillUnrouted(t *Tx) error {
	var found []*reports.Report
	err := t.scan(bReports, "", "", func(_, v []byte) (bool, error) {
		var r reports.Report
		if err := json.Unmarshal(v, &r); err != nil {
			return false, err
		}
		for _, rt := range r.Routes {
			if rt.Destination == reports.DestUnrouted && r.Status == reports.Routed {
				found = append(found, &r)
				break
			}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(found, func(a, b *reports.Report) int { return a.Received.Compare(b.Received) })
	for _, r := range found {
		r.Status = reports.Unrouted
		if err := t.PutReport(r); err != nil {
			return err
		}
		if err := t.AddUnrouted(InboxItem{Report: r.ID, Kind: reports.Unrouted, At: r.Received}); err != nil {
			return err
		}
	}
	return nil
}

// Report reads a report.
func (t *Tx) Report(id string) (*reports.Report, error) {
	var r reports.Report
	return &r, t.get(bReports, id, &r)
}

// PutReport writes a report.
func (t *Tx) PutReport(r *reports.Report) error { return t.put(bReports, r.ID, r) }

// HasReport reports whether a report id is known (a forwarded report seen
// before is dropped).
func (t *Tx) HasReport(id string) bool { return t.b(bReports).Get([]byte(id)) != nil }

// ReportCount is the number of stored reports.
func (t *Tx) ReportCount() int { return t.b(bReports).Stats().KeyN }

// InboxItem is one report in a recipient's inbox.
type InboxItem struct {
	Seq    uint64    `json:"seq"`
	Report string    `json:"report"`
	Kind   string    `json:"kind"`
	At     time.Time `json:"at"`
}

func inboxKey(org string, seq uint64) []byte {
	k := make([]byte, 0, len(org)+9)
	k = append(k, org...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// AddToInbox appends a report to an organisation's inbox.
func (t *Tx) AddToInbox(org string, it InboxItem) error {
	seq, err := t.b(bInbox).NextSequence()
	if err != nil {
		return err
	}
	it.Seq = seq
	raw, err := json.Marshal(it)
	if err != nil {
		return err
	}
	return t.b(bInbox).Put(inboxKey(org, seq), raw)
}

// Inbox reads an organisation's inbox after a sequence number.
func (t *Tx) Inbox(org string, after uint64, limit int) ([]InboxItem, error) {
	out := []InboxItem{}
	c := t.b(bInbox).Cursor()
	prefix := append([]byte(org), 0)
	for k, v := c.Seek(inboxKey(org, after+1)); k != nil && len(k) == len(prefix)+8 && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
		var it InboxItem
		if err := json.Unmarshal(v, &it); err != nil {
			return nil, err
		}
		out = append(out, it)
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

// AddUnrouted lists a report with a URL that found no destination, in
// the order found: the administrators' list of reports to hand on.
func (t *Tx) AddUnrouted(it InboxItem) error {
	b := t.b(bUnrouted)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	it.Seq = seq
	raw, err := json.Marshal(it)
	if err != nil {
		return err
	}
	return b.Put(seqKey(seq), raw)
}

// Unrouted reads the list of unrouted reports after a sequence number.
func (t *Tx) Unrouted(after uint64, limit int) ([]InboxItem, error) {
	out := []InboxItem{}
	c := t.b(bUnrouted).Cursor()
	for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
		var it InboxItem
		if err := json.Unmarshal(v, &it); err != nil {
			return nil, err
		}
		out = append(out, it)
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

// UnroutedCount is the number of unrouted reports.
func (t *Tx) UnroutedCount() int { return t.b(bUnrouted).Stats().KeyN }

// Notice reads a notice.
func (t *Tx) Notice(id string) (*reports.Notice, error) {
	var n reports.Notice
	return &n, t.get(bNotices, id, &n)
}

// PutNotice writes a notice and its provider index.
func (t *Tx) PutNotice(n *reports.Notice) error {
	owner := n.Provider
	if owner == "" {
		owner = "-"
	}
	if err := t.b(bNoticeIndex).Put([]byte(owner+"\x00"+n.ID), []byte{}); err != nil {
		return err
	}
	return t.put(bNotices, n.ID, n)
}

// Notices lists notices after a cursor (a notice id): a provider's own
// when provider is set, else every notice.
func (t *Tx) Notices(provider, after string, limit int, keep func(*reports.Notice) bool) ([]reports.Notice, error) {
	out := []reports.Notice{}
	if provider == "" {
		err := t.scan(bNotices, "", after, func(k, v []byte) (bool, error) {
			if string(k) == after {
				return true, nil
			}
			var n reports.Notice
			if err := json.Unmarshal(v, &n); err != nil {
				return false, err
			}
			if keep(&n) {
				out = append(out, n)
			}
			return len(out) < limit, nil
		})
		return out, err
	}
	prefix := provider + "\x00"
	from := ""
	if after != "" {
		from = prefix + after
	}
	err := t.scan(bNoticeIndex, prefix, from, func(k, _ []byte) (bool, error) {
		id := string(k[len(prefix):])
		if id == after {
			return true, nil
		}
		n, err := t.Notice(id)
		if err != nil {
			return false, err
		}
		if keep(n) {
			out = append(out, *n)
		}
		return len(out) < limit, nil
	})
	return out, err
}

// EachNotice calls fn for every notice (metrics).
func (t *Tx) EachNotice(fn func(*reports.Notice) error) error {
	return t.scan(bNotices, "", "", func(_, v []byte) (bool, error) {
		var n reports.Notice
		if err := json.Unmarshal(v, &n); err != nil {
			return false, err
		}
		return true, fn(&n)
	})
}

// Provider reads a hosting provider's registration.
func (t *Tx) Provider(org string) (*reports.Provider, error) {
	var p reports.Provider
	return &p, t.get(bProviders, org, &p)
}

// PutProvider writes a registration.
func (t *Tx) PutProvider(p *reports.Provider) error { return t.put(bProviders, p.Org, p) }

// Providers lists every registration.
func (t *Tx) Providers() ([]reports.Provider, error) {
	out := []reports.Provider{}
	err := t.scan(bProviders, "", "", func(_, v []byte) (bool, error) {
		var p reports.Provider
		if err := json.Unmarshal(v, &p); err != nil {
			return false, err
		}
		out = append(out, p)
		return true, nil
	})
	return out, err
}

// Recipient is how a law-enforcement (or fallback) organisation wants
// reports pushed, besides its pull inbox.
type Recipient struct {
	Org        string    `json:"org"`
	WebhookURL string    `json:"webhook_url"`
	Updated    time.Time `json:"updated"`
}

// Recipient reads an organisation's push settings.
func (t *Tx) Recipient(org string) (*Recipient, error) {
	var r Recipient
	return &r, t.get(bRecipients, org, &r)
}

// PutRecipient writes push settings.
func (t *Tx) PutRecipient(r *Recipient) error { return t.put(bRecipients, r.Org, r) }

// Job is one unit of background work in the outbox: route a report,
// deliver a notice, forward a report to a peer, push to a webhook, or
// check a notice for a re-notice.
type Job struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Ref     string    `json:"ref"`              // report or notice id
	Target  string    `json:"target,omitempty"` // peer id or organisation
	Key     string    `json:"key"`              // idempotency key the receiver sees
	Attempt int       `json:"attempt"`
	Due     time.Time `json:"due"`
	Created time.Time `json:"created"`
	Error   string    `json:"error,omitempty"`
}

func jobKey(due time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(id)), uint64(due.UnixNano()))
	return append(k, id...)
}

// PutJob schedules a job at its due time.
func (t *Tx) PutJob(j *Job) error {
	raw, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return t.b(bOutbox).Put(jobKey(j.Due, j.ID), raw)
}

// DeleteJob removes a scheduled job (done, or about to be rescheduled).
func (t *Tx) DeleteJob(j *Job) error { return t.b(bOutbox).Delete(jobKey(j.Due, j.ID)) }

// DueJobs lists up to limit jobs due at or before now, earliest first.
func (t *Tx) DueJobs(now time.Time, limit int) ([]Job, error) {
	var out []Job
	c := t.b(bOutbox).Cursor()
	end := uint64(now.UnixNano())
	for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
		if binary.BigEndian.Uint64(k[:8]) > end {
			break
		}
		var j Job
		if err := json.Unmarshal(v, &j); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// NextDue is the due time of the earliest job (ok false when none).
func (t *Tx) NextDue() (time.Time, bool) {
	k, _ := t.b(bOutbox).Cursor().First()
	if k == nil {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))), true
}

// OutboxLen counts scheduled and dead jobs.
func (t *Tx) OutboxLen() (pending, dead int) {
	return t.b(bOutbox).Stats().KeyN, t.b(bOutboxDead).Stats().KeyN
}

// Bury moves a job to the dead letters after its last attempt.
func (t *Tx) Bury(j *Job) error {
	if err := t.DeleteJob(j); err != nil {
		return err
	}
	return t.put(bOutboxDead, j.ID, j)
}

// DeadJobs lists dead letters.
func (t *Tx) DeadJobs() ([]Job, error) {
	out := []Job{}
	err := t.scan(bOutboxDead, "", "", func(_, v []byte) (bool, error) {
		var j Job
		if err := json.Unmarshal(v, &j); err != nil {
			return false, err
		}
		out = append(out, j)
		return true, nil
	})
	return out, err
}

// HasJob reports whether a job is still scheduled as read (same due time):
// a copy read before the job finished or was rescheduled is stale.
func (t *Tx) HasJob(j *Job) bool { return t.b(bOutbox).Get(jobKey(j.Due, j.ID)) != nil }
