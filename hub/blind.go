package hub

import (
	"sort"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/store"
)

// Blind review: an analyst does not see the other analysts' verdicts on an
// entry until their own organisation has given its own, so that each
// assessment is an independent judgement. It is a per-list setting
// (lists.Policy.OpenReview turns it off) and is enforced here, so that the
// API and the console show the same.

// Claim is what the submitter claimed of an entry: the category,
// jurisdictions and severity of its first assessment. Blind review shows
// it; it is the question put to the analyst.
type Claim struct {
	Category      entries.Category `json:"category"`
	Jurisdictions []string         `json:"jurisdictions,omitempty"`
	Severity      entries.Severity `json:"severity,omitempty"`
}

// Blinding says what blind review hid from the reader.
type Blinding struct {
	// Hidden is how many assessments were left out.
	Hidden int    `json:"hidden"`
	Claim  *Claim `json:"claim,omitempty"`
}

func claimOf(e *entries.Entry) *Claim {
	var first *entries.Assessment
	for i := range e.Assessments {
		if a := &e.Assessments[i]; first == nil || a.Time.Before(first.Time) {
			first = a
		}
	}
	if first == nil {
		return nil
	}
	return &Claim{Category: first.Category, Jurisdictions: first.Jurisdictions, Severity: first.Severity}
}

// isBlind reports whether a must not see the verdicts on e yet: a is an
// analyst, their organisation has given no assessment of e (a retracted
// one counts as given), and some list that takes e reviews blind. An entry
// no list takes is blind too: the default is to hide.
func isBlind(a Actor, e *entries.Entry, ls []lists.List) bool {
	if !a.Role.Analyst() {
		return false
	}
	for i := range e.Assessments {
		if e.Assessments[i].Org == a.Org {
			return false
		}
	}
	taken := false
	for i := range ls {
		if ls[i].Policy.Takes(e.Algo) {
			taken = true
			if !ls[i].Policy.OpenReview {
				return true
			}
		}
	}
	return !taken
}

// blind returns a copy of e without its assessments, and what was hidden.
func blind(e *entries.Entry) (*entries.Entry, *Blinding) {
	b := &Blinding{Hidden: len(e.Assessments), Claim: claimOf(e)}
	c := *e
	c.Assessments = []entries.Assessment{}
	c.RetractMarks = nil
	return &c, b
}

// ListStanding is an entry's standing in one list, in words.
type ListStanding struct {
	List   string `json:"list"`
	Policy string `json:"policy"`
	In     bool   `json:"in"`
	// Why says why the entry is or is not in the list; empty while blind
	// review hides the verdicts it would reveal.
	Why string `json:"why,omitempty"`
}

func standings(e *entries.Entry, ls []lists.List, hidden bool) []ListStanding {
	out := make([]ListStanding, 0, len(ls))
	for i := range ls {
		p := &ls[i].Policy
		st := ListStanding{List: ls[i].Name, Policy: p.Describe()}
		if !hidden {
			st.In = p.Evaluate(e).Qualifies()
			st.Why = p.Explain(e)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].List < out[j].List })
	return out
}

// EntryFor reads one entry as a sees it (blind review applied) and records
// the read in the audit chain: who looked at which hash is accountable.
func (s *Service) EntryFor(a Actor, key string) (*entries.Entry, *Blinding, error) {
	var e *entries.Entry
	var b *Blinding
	err := s.db.Update(func(tx *store.Tx) error {
		var err error
		if e, err = getEntry(tx, key); err != nil {
			return err
		}
		ls, err := tx.Lists()
		if err != nil {
			return err
		}
		if isBlind(a, e, ls) {
			e, b = blind(e)
		}
		return record(tx, a.audit(), s.now().UTC(), "hash.read", key, key)
	})
	if err != nil {
		return nil, nil, err
	}
	return e, b, nil
}

// HistoryFor reads an entry's whole history as a sees it, with its
// standing in each list, and records the read. Under blind review the
// assessments, the reasons of disputes an assessment opened and the
// resolutions' reasons are left out, and so is why the entry is or is not
// in each list.
func (s *Service) HistoryFor(a Actor, key string) (*History, error) {
	h := &History{}
	err := s.db.Update(func(tx *store.Tx) error {
		var err error
		if h.Entry, err = getEntry(tx, key); err != nil {
			return err
		}
		if h.Feedback, err = tx.FeedbackFor(key); err != nil {
			return err
		}
		if h.Disputes, err = tx.DisputesFor(key); err != nil {
			return err
		}
		ls, err := tx.Lists()
		if err != nil {
			return err
		}
		h.Status = h.Entry.Status()
		hidden := isBlind(a, h.Entry, ls)
		h.Lists = standings(h.Entry, ls, hidden)
		if hidden {
			h.Entry, h.Blind = blind(h.Entry)
			for i := range h.Disputes {
				d := &h.Disputes[i]
				if d.Source == "assessment" {
					d.Reason = ""
				}
				if d.Resolution != nil {
					r := *d.Resolution
					r.Reason = ""
					d.Resolution = &r
				}
			}
		}
		return record(tx, a.audit(), s.now().UTC(), "hash.read", key, key)
	})
	if err != nil {
		return nil, err
	}
	if h.Feedback == nil {
		h.Feedback = []entries.Feedback{}
	}
	if h.Disputes == nil {
		h.Disputes = []entries.Dispute{}
	}
	return h, nil
}
