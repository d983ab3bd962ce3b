package hub

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/text"
)

// ResolveDispute closes a dispute. Only an analyst (hotline or law
// enforcement) of an organisation other than the disputing one may do it.
// "upheld" keeps the entry (a disputed not_illegal assessment is set aside);
// "overturned" records the analyst's not_illegal assessment, so the entry
// leaves every list.
func (s *Service) ResolveDispute(a Actor, id, outcome, reason string) (*entries.Dispute, error) {
	if !a.Role.Analyst() {
		return nil, fmt.Errorf("%w: only hotline or law-enforcement analysts resolve disputes", ErrForbidden)
	}
	if outcome != entries.DisputeUpheld && outcome != entries.DisputeOverturned {
		return nil, &entries.FieldError{Field: "outcome", Reason: fmt.Sprintf("%q is not one of upheld, overturned", outcome)}
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, &entries.FieldError{Field: "reason", Reason: "a resolution says why"}
	}
	if err := text.Note("reason", reason); err != nil {
		return nil, err
	}
	if len(reason) > entries.MaxReasonLen {
		return nil, &entries.FieldError{Field: "reason", Reason: fmt.Sprintf("longer than %d bytes", entries.MaxReasonLen)}
	}
	now := s.now().UTC()
	var d *entries.Dispute
	err := s.update(a, func(tx *store.Tx) error {
		var err error
		if d, err = tx.Dispute(id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: %q", entries.ErrDisputeNotFound, id)
			}
			return err
		}
		if d.Status != entries.DisputeOpen {
			return fmt.Errorf("%w: %q is %s", entries.ErrDisputeClosed, id, d.Status)
		}
		if d.Org == a.Org {
			return entries.ErrOwnDispute
		}
		e, err := getEntry(tx, d.Entry)
		if err != nil {
			return err
		}
		d.Status = outcome
		d.Resolution = &entries.Resolution{Outcome: outcome, Reason: reason, Org: a.Org, User: a.User, Time: now}
		e.CloseDispute(d)
		if outcome == entries.DisputeOverturned {
			e.Assess(s.assessment(a, entries.Input{Verdict: entries.NotIllegal, Category: entries.Baseline,
				Note: "dispute " + d.ID + " overturned: " + reason}, now))
		}
		if err := tx.PutDispute(d); err != nil {
			return err
		}
		if err := s.putEntry(tx, e, nil); err != nil {
			return err
		}
		if err := countReview(tx, a, now); err != nil {
			return err
		}
		return record(tx, a.audit(), now, "dispute.resolve", id, d)
	}, func() any { return d })
	return d, err
}

// Disputes lists disputes oldest first, optionally only those with a status.
func (s *Service) Disputes(status, after string, limit int) ([]entries.Dispute, error) {
	out := []entries.Dispute{}
	err := s.db.View(func(tx *store.Tx) error {
		return tx.Disputes(after, func(d *entries.Dispute) (bool, error) {
			if status == "" || d.Status == status {
				out = append(out, *d)
			}
			return len(out) < limit, nil
		})
	})
	return out, err
}

// ReviewItem is an entry a list is waiting on.
type ReviewItem struct {
	Key     string `json:"key"`
	Algo    string `json:"algo"`
	Value   string `json:"value"`
	Created string `json:"created"`
	// Publishes is true when one more assessment, from an organisation in
	// a new jurisdiction, would put the entry in a list.
	Publishes bool `json:"publishes"`
	// Claim is what the submitter claimed (category and severity); the
	// other analysts' verdicts are not part of the queue.
	Claim *Claim     `json:"claim,omitempty"`
	Lists []ListNeed `json:"lists"`
	// Pos is the entry's position in the queue (a cursor that continues
	// after it).
	Pos uint64 `json:"-"`
}

// ListNeed says what one list still needs from an entry.
type ListNeed struct {
	List      string          `json:"list"`
	Shortfall lists.Shortfall `json:"shortfall"`
}

// Review is an analyst's queue.
type Review struct {
	// Disputes waiting for an analyst of another organisation, oldest first.
	Disputes []entries.Dispute `json:"disputes"`
	// Entries that some list still needs and that the caller's
	// organisation has not assessed: first those one more assessment would
	// publish, then the rest, oldest first within each.
	Entries []ReviewItem `json:"entries"`
	// NextCursor continues the entry scan; empty at the end.
	NextCursor string `json:"next_cursor,omitempty"`
	// Scanned is how many queued entries this page looked at (entries the
	// organisation assessed are passed over without being read).
	Scanned int `json:"scanned"`
}

// MaxReviewScan bounds the index keys one review page examines, so a
// request stays fast whatever the organisation has assessed already; the
// cursor continues.
const MaxReviewScan = 1_000_000

// Review builds the analyst's queue: open disputes they may resolve, and
// the entries lists wait on that their organisation has not assessed, read
// from the review index (review_index.go).
func (s *Service) Review(a Actor, after uint64, limit int) (*Review, error) {
	if !a.Role.Analyst() && a.Role != orgs.Admin {
		return nil, fmt.Errorf("%w: the review queue is for analysts", ErrForbidden)
	}
	if err := s.ensureReviewIndex(); err != nil {
		return nil, err
	}
	r := &Review{Disputes: []entries.Dispute{}, Entries: []ReviewItem{}}
	err := s.db.View(func(tx *store.Tx) error {
		if after == 0 {
			err := tx.Disputes("", func(d *entries.Dispute) (bool, error) {
				if d.Status == entries.DisputeOpen && d.Org != a.Org {
					r.Disputes = append(r.Disputes, *d)
				}
				return len(r.Disputes) < limit, nil
			})
			if err != nil {
				return err
			}
		}
		ls, err := tx.Lists()
		if err != nil || len(ls) == 0 {
			return err
		}
		var last uint64
		err = tx.ReviewAfter(after, a.Org, func(rank byte, seq uint64, assessed bool) (bool, error) {
			last = store.ReviewPos(rank, seq)
			r.Scanned++
			if !assessed {
				e, err := tx.EntryAt(seq)
				if err != nil {
					return false, err
				}
				it := reviewItem(e, ls)
				it.Pos = last
				r.Entries = append(r.Entries, it)
			}
			return len(r.Entries) < limit && r.Scanned < MaxReviewScan, nil
		})
		if err != nil {
			return err
		}
		if len(r.Entries) >= limit || r.Scanned >= MaxReviewScan {
			r.NextCursor = fmt.Sprint(last)
		}
		return nil
	})
	return r, err
}

func reviewItem(e *entries.Entry, ls []lists.List) ReviewItem {
	it := ReviewItem{Key: e.Key(), Algo: e.Algo, Value: e.Value, Created: e.Created.Format("2006-01-02T15:04:05Z"),
		Claim: claimOf(e), Lists: []ListNeed{}}
	for i := range ls {
		sf := ls[i].Policy.Evaluate(e)
		if sf.Blocked != "" || sf.Qualifies() {
			continue
		}
		it.Lists = append(it.Lists, ListNeed{List: ls[i].Name, Shortfall: sf})
		it.Publishes = it.Publishes || sf.OneShort()
	}
	return it
}
