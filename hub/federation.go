package hub

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashhub/hashhub/audit"
	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/records"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/store"
)

// DefaultPeerBatch is how many entries one transaction of a peer's
// snapshot step writes (Service.PeerBatch overrides it): it bounds the
// memory a catch-up's store transaction holds.
const DefaultPeerBatch = 50_000

// ErrForgedRecord is wrapped when a peer relays a record whose signature
// does not verify with its origin's key: the whole step is refused.
var ErrForgedRecord = errors.New("forged record")

// PeerStep is one verified version of a peer's list, ready to import: the
// delta lines applied to this node's copy of the list (all adds for a
// snapshot) and the signed records they rest on.
type PeerStep struct {
	Peer    string
	List    string
	Version uint64
	// Snapshot marks a version reached from a snapshot.
	Snapshot bool
	Changes  []release.Change
	// Range, if set, yields the changes in place of Changes, so that a
	// step of a large list is read as it is imported, not held twice.
	Range   func(fn func(release.Change) error) error
	Records []records.Signed
	// RangeRecords, if set, yields the records in place of Records, in
	// the same order on every call (a snapshot step reads them two or
	// three times), so that a catch-up's records are not held whole.
	// The bytes it passes are valid only during the call.
	RangeRecords func(fn func(records.Signed) error) error
	// Prepared, if set, are the snapshot step's records verified ahead
	// (PrepareSnapshotRecords over the same RangeRecords); the caller
	// closes them after.
	Prepared *SnapshotRecords
	// Progress, if set, is called after each part of a snapshot step
	// commits, with the parts done and the parts in all.
	Progress func(done, parts int)
}

// StepResult says what importing a step did.
type StepResult struct {
	Version uint64 `json:"version"`
	// Applied is false when the step had been applied before (a replay
	// after a restart): nothing changed.
	Applied bool `json:"applied"`
	// Records is how many records were verified; Own how many originated
	// here (never imported back); Unknown how many came from origins this
	// node has no key for (skipped: they cannot be verified).
	Records int `json:"records"`
	Own     int `json:"own"`
	Unknown int `json:"unknown"`
	// Created and Updated count entries written.
	Created int `json:"created"`
	Updated int `json:"updated"`
}

// origin is what an importer knows of a record's origin node.
type origin struct {
	key     ed25519.PublicKey
	countAs peers.CountAs
}

// origins returns the registered peers' node keys and how they count.
func (s *Service) origins() (map[string]origin, error) {
	ps, err := s.Peers()
	if err != nil {
		return nil, err
	}
	out := make(map[string]origin, len(ps))
	for i := range ps {
		k, err := ps[i].NodeKey()
		if err != nil {
			continue
		}
		out[ps[i].ID] = origin{key: k, countAs: ps[i].CountAs}
	}
	return out, nil
}

type verifiedRecord struct {
	signed records.Signed
	rec    *records.Record
	org    origin
	// src is the record's index in what verifyRecords was given.
	src int
}

// ApplyPeerStep imports one step of a peer's list: it verifies every record
// against its origin's published key, then writes the records (byte for
// byte, for relaying), the entries they are about and the peer's cursor in
// one transaction. A step at or below the cursor changes nothing, so a
// step replayed after a crash is harmless. A record from this node is never
// imported back; one from an origin with no registered key is skipped; a
// forged one refuses the whole step. A snapshot step is written in
// transactions of at most PeerBatch entries (applyPeerSnapshot).
func (s *Service) ApplyPeerStep(st *PeerStep) (*StepResult, error) {
	res := &StepResult{Version: st.Version}
	known, err := s.origins()
	if err != nil {
		return nil, err
	}
	if st.Snapshot {
		return s.applyPeerSnapshot(st, known, res)
	}
	srs := st.Records
	if srs == nil && st.RangeRecords != nil {
		if err := st.RangeRecords(func(sr records.Signed) error {
			srs = append(srs, records.Signed{Raw: bytes.Clone(sr.Raw), Sig: bytes.Clone(sr.Sig)})
			return nil
		}); err != nil {
			return nil, err
		}
	}
	recs, err := s.verifyRecords(srs, known, res)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(x, y verifiedRecord) int {
		return cmp.Or(cmp.Compare(x.rec.Origin, y.rec.Origin), cmp.Compare(x.rec.Seq, y.rec.Seq))
	})
	// One work item per entry of the step, found by key; the index keys
	// are computed before the transaction.
	stepWork := make([]peerWork, 0, len(st.Changes))
	each := st.Range
	if each == nil {
		each = eachOf(st.Changes)
	}
	if err := each(func(c release.Change) error {
		if c.Op == release.OpRemove {
			return nil
		}
		h := hashes.Hash{Algo: c.Algo, Value: c.Value, Quality: c.Quality}
		w := peerWork{h: h}
		copy(w.ik[:], store.IndexKey(h))
		stepWork = append(stepWork, w)
		return nil
	}); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	// plan finds which records apply to which entries: every key of the
	// step; and, for a record not held before, every key this node
	// already has (a retraction of an entry whose line did not change).
	plan := func(tx *store.Tx) []peerWork {
		ws := stepWork
		pos := make(map[string]int32, len(ws))
		for i := range ws {
			pos[ws[i].h.Key()] = int32(i)
		}
		for i := range recs {
			r := recs[i].rec
			fresh := !tx.HasRecord(r.Origin, r.Seq)
			for _, k := range r.Keys {
				if j, ok := pos[k]; ok {
					ws[j].recs = append(ws[j].recs, int32(i))
					continue
				}
				if !fresh {
					continue
				}
				h, err := hashes.ParseKey(k)
				if err != nil {
					continue
				}
				w := peerWork{h: h, recs: []int32{int32(i)}}
				copy(w.ik[:], store.IndexKey(h))
				if _, err := tx.EntryByIndexKey(w.ik[:], h); err == nil {
					pos[k] = int32(len(ws))
					ws = append(ws, w)
				}
			}
		}
		// Write entries in index order (bbolt's fast path); entries no
		// record speaks of are not created.
		ws = slices.DeleteFunc(ws, func(w peerWork) bool { return len(w.recs) == 0 })
		slices.SortFunc(ws, func(x, y peerWork) int { return bytes.Compare(x.ik[:], y.ik[:]) })
		return ws
	}
	err = s.db.Update(func(tx *store.Tx) error {
		*res = StepResult{Version: st.Version, Records: res.Records, Own: res.Own, Unknown: res.Unknown}
		if tx.PeerCursor(st.Peer, st.List) >= st.Version {
			return nil
		}
		res.Applied = true
		if err := s.putPeerWork(tx, plan(tx), recs, now, res); err != nil {
			return err
		}
		for i := range recs {
			if err := tx.PutRecord(recs[i].rec.Origin, recs[i].rec.Seq, recs[i].signed); err != nil {
				return err
			}
		}
		return finishPeerStep(tx, st, now, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// peerWork is one entry a peer's step writes: the entry's hash and index
// key, and the records (indexes into the step's verified records, in
// (origin, seq) order) to apply to it.
type peerWork struct {
	ik   [store.IndexKeyLen]byte
	h    hashes.Hash
	recs []int32
	// held: the entry is written only if this node holds it already (the
	// key is not in the step; records not held before still apply to it).
	held bool
	// premade: made is the entry the records make if this node does not
	// hold it (nil: they change nothing), made before the transaction.
	premade bool
	made    *entries.Entry
}

// putPeerWork applies the records of each work item to its entry and
// writes the entries that changed.
func (s *Service) putPeerWork(tx *store.Tx, ws []peerWork, recs []verifiedRecord, now time.Time, res *StepResult) error {
	for i := range ws {
		w := &ws[i]
		e, err := tx.EntryByIndexKey(w.ik[:], w.h)
		created, changed := false, false
		switch {
		case errors.Is(err, store.ErrNotFound) && w.held:
			continue
		case errors.Is(err, store.ErrNotFound) && w.premade:
			if w.made == nil {
				continue
			}
			e, created, changed = w.made, true, true
		case errors.Is(err, store.ErrNotFound):
			e = &entries.Entry{Hash: w.h, Created: now, Updated: now}
			created = true
		case err != nil:
			return err
		}
		if e != w.made {
			for _, i := range w.recs {
				if applyRecord(e, recs[i].rec, recs[i].org.countAs) {
					changed = true
				}
			}
		}
		// An entry may begin with only a retraction mark (the
		// retraction came first, through another relay): it is kept so
		// that the assessment it withdrew stays withdrawn when it comes.
		if !changed {
			continue
		}
		if created {
			res.Created++
		} else {
			res.Updated++
		}
		e.Updated = now
		if err := s.putEntry(tx, e, w.ik[:]); err != nil {
			return err
		}
	}
	return nil
}

// finishPeerStep moves the peer's cursor to the step and records it in
// the audit log.
func finishPeerStep(tx *store.Tx, st *PeerStep, now time.Time, res *StepResult) error {
	if err := tx.SetPeerCursor(st.Peer, st.List, st.Version); err != nil {
		return err
	}
	return record(tx, audit.System, now, "peer.apply", fmt.Sprintf("%s/%s@%d", st.Peer, st.List, st.Version), res)
}

// ResetPeerCursor forgets which version of a peer's list was applied (the
// node pulls it afresh, e.g. after the peer's keys were registered anew).
func (s *Service) ResetPeerCursor(peer, list string) error {
	return s.db.Update(func(tx *store.Tx) error { return tx.SetPeerCursor(peer, list, 0) })
}

// verifyRecords parses and verifies records on every core (a catch-up
// brings a few large records per import batch of the origin), and counts
// those that originated here or at an unknown origin.
func (s *Service) verifyRecords(srs []records.Signed, known map[string]origin, res *StepResult) ([]verifiedRecord, error) {
	out := make([]verifiedRecord, len(srs))
	errs := make([]error, len(srs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(srs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(srs); i = int(next.Add(1) - 1) {
				r, err := records.Parse(srs[i].Raw)
				if err != nil {
					errs[i] = err
					continue
				}
				out[i] = verifiedRecord{signed: srs[i], rec: r, src: i}
				if o, ok := known[r.Origin]; ok && r.Origin != s.nodeID {
					out[i].org = o
					errs[i] = srs[i].VerifyParsed(r, o.key)
				}
			}
		}()
	}
	wg.Wait()
	var recs []verifiedRecord
	for i := range out {
		if errs[i] != nil {
			return nil, fmt.Errorf("%w: %w", ErrForgedRecord, errs[i])
		}
		switch r := out[i].rec; {
		case r.Origin == s.nodeID:
			res.Own++
		case out[i].org.key == nil:
			res.Unknown++
		default:
			recs = append(recs, out[i])
			res.Records++
		}
	}
	return recs, nil
}

// PeerCursor is the last version of a peer's list applied here.
func (s *Service) PeerCursor(peer, list string) (uint64, error) {
	var v uint64
	err := s.db.View(func(tx *store.Tx) error {
		v = tx.PeerCursor(peer, list)
		return nil
	})
	return v, err
}

// applyRecord applies one verified record of another origin to e and
// reports whether e changed. Assessments are a set keyed by (origin,
// user); a record older than the one already applied changes nothing, so
// merging is idempotent and order-independent per origin.
func applyRecord(e *entries.Entry, r *records.Record, as peers.CountAs) bool {
	switch r.Kind {
	case records.KindAssessment:
		a := entries.Assessment{
			ID: r.Origin + "/" + r.User, Verdict: r.Verdict, Category: r.Category, Jurisdictions: r.Jurisdictions,
			Severity: r.Severity, Org: as.Org, OrgJur: as.Jurisdiction, User: r.User, Origin: r.Origin,
			Time: r.TimeValue(), OriginSeq: r.Seq, OriginOrg: r.Org, OriginJur: r.OrgJurisdiction,
		}
		for _, m := range e.RetractMarks {
			if m.Origin == r.Origin && m.Org == r.Org && m.Seq > r.Seq {
				a.Retracted = &entries.Retraction{User: r.User, Reason: "withdrawn at the origin", Time: r.TimeValue(), Seq: m.Seq}
			}
		}
		for i := range e.Assessments {
			old := &e.Assessments[i]
			if old.Origin == r.Origin && old.User == r.User {
				if old.OriginSeq >= r.Seq {
					return false
				}
				*old = a
				return true
			}
		}
		e.Assessments = append(e.Assessments, a)
		return true
	case records.KindRetraction:
		changed := false
		for i := range e.Assessments {
			a := &e.Assessments[i]
			if a.Origin == r.Origin && a.OriginOrg == r.Org && a.OriginSeq < r.Seq && a.Retracted == nil {
				a.Retracted = &entries.Retraction{User: r.User, Reason: r.Reason, Time: r.TimeValue(), Seq: r.Seq}
				changed = true
			}
		}
		for i := range e.RetractMarks {
			m := &e.RetractMarks[i]
			if m.Origin == r.Origin && m.Org == r.Org {
				if m.Seq < r.Seq {
					m.Seq = r.Seq
					changed = true
				}
				return changed
			}
		}
		e.RetractMarks = append(e.RetractMarks, entries.RetractMark{Origin: r.Origin, Org: r.Org, Seq: r.Seq})
		return true
	}
	return false
}

// eachOf yields the changes of a slice in order, as PeerStep.Range yields
// those of a stream.
func eachOf(cs []release.Change) func(fn func(release.Change) error) error {
	return func(fn func(release.Change) error) error {
		for i := range cs {
			if err := fn(cs[i]); err != nil {
				return err
			}
		}
		return nil
	}
}
