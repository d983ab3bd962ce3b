package hub

import (
	"errors"
	"fmt"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/store"
)

// CreateList adds a list with its policy and readers.
func (s *Service) CreateList(a Actor, l lists.List) (*lists.List, error) {
	l.Created = s.now().UTC()
	l.CreatedBy = a.User
	if err := l.Validate(); err != nil {
		return nil, err
	}
	err := s.update(a, func(tx *store.Tx) error {
		if _, err := tx.List(l.Name); err == nil {
			return fmt.Errorf("%w: %q", lists.ErrExists, l.Name)
		}
		for _, o := range l.Readers.Orgs {
			if _, err := tx.Org(o); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return &lists.FieldError{Field: "readers.orgs", Reason: fmt.Sprintf("no organisation %q", o)}
				}
				return err
			}
		}
		if err := tx.PutList(&l); err != nil {
			return err
		}
		// The new list changes which entries wait for review: the index
		// is rebuilt in the list's own transaction (a full scan; lists
		// are created rarely). Forgetting the cached lists here, under
		// the writer's lock, means the next write reads them afresh
		// whether this one commits or not.
		s.forgetLists()
		if err := rebuildReview(tx); err != nil {
			return err
		}
		return record(tx, a.audit(), l.Created, "list.create", l.Name, l)
	}, func() any { return &l })
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// List reads a list.
func (s *Service) List(name string) (*lists.List, error) {
	var l *lists.List
	err := s.db.View(func(tx *store.Tx) (err error) {
		l, err = tx.List(name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", lists.ErrNotFound, name)
	}
	return l, err
}

// Lists returns every list.
func (s *Service) Lists() ([]lists.List, error) {
	var out []lists.List
	err := s.db.View(func(tx *store.Tx) (err error) {
		out, err = tx.Lists()
		return err
	})
	if out == nil {
		out = []lists.List{}
	}
	return out, err
}

// Qualifying is one page of the entries that qualify for a list now.
type Qualifying struct {
	List       string          `json:"list"`
	Entries    []QualifiedHash `json:"entries"`
	NextCursor string          `json:"next_cursor,omitempty"`
	Scanned    int             `json:"scanned"`
}

// QualifiedHash is a hash as a list reader sees it: no analyst identities.
type QualifiedHash struct {
	Algo     string `json:"algo"`
	Value    string `json:"value"`
	Quality  *int   `json:"quality,omitempty"`
	Severity string `json:"severity,omitempty"`
}

// MaxQualifyingScan bounds the entries one page examines.
const MaxQualifyingScan = 500_000

// QualifyingEntries pages through the entries that meet the list's policy
// now, in creation order after the cursor.
func (s *Service) QualifyingEntries(name string, after uint64, limit int) (*Qualifying, error) {
	q := &Qualifying{List: name, Entries: []QualifiedHash{}}
	err := s.db.View(func(tx *store.Tx) error {
		l, err := tx.List(name)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: %q", lists.ErrNotFound, name)
			}
			return err
		}
		var last uint64
		err = tx.EntriesByCreated(after, func(e *entries.Entry) (bool, error) {
			last = e.Seq
			q.Scanned++
			if l.Policy.Evaluate(e).Qualifies() {
				q.Entries = append(q.Entries, QualifiedHash{Algo: e.Algo, Value: e.Value, Quality: e.Quality, Severity: maxSeverity(e)})
			}
			return len(q.Entries) < limit && q.Scanned < MaxQualifyingScan, nil
		})
		if err != nil {
			return err
		}
		if len(q.Entries) >= limit || q.Scanned >= MaxQualifyingScan {
			q.NextCursor = fmt.Sprint(last)
		}
		return nil
	})
	return q, err
}

// maxSeverity is the most severe grade any active illegal assessment gave.
func maxSeverity(e *entries.Entry) string {
	best := ""
	for i := range e.Assessments {
		a := &e.Assessments[i]
		if a.Active() && a.Verdict == entries.Illegal && a.Severity != "" && (best == "" || string(a.Severity) < best) {
			best = string(a.Severity)
		}
	}
	return best
}
