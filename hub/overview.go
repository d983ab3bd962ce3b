package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashhub/hashhub/audit"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/store"
)

// Overview is the state of the node an administrator checks daily: is
// every list still published, do the witnesses cosign, do the peers sync,
// does the outbox drain, is the audit chain whole.
type Overview struct {
	At    time.Time
	Lists []ListOverview
	// TreeSize is the transparency log's size; Cosigners the witnesses
	// that cosigned it. LastCosigned is the largest size any witness
	// cosigned, with its witnesses (equal to TreeSize when up to date).
	TreeSize          int64
	Cosigners         []string
	LastCosigned      int64
	LastCosignedNames []string
	Peers             []peers.Peer
	// OutboxPending counts jobs waiting (notices, forwards, pushes,
	// re-notices, hold ends); OutboxDead those that failed for good.
	OutboxPending int
	OutboxDead    int
	Audit         AuditStatus
}

// ListOverview is one list and its latest release.
type ListOverview struct {
	Name    string
	Version uint64 // 0: never released
	Entries uint64
	Created time.Time
	Expires time.Time
	// Age is how long ago the latest release was made.
	Age time.Duration
	// Stale is true past three quarters of the release's lifetime: the
	// node republishes at half of it (heartbeat), so a release this old
	// means publishing stopped, and clients will refuse the list when it
	// expires.
	Stale bool
}

// AuditStatus is the audit chain's state: its head, and how much of it
// the node has verified.
type AuditStatus struct {
	HeadSeq  uint64
	HeadHash string
	// Verified is the last event verified; Intact is false when the
	// chain broke, Problem then says where.
	Verified   uint64
	VerifiedAt time.Time
	Intact     bool
	Problem    string
}

// auditMark is the last audit event verified and its hash: later checks
// verify only the events after it (and that it still has its hash).
type auditMark struct {
	mu   sync.Mutex
	seq  uint64
	hash string
	at   time.Time
}

// Overview gathers the node's state for an administrator.
func (s *Service) Overview(a Actor) (*Overview, error) {
	if a.Role != orgs.Admin {
		return nil, ErrForbidden
	}
	o := &Overview{At: s.now().UTC(), Lists: []ListOverview{}, Peers: []peers.Peer{}}
	err := s.db.View(func(tx *store.Tx) error {
		ls, err := tx.Lists()
		if err != nil {
			return err
		}
		for _, l := range ls {
			lo := ListOverview{Name: l.Name}
			st, err := tx.ListState(l.Name, false)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if st != nil && st.Counter(cVersion) > 0 {
				lo.Version, lo.Entries = st.Counter(cVersion), st.Counter(cCount)
				raw, _, err := st.Manifest(lo.Version)
				if err != nil {
					return err
				}
				var m release.Manifest
				if err := json.Unmarshal(raw, &m); err != nil {
					return fmt.Errorf("list %q version %d: %w", l.Name, lo.Version, err)
				}
				lo.Created, _ = time.Parse(time.RFC3339, m.Created)
				lo.Expires, _ = time.Parse(time.RFC3339, m.Expires)
				if !lo.Created.IsZero() {
					lo.Age = o.At.Sub(lo.Created)
					lo.Stale = lo.Age > lo.Expires.Sub(lo.Created)*3/4
				}
			}
			o.Lists = append(o.Lists, lo)
		}
		if o.TreeSize, err = tx.Log().TreeSize(); err != nil {
			return err
		}
		m, err := tx.Cosignatures(o.TreeSize)
		if err != nil {
			return err
		}
		o.Cosigners = sortedKeys(m)
		size, last, err := tx.LastCosigned()
		if err != nil {
			return err
		}
		o.LastCosigned, o.LastCosignedNames = size, sortedKeys(last)
		if o.Peers, err = tx.Peers(); err != nil {
			return err
		}
		o.OutboxPending, o.OutboxDead = tx.OutboxLen()
		return nil
	})
	if err != nil {
		return nil, err
	}
	o.Audit, err = s.CheckAudit()
	return o, err
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// CheckAudit verifies the audit chain up to its head. The first check
// walks the whole chain; later ones only the events appended since, after
// checking that the last event verified still has the hash it had (an
// edit of an older event is found by `hashhub audit verify`, which walks
// everything). A broken chain is reported in the status, not as an error.
func (s *Service) CheckAudit() (AuditStatus, error) {
	m := &s.audited
	m.mu.Lock()
	defer m.mu.Unlock()
	var st AuditStatus
	err := s.db.View(func(tx *store.Tx) error {
		var err error
		if st.HeadSeq, st.HeadHash, err = tx.AuditHead(); err != nil {
			return err
		}
		from, prev := m.seq, m.hash
		if from > 0 {
			// The mark must still be the event it was.
			err := tx.AuditEvents(from-1, func(seq uint64, raw []byte) (bool, error) {
				var e audit.Event
				ok := seq == from && json.Unmarshal(raw, &e) == nil
				if ok {
					// Re-check the mark itself: its content still
					// matches the hash it had when verified.
					v := audit.ResumeVerifier(from-1, e.Prev)
					ok = v.Add(seq, raw) == nil
					_, h := v.Last()
					ok = ok && h == prev
				}
				if !ok {
					from, prev = 0, "" // verify everything again, and find the break
				}
				return false, nil
			})
			if err != nil {
				return err
			}
		}
		v := audit.ResumeVerifier(from, prev)
		err = tx.AuditEvents(from, func(seq uint64, raw []byte) (bool, error) {
			return true, v.Add(seq, raw)
		})
		if err == nil {
			_, err = v.Finish(st.HeadSeq, st.HeadHash)
		}
		last, lastHash := v.Last()
		var broken *audit.BrokenError
		if errors.As(err, &broken) {
			st.Problem, st.Verified = broken.Error(), last
			return nil
		}
		if err != nil {
			return err
		}
		st.Intact, st.Verified = true, last
		m.seq, m.hash, m.at = last, lastHash, s.now().UTC()
		return nil
	})
	st.VerifiedAt = m.at
	if !st.Intact {
		m.seq, m.hash = 0, "" // a broken chain is walked whole next time
	}
	return st, err
}
