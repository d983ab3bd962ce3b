package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/records"
	"github.com/hashhub/hashhub/store"
)

// snapshotKeys returns n distinct sha256 keys, the first inRange of them
// in the first index-key range of a snapshot step's key spool, so that
// its buffer spills to the file.
func snapshotKeys(n, inRange int) []string {
	var keys []string
	for i := 0; len(keys) < inRange; i++ {
		sum := sha256.Sum256(fmt.Appendf(nil, "r%d", i))
		k := "sha256:" + hex.EncodeToString(sum[:])
		if fineOf(store.IndexKey(mustHash(k))) == 0 {
			keys = append(keys, k)
		}
	}
	for i := 0; len(keys) < n; i++ {
		sum := sha256.Sum256(fmt.Appendf(nil, "k%d", i))
		keys = append(keys, "sha256:"+hex.EncodeToString(sum[:]))
	}
	return keys
}

func mustHash(k string) hashes.Hash {
	h, err := hashes.ParseKey(k)
	if err != nil {
		panic(err)
	}
	return h
}

// A snapshot step imported in many small parts gives every entry what
// one part gives it: each key of the step gets the records that name it,
// in (origin, seq) order whatever order they came in, and a held entry
// no longer in the list still gets the retraction not held before.
func TestPeerSnapshotInParts(t *testing.T) {
	keys := snapshotKeys(400, 70)
	held := keys[len(keys)-1] // held here, not in the snapshot
	inStep := keys[:len(keys)-1]
	sorted := func(ks []string) []string { return slices.Sorted(slices.Values(ks)) }
	run := func(batch int, prepared bool) (*fixture, *StepResult) {
		f := newFixture(t)
		f.s.PeerBatch = batch
		key := registerPeer(t, f, "hub-de", "DE")
		if _, err := f.s.ApplyPeerStep(&PeerStep{Peer: "hub-de", List: "shared", Version: 1, Changes: adds(held),
			Records: []records.Signed{records.Sign(rec("hub-de", 1, records.KindAssessment, held), key)}}); err != nil {
			t.Fatal(err)
		}
		later := rec("hub-de", 4, records.KindAssessment, sorted(inStep[:10])...)
		later.User = "usr_other"
		srs := []records.Signed{
			records.Sign(rec("hub-de", 3, records.KindRetraction, sorted(append(slices.Clone(inStep[:50]), held))...), key),
			records.Sign(rec("hub-de", 1, records.KindAssessment, held), key), // held already
			records.Sign(rec("hub-de", 2, records.KindAssessment, sorted(inStep[:300])...), key),
			records.Sign(later, key),
			records.Sign(rec("hub-de", 5, records.KindAssessment, sorted(inStep[250:])...), key),
		}
		st := &PeerStep{Peer: "hub-de", List: "shared", Version: 7, Snapshot: true, Changes: adds(inStep...), Records: srs}
		if prepared {
			var err error
			if st.Prepared, err = f.s.PrepareSnapshotRecords(eachSigned(srs)); err != nil {
				t.Fatal(err)
			}
			defer st.Prepared.Close()
			st.Records, st.RangeRecords = nil, eachSigned(srs)
		}
		res, err := f.s.ApplyPeerStep(st)
		if err != nil {
			t.Fatal(err)
		}
		return f, res
	}
	whole, wres := run(0, false)
	parts, pres := run(7, false)
	if *wres != *pres || !pres.Applied || pres.Records != 5 || pres.Created != len(inStep) || pres.Updated != 1 {
		t.Fatalf("in one part %+v, in parts %+v", wres, pres)
	}
	// The records verified and spooled ahead of the step give the same.
	ahead, ares := run(7, true)
	if *ares != *pres {
		t.Fatalf("prepared ahead %+v, in parts %+v", ares, pres)
	}
	view := func(f *fixture, k string) []entries.Assessment {
		e, err := f.s.Entry(k)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return e.Assessments
	}
	for _, k := range keys {
		w, p, a := view(whole, k), view(parts, k), view(ahead, k)
		if !reflect.DeepEqual(w, p) || !reflect.DeepEqual(a, p) {
			t.Fatalf("%s: in one part %+v, in parts %+v, prepared ahead %+v", k, w, p, a)
		}
	}
	// The records apply in (origin, seq) order: the retraction (3) reached
	// the assessment of seq 2 only, not the later one (4).
	a := view(parts, inStep[0])
	if len(a) != 2 || a[0].OriginSeq != 2 || a[0].Retracted == nil || a[1].OriginSeq != 4 || a[1].Retracted != nil {
		t.Fatalf("first key: %+v", a)
	}
	if a := view(parts, held); len(a) != 1 || a[0].Retracted == nil || a[0].Retracted.Seq != 3 {
		t.Fatalf("held entry: %+v", a)
	}
	if a := view(parts, inStep[100]); len(a) != 1 || a[0].OriginSeq != 2 || a[0].Retracted != nil {
		t.Fatalf("a key of one record: %+v", a)
	}
	if err := parts.s.db.View(func(tx *store.Tx) error {
		for seq := uint64(1); seq <= 5; seq++ {
			if !tx.HasRecord("hub-de", seq) {
				return fmt.Errorf("record %d not stored", seq)
			}
		}
		if v := tx.PeerCursor("hub-de", "shared"); v != 7 {
			return fmt.Errorf("cursor %d", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// eachSigned yields records as a PeerStep's RangeRecords does.
func eachSigned(srs []records.Signed) func(fn func(records.Signed) error) error {
	return func(fn func(records.Signed) error) error {
		for _, sr := range srs {
			if err := fn(sr); err != nil {
				return err
			}
		}
		return nil
	}
}

// Records prepared ahead of a snapshot step with origins' keys that have
// changed since are verified again when the step is applied: a record
// whose origin was removed in between is not imported.
func TestPeerSnapshotPreparedWithOldKeys(t *testing.T) {
	keys := snapshotKeys(50, 0)
	f := newFixture(t)
	f.s.PeerBatch = 7
	deKey := registerPeer(t, f, "hub-de", "DE")
	frKey := registerPeer(t, f, "hub-fr", "FR")
	srs := []records.Signed{
		records.Sign(rec("hub-de", 1, records.KindAssessment, slices.Sorted(slices.Values(keys))...), deKey),
		records.Sign(rec("hub-fr", 1, records.KindAssessment, slices.Sorted(slices.Values(keys[:10]))...), frKey),
	}
	prep, err := f.s.PrepareSnapshotRecords(eachSigned(srs))
	if err != nil {
		t.Fatal(err)
	}
	defer prep.Close()
	if err := f.s.RemovePeer(f.admin, "hub-fr"); err != nil {
		t.Fatal(err)
	}
	res, err := f.s.ApplyPeerStep(&PeerStep{Peer: "hub-de", List: "shared", Version: 1, Snapshot: true,
		Changes: adds(keys...), RangeRecords: eachSigned(srs), Prepared: prep})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 1 || res.Unknown != 1 || res.Created != len(keys) {
		t.Fatalf("result %+v, want 1 record, 1 of an unknown origin, %d entries", res, len(keys))
	}
	e, err := f.s.Entry(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Assessments) != 1 || e.Assessments[0].Origin != "hub-de" {
		t.Fatalf("assessments %+v, want hub-de's only", e.Assessments)
	}
	if err := f.s.db.View(func(tx *store.Tx) error {
		if tx.HasRecord("hub-fr", 1) {
			return fmt.Errorf("the removed origin's record was stored")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
