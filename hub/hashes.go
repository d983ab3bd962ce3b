package hub

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/records"
	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/text"
)

// Submit records a hash and the submitter's assessment of it (submitting is
// asserting the material is illegal). Submitting the same hash again with
// the same verdict changes nothing, so retries are safe.
func (s *Service) Submit(a Actor, h hashes.Hash, in entries.Input) (*entries.Entry, bool, error) {
	if in.Verdict == entries.NotIllegal {
		return nil, false, &entries.FieldError{Field: "verdict", Reason: "a submission asserts the material is illegal; use an assessment to record not_illegal"}
	}
	in, err := in.Normalize()
	if err != nil {
		return nil, false, err
	}
	now := s.now().UTC()
	var e *entries.Entry
	var created bool
	err = s.update(a, func(tx *store.Tx) error {
		var changed bool
		var err error
		var rb *recordBuilder
		e, created, changed, err = s.merge(tx, a, h, store.IndexKey(h), in, now, func() (*recordBuilder, error) {
			var err error
			rb, err = s.newRecord(tx, a, records.KindAssessment, now)
			assessmentRecord(rb, in)
			return rb, err
		})
		if err != nil || !changed {
			return err
		}
		if err := s.finish(tx, rb); err != nil {
			return err
		}
		return record(tx, a.audit(), now, "hash.submit", h.Key(), submitDigest{h.Key(), in})
	}, func() any { return Submitted{Entry: e, Created: created} })
	return e, created, err
}

// Submitted is what Submit kept for a replay: the entry and whether it is
// new.
type Submitted struct {
	Entry   *entries.Entry
	Created bool
}

// Assessed is what Assess kept for a replay: the entry and the dispute the
// assessment opened, if any.
type Assessed struct {
	Entry   *entries.Entry
	Dispute *entries.Dispute
}

type submitDigest struct {
	Key string        `json:"key"`
	In  entries.Input `json:"in"`
}

// merge adds the actor's assessment to the entry for h, creating it if
// needed, and writes it when something changed. rec gives the record the
// change is signed in (called only when something changed).
func (s *Service) merge(tx *store.Tx, a Actor, h hashes.Hash, ik []byte, in entries.Input, now time.Time,
	rec func() (*recordBuilder, error)) (e *entries.Entry, created, changed bool, err error) {
	e, err = tx.EntryByIndexKey(ik, h)
	switch {
	case errors.Is(err, store.ErrNotFound):
		e = &entries.Entry{Hash: h, Created: now, Updated: now}
		created = true
	case err != nil:
		return nil, false, false, err
	}
	if created || (h.Quality != nil && e.Quality == nil) {
		e.Quality = h.Quality
	}
	changed = e.Assess(s.assessment(a, in, now)) || created
	if changed {
		rb, rerr := rec()
		if rerr != nil {
			return nil, false, false, rerr
		}
		s.stamp(e, a.User, rb, a.Org, a.Jurisdiction)
		return e, created, changed, s.putEntry(tx, e, ik)
	}
	return e, created, changed, nil
}

func (s *Service) assessment(a Actor, in entries.Input, now time.Time) entries.Assessment {
	return entries.Assessment{
		ID:      s.nodeID + "/" + a.User,
		Verdict: in.Verdict, Category: in.Category, Jurisdictions: in.Jurisdictions,
		Severity: in.Severity, Note: in.Note,
		Org: a.Org, OrgJur: a.Jurisdiction, User: a.User, Origin: s.nodeID, Time: now,
	}
}

// Entry reads one entry.
func (s *Service) Entry(key string) (*entries.Entry, error) {
	var e *entries.Entry
	err := s.db.View(func(tx *store.Tx) (err error) {
		e, err = tx.Entry(key)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", entries.ErrNotFound, key)
	}
	return e, err
}

// Assess records an analyst's verdict on an existing entry. A not_illegal
// verdict opens a dispute that takes the entry out of every list until an
// analyst of another organisation resolves it.
func (s *Service) Assess(a Actor, key string, in entries.Input) (*entries.Entry, *entries.Dispute, error) {
	in, err := in.Normalize()
	if err != nil {
		return nil, nil, err
	}
	now := s.now().UTC()
	var e *entries.Entry
	var d *entries.Dispute
	err = s.update(a, func(tx *store.Tx) error {
		var err error
		if e, err = getEntry(tx, key); err != nil {
			return err
		}
		as := s.assessment(a, in, now)
		if !e.Assess(as) {
			return nil
		}
		rb, err := s.newRecord(tx, a, records.KindAssessment, now)
		if err != nil {
			return err
		}
		assessmentRecord(rb, in)
		s.stamp(e, a.User, rb, a.Org, a.Jurisdiction)
		if err := s.finish(tx, rb); err != nil {
			return err
		}
		if in.Verdict == entries.NotIllegal {
			if d, err = s.openDispute(tx, e, "assessment", as.ID, a, in.Note, now); err != nil {
				return err
			}
		}
		if err := s.putEntry(tx, e, nil); err != nil {
			return err
		}
		if err := countReview(tx, a, now); err != nil {
			return err
		}
		return record(tx, a.audit(), now, "hash.assess", key, as)
	}, func() any { return Assessed{Entry: e, Dispute: d} })
	return e, d, err
}

func getEntry(tx *store.Tx, key string) (*entries.Entry, error) {
	e, err := tx.Entry(key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", entries.ErrNotFound, key)
	}
	return e, err
}

// openDispute creates a dispute on e (the caller writes e).
func (s *Service) openDispute(tx *store.Tx, e *entries.Entry, source, sourceID string, a Actor, reason string, now time.Time) (*entries.Dispute, error) {
	id, err := tx.NextID("dsp_")
	if err != nil {
		return nil, err
	}
	d := &entries.Dispute{ID: id, Entry: e.Key(), Source: source, SourceID: sourceID, Org: a.Org, User: a.User,
		Reason: reason, Opened: now, Status: entries.DisputeOpen}
	if err := tx.PutDispute(d); err != nil {
		return nil, err
	}
	e.OpenDisputes = append(e.OpenDisputes, id)
	return d, record(tx, a.audit(), now, "dispute.open", id, d)
}

// Retract withdraws the actor's organisation's assessments of an entry.
// When no assessment remains the entry leaves every list.
func (s *Service) Retract(a Actor, key, reason string) (*entries.Entry, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, &entries.FieldError{Field: "reason", Reason: "a retraction says why"}
	}
	if err := text.Note("reason", reason); err != nil {
		return nil, err
	}
	if len(reason) > entries.MaxReasonLen {
		return nil, &entries.FieldError{Field: "reason", Reason: fmt.Sprintf("longer than %d bytes", entries.MaxReasonLen)}
	}
	now := s.now().UTC()
	var e *entries.Entry
	err := s.update(a, func(tx *store.Tx) error {
		var err error
		if e, err = getEntry(tx, key); err != nil {
			return err
		}
		r := entries.Retraction{User: a.User, Reason: reason, Time: now}
		rb, err := s.newRecord(tx, a, records.KindRetraction, now)
		if err != nil {
			return err
		}
		if rb != nil {
			r.Seq = rb.r.Seq
			rb.r.Reason = reason
			rb.keys = append(rb.keys, e.Key())
		}
		if e.Retract(a.Org, s.nodeID, r) == 0 {
			return fmt.Errorf("%w: organisation %q has no active assessment of %q", entries.ErrNothingToRetract, a.Org, key)
		}
		if err := s.finish(tx, rb); err != nil {
			return err
		}
		if err := s.putEntry(tx, e, nil); err != nil {
			return err
		}
		return record(tx, a.audit(), now, "hash.retract", key, r)
	}, func() any { return e })
	return e, err
}

// GiveFeedback records a platform's feedback on an entry. A false positive
// opens a dispute (unless the organisation already has one open on it).
func (s *Service) GiveFeedback(a Actor, key, kind, note string) (*entries.Feedback, error) {
	if kind != entries.ConfirmedMatch && kind != entries.FalsePositive {
		return nil, &entries.FieldError{Field: "kind", Reason: fmt.Sprintf("%q is not one of confirmed_match, false_positive", kind)}
	}
	if err := text.Note("note", note); err != nil {
		return nil, err
	}
	if len(note) > entries.MaxNoteLen {
		return nil, &entries.FieldError{Field: "note", Reason: fmt.Sprintf("longer than %d bytes", entries.MaxNoteLen)}
	}
	now := s.now().UTC()
	var f *entries.Feedback
	err := s.update(a, func(tx *store.Tx) error {
		e, err := getEntry(tx, key)
		if err != nil {
			return err
		}
		// A platform speaks only of entries it was given: one that
		// qualifies for a list it reads, or one already under dispute.
		// Anything else answers as unknown, so feedback cannot be used to
		// probe which hashes the node holds.
		if len(e.OpenDisputes) == 0 {
			ok, err := readableByOrg(tx, e, a)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%w: %q", entries.ErrNotFound, key)
			}
		}
		id, err := tx.NextID("fb_")
		if err != nil {
			return err
		}
		f = &entries.Feedback{ID: id, Entry: key, Kind: kind, Note: note, Org: a.Org, User: a.User, Time: now}
		if kind == entries.FalsePositive {
			open, err := hasOpenDispute(tx, e, a.Org)
			if err != nil {
				return err
			}
			if !open {
				d, err := s.openDispute(tx, e, "feedback", id, a, note, now)
				if err != nil {
					return err
				}
				f.Dispute = d.ID
				if err := s.putEntry(tx, e, nil); err != nil {
					return err
				}
			}
		}
		if err := tx.PutFeedback(f); err != nil {
			return err
		}
		return record(tx, a.audit(), now, "hash.feedback", key, f)
	}, func() any { return f })
	return f, err
}

func hasOpenDispute(tx *store.Tx, e *entries.Entry, org string) (bool, error) {
	for _, id := range e.OpenDisputes {
		d, err := tx.Dispute(id)
		if err != nil {
			return false, err
		}
		if d.Org == org {
			return true, nil
		}
	}
	return false, nil
}

// History is everything recorded about an entry.
type History struct {
	Entry    *entries.Entry     `json:"entry"`
	Status   string             `json:"status"`
	Feedback []entries.Feedback `json:"feedback"`
	Disputes []entries.Dispute  `json:"disputes"`
	// Lists is the entry's standing in each list (HistoryFor only).
	Lists []ListStanding `json:"lists,omitempty"`
	// Blind is set when blind review hid the assessments from the reader.
	Blind *Blinding `json:"blind,omitempty"`
}

// History reads an entry with its feedback and disputes.
func (s *Service) History(key string) (*History, error) {
	h := &History{}
	err := s.db.View(func(tx *store.Tx) error {
		var err error
		if h.Entry, err = getEntry(tx, key); err != nil {
			return err
		}
		if h.Feedback, err = tx.FeedbackFor(key); err != nil {
			return err
		}
		h.Disputes, err = tx.DisputesFor(key)
		return err
	})
	if err != nil {
		return nil, err
	}
	h.Status = h.Entry.Status()
	if h.Feedback == nil {
		h.Feedback = []entries.Feedback{}
	}
	if h.Disputes == nil {
		h.Disputes = []entries.Dispute{}
	}
	return h, nil
}

// readableByOrg reports whether e qualifies now for a list a may read.
func readableByOrg(tx *store.Tx, e *entries.Entry, a Actor) (bool, error) {
	ls, err := tx.Lists()
	if err != nil {
		return false, err
	}
	for i := range ls {
		if ls[i].CanRead(a.Org, a.Role) && ls[i].Policy.Evaluate(e).Qualifies() {
			return true, nil
		}
	}
	return false, nil
}
