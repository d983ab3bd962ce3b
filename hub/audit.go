package hub

import (
	"encoding/json"

	"github.com/hashhub/hashhub/audit"
	"github.com/hashhub/hashhub/store"
)

// AuditEvents reads a page of the audit chain after a sequence number.
func (s *Service) AuditEvents(after uint64, limit int) ([]audit.Event, error) {
	out := []audit.Event{}
	err := s.db.View(func(tx *store.Tx) error {
		return tx.AuditEvents(after, func(_ uint64, raw []byte) (bool, error) {
			var e audit.Event
			if err := json.Unmarshal(raw, &e); err != nil {
				return false, err
			}
			out = append(out, e)
			return len(out) < limit, nil
		})
	})
	return out, err
}

// VerifyAudit checks the whole chain and returns how many events it holds;
// a broken chain is an *audit.BrokenError naming the first broken link.
func VerifyAudit(db *store.DB) (int, error) {
	var n int
	err := db.View(func(tx *store.Tx) error {
		var v audit.Verifier
		if err := tx.AuditEvents(0, func(seq uint64, raw []byte) (bool, error) {
			return true, v.Add(seq, raw)
		}); err != nil {
			return err
		}
		hs, hh, err := tx.AuditHead()
		if err != nil {
			return err
		}
		n, err = v.Finish(hs, hh)
		return err
	})
	return n, err
}

// Ready reports whether the store answers.
func (s *Service) Ready() error {
	return s.db.View(func(tx *store.Tx) error {
		_, _, err := tx.AuditHead()
		return err
	})
}
