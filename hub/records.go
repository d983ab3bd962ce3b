package hub

import (
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/records"
	"github.com/hashhub/hashhub/store"
)

// SetRecordKey sets the key this node signs its records with (its Ed25519
// node key, published as node_key_pem). Without it no record is made and
// nothing this node's analysts say reaches its peers.
func (s *Service) SetRecordKey(k ed25519.PrivateKey) { s.recordKey = k }

// recordBuilder collects the keys of one statement inside a transaction
// and signs it at the end. An import batch makes one builder per distinct
// verdict, so a million hashes take a few dozen signatures, not a million.
type recordBuilder struct {
	r    records.Record
	keys []string
}

// newRecord allocates the next sequence number for a statement by a.
func (s *Service) newRecord(tx *store.Tx, a Actor, kind string, now time.Time) (*recordBuilder, error) {
	if s.recordKey == nil {
		return nil, nil
	}
	seq, err := tx.NextRecordSeq()
	if err != nil {
		return nil, err
	}
	jur := a.Jurisdiction
	if jur == "" {
		jur = orgs.Unspecified
	}
	return &recordBuilder{r: records.Record{Format: records.Format, Origin: s.nodeID, Seq: seq, Kind: kind,
		Time: records.FormatTime(now), Org: a.Org, OrgJurisdiction: jur, User: a.User}}, nil
}

func assessmentRecord(b *recordBuilder, in entries.Input) {
	if b == nil {
		return
	}
	b.r.Verdict, b.r.Category, b.r.Jurisdictions, b.r.Severity = in.Verdict, in.Category, in.Jurisdictions, in.Severity
}

// finish signs the record and stores it.
func (s *Service) finish(tx *store.Tx, b *recordBuilder) error {
	if b == nil || len(b.keys) == 0 {
		return nil
	}
	slices.Sort(b.keys)
	b.r.Keys = slices.Compact(b.keys)
	if err := b.r.Validate(); err != nil {
		return fmt.Errorf("record %d: %w", b.r.Seq, err)
	}
	signed := records.Sign(&b.r, s.recordKey)
	return tx.PutRecord(s.nodeID, b.r.Seq, signed)
}

// stamp sets the record sequence of the assessment user made on this node.
func (s *Service) stamp(e *entries.Entry, user string, b *recordBuilder, org, orgJur string) {
	if b == nil {
		return
	}
	for i := range e.Assessments {
		a := &e.Assessments[i]
		if a.Origin == s.nodeID && a.User == user {
			a.OriginSeq, a.OriginOrg, a.OriginJur = b.r.Seq, org, orgJur
		}
	}
	b.keys = append(b.keys, e.Key())
}

// recordRefs adds the records e's assessments and retractions rest on.
func recordRefs(e *entries.Entry, into map[store.RecordRef]struct{}) {
	for i := range e.Assessments {
		a := &e.Assessments[i]
		if a.OriginSeq > 0 {
			into[store.RecordRef{Origin: a.Origin, Seq: a.OriginSeq}] = struct{}{}
		}
		if a.Retracted != nil && a.Retracted.Seq > 0 {
			into[store.RecordRef{Origin: a.Origin, Seq: a.Retracted.Seq}] = struct{}{}
		}
	}
}

func sortedRefs(m map[store.RecordRef]struct{}) []store.RecordRef {
	out := make([]store.RecordRef, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y store.RecordRef) int {
		return cmp.Or(cmp.Compare(x.Origin, y.Origin), cmp.Compare(x.Seq, y.Seq))
	})
	return out
}

// ListRecords streams the signed records that versions after..to of a
// list rest on, ordered by origin and sequence: for after = 0, those of
// every version up to to (with a snapshot, everything a new peer needs).
// Peers import them with a release; they carry who assessed what, so only
// peers and administrators may read them.
func (s *Service) ListRecords(name string, after, to uint64, fn func(records.Signed) error) error {
	return s.StreamRecords(name, after, to, nil, fn)
}

// StreamRecords is ListRecords that first calls start, if set, with the
// number of records to come, once the list and versions are known good:
// an error before start is the request's, one after it is the stream's.
// A handler can then send the records as they are read instead of
// holding them all (about 1 GB for a list of 10M entries).
func (s *Service) StreamRecords(name string, after, to uint64, start func(n int), fn func(records.Signed) error) error {
	refs := map[store.RecordRef]struct{}{}
	err := s.db.View(func(tx *store.Tx) error {
		ls, err := tx.ListState(name, false)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotReleaseState
		}
		if err != nil {
			return err
		}
		latest := ls.Counter(cVersion)
		if to == 0 {
			to = latest
		}
		if to > latest {
			return fmt.Errorf("%w: %d (latest is %d)", ErrVersionTooNew, to, latest)
		}
		if after >= to {
			return nil
		}
		return ls.VersionRecords(after+1, to, func(r store.RecordRef) error {
			refs[r] = struct{}{}
			return nil
		})
	})
	if err != nil {
		return err
	}
	// Read in pages so that a long stream holds no read transaction open.
	// A page ends at 256 records or 8 MiB of them: a bulk import's records
	// name 25,000 keys each (~2 MB), and a page of 256 of those read before
	// the first byte went out kept a catching-up peer waiting past its
	// idle timeout, and held half a gigabyte here.
	all := sortedRefs(refs)
	if start != nil {
		start(len(all))
	}
	for len(all) > 0 {
		var page []records.Signed
		n := 0
		err := s.db.View(func(tx *store.Tx) error {
			for size := 0; n < len(all) && n < 256 && size < 8<<20; n++ {
				r := all[n]
				sr, err := tx.Record(r.Origin, r.Seq)
				if err != nil {
					return err
				}
				page = append(page, records.Signed{Raw: slices.Clone(sr.Raw), Sig: slices.Clone(sr.Sig)})
				size += len(sr.Raw)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, sr := range page {
			if err := fn(sr); err != nil {
				return err
			}
		}
		all = all[n:]
	}
	return nil
}

// notifier wakes everyone waiting for the next release.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *notifier) broadcast() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}

// ReleaseSignal returns a channel closed when the next release of any list
// commits. Take it before reading the latest version, so that a release in
// between is not missed.
func (s *Service) ReleaseSignal() <-chan struct{} { return s.released.wait() }
