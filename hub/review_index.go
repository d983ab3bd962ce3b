package hub

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/store"
)

// The review index (store's review_queue bucket) holds the entries some
// list still waits on, ranked so that the queue is one range scan: rank 0
// for those one more assessment would publish in a list, rank 1 for the
// rest. Every write of an entry goes through putEntry, which refiles it in
// the same transaction; creating a list rebuilds the index in the list's
// transaction. A store written before the index existed is indexed on the
// first queue read (reviewIndexVersion in meta says it is done).

const reviewIndexVersion = 1

// putEntry writes an entry and refiles it in the review index.
func (s *Service) putEntry(tx *store.Tx, e *entries.Entry, ik []byte) error {
	fresh := e.Seq == 0
	if err := tx.PutEntry(e, ik); err != nil {
		return err
	}
	ls, err := s.reviewLists(tx)
	if err != nil {
		return err
	}
	return fileReview(tx, e, ls, fresh)
}

// reviewLists returns the lists, read once per change of lists rather
// than once per entry written (an import writes millions). Only write
// transactions call it, and they run one at a time.
func (s *Service) reviewLists(tx *store.Tx) ([]lists.List, error) {
	s.listsMu.Lock()
	defer s.listsMu.Unlock()
	if s.listsCache == nil {
		ls, err := tx.Lists()
		if err != nil {
			return nil, err
		}
		if ls == nil {
			ls = []lists.List{}
		}
		s.listsCache = ls
	}
	return s.listsCache, nil
}

func (s *Service) forgetLists() {
	s.listsMu.Lock()
	s.listsCache = nil
	s.listsMu.Unlock()
}

func fileReview(tx *store.Tx, e *entries.Entry, ls []lists.List, fresh bool) error {
	rank, waiting := reviewRank(e, ls)
	if !waiting {
		if fresh {
			return nil
		}
		return tx.DropReview(e.Seq)
	}
	return tx.PutReview(e.Seq, rank, assessingOrgs(e), fresh)
}

// reviewRank says whether some list waits on the entry (it does not
// qualify yet and nothing blocks it) and how soon: 0 when one more
// assessment, from a new organisation in a new jurisdiction, would
// publish it.
func reviewRank(e *entries.Entry, ls []lists.List) (rank byte, waiting bool) {
	rank = 1
	for i := range ls {
		sf := ls[i].Policy.Evaluate(e)
		if sf.Blocked != "" || sf.Qualifies() {
			continue
		}
		waiting = true
		if sf.OneShort() {
			return 0, true
		}
	}
	return rank, waiting
}

// assessingOrgs are the organisations that gave any assessment, retracted
// ones included: an organisation that spoke once is not asked again.
func assessingOrgs(e *entries.Entry) []string {
	var out []string
	for i := range e.Assessments {
		if o := e.Assessments[i].Org; !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// rebuildReview refiles every entry against the lists in tx.
func rebuildReview(tx *store.Tx) error {
	ls, err := tx.Lists()
	if err != nil {
		return err
	}
	if err := tx.ClearReview(); err != nil {
		return err
	}
	err = tx.EntriesByCreated(0, func(e *entries.Entry) (bool, error) {
		return true, fileReview(tx, e, ls, true)
	})
	if err != nil {
		return err
	}
	return tx.PutMeta("review_index", reviewIndexVersion)
}

// ensureReviewIndex builds the index once on a store that predates it.
func (s *Service) ensureReviewIndex() error {
	var v int
	err := s.db.View(func(tx *store.Tx) error { return tx.Meta("review_index", &v) })
	if err == nil && v == reviewIndexVersion {
		return nil
	}
	return s.db.Update(func(tx *store.Tx) error {
		if tx.Meta("review_index", &v) == nil && v == reviewIndexVersion {
			return nil
		}
		return rebuildReview(tx)
	})
}

// countReview counts a review (an assessment or a dispute's resolution)
// towards the person's reviews of the day, in the review's transaction.
func countReview(tx *store.Tx, a Actor, now time.Time) error {
	return tx.AddReview(a.User, now.UTC().Format(time.DateOnly))
}

// ReviewsToday is how many reviews the person made today (UTC): the
// console shows it, and reminds them to take a break.
func (s *Service) ReviewsToday(a Actor) (int, error) {
	var n int
	err := s.db.View(func(tx *store.Tx) error {
		n = tx.Reviews(a.User, s.now().UTC().Format(time.DateOnly))
		return nil
	})
	return n, err
}

// Dispute reads one dispute.
func (s *Service) Dispute(id string) (*entries.Dispute, error) {
	var d *entries.Dispute
	err := s.db.View(func(tx *store.Tx) (err error) {
		d, err = tx.Dispute(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", entries.ErrDisputeNotFound, id)
	}
	return d, err
}
