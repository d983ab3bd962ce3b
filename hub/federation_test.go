package hub

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/records"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/translog"
)

// peerKeys registers a peer named id on f's node and returns the key its
// records are signed with.
func registerPeer(t *testing.T, f *fixture, id, jur string) ed25519.PrivateKey {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	nodePEM, _ := cryptoutils.MarshalPublicKeyToPEM(pub)
	rk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	relPEM, _ := cryptoutils.MarshalPublicKeyToPEM(&rk.PublicKey)
	_, lk, _ := ed25519.GenerateKey(rand.Reader)
	ls, err := translog.NewSigner("hashhub/"+id, lk)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.s.AddPeer(f.admin, peers.Peer{ID: id, Name: "Hotline " + id, Jurisdiction: jur, BaseURL: "http://127.0.0.1:1",
		NodeKeyPEM: string(nodePEM), ReleaseKeyPEM: string(relPEM), LogKey: ls.VerifierKey(), Lists: []string{"shared"}})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func hashKey(b byte) string {
	return "sha256:" + strings.Repeat(string("0123456789abcdef"[b%16])+"0", 32)
}

func rec(origin string, seq uint64, kind string, keys ...string) *records.Record {
	r := &records.Record{Format: records.Format, Origin: origin, Seq: seq, Kind: kind, Time: "2026-11-25T01:00:00Z",
		Org: "org_far", OrgJurisdiction: "DE", User: "usr_far"}
	if kind == records.KindAssessment {
		r.Verdict, r.Category = entries.Illegal, entries.Baseline
	} else {
		r.Reason = "withdrawn"
	}
	r.Keys = keys
	return r
}

func adds(keys ...string) []release.Change {
	var out []release.Change
	for _, k := range keys {
		h, _ := hashes.ParseKey(k)
		out = append(out, release.Change{Op: release.OpAdd, Item: release.Item{Algo: h.Algo, Value: h.Value}})
	}
	return out
}

func TestApplyPeerStep(t *testing.T) {
	f := newFixture(t)
	key := registerPeer(t, f, "hub-de", "DE")
	k1, k2 := hashKey(1), hashKey(2)
	step := &PeerStep{Peer: "hub-de", List: "shared", Version: 1, Changes: adds(k1, k2),
		Records: []records.Signed{records.Sign(rec("hub-de", 1, records.KindAssessment, k1, k2), key)}}
	res, err := f.s.ApplyPeerStep(step)
	if err != nil || !res.Applied || res.Records != 1 || res.Created != 2 {
		t.Fatalf("first step: %+v %v", res, err)
	}
	e, err := f.s.Entry(k1)
	if err != nil {
		t.Fatal(err)
	}
	a := e.Assessments[0]
	if len(e.Assessments) != 1 || a.Origin != "hub-de" || a.OriginSeq != 1 || a.OriginOrg != "org_far" ||
		a.OriginJur != "DE" || a.Org != "Hotline hub-de" || a.OrgJur != "DE" || !a.Active() {
		t.Fatalf("imported assessment: %+v", e.Assessments)
	}
	// A replayed step changes nothing.
	if res, err := f.s.ApplyPeerStep(step); err != nil || res.Applied {
		t.Fatalf("replay: %+v %v", res, err)
	}
	// Version 2: a retraction of k1 whose line did not change (k1 is not in
	// the step) still reaches the entry; own and unknown records are not
	// imported.
	own := records.Sign(rec("node-a", 1, records.KindAssessment, k2), key)
	unknown := records.Sign(rec("hub-xx", 1, records.KindAssessment, k2), key)
	res, err = f.s.ApplyPeerStep(&PeerStep{Peer: "hub-de", List: "shared", Version: 2,
		Records: []records.Signed{records.Sign(rec("hub-de", 2, records.KindRetraction, k1), key), own, unknown}})
	if err != nil || res.Own != 1 || res.Unknown != 1 || res.Updated != 1 {
		t.Fatalf("second step: %+v %v", res, err)
	}
	if e, _ := f.s.Entry(k1); e.Assessments[0].Retracted == nil || e.Assessments[0].Retracted.Seq != 2 {
		t.Fatalf("retraction not applied: %+v", e.Assessments[0])
	}
	if e, _ := f.s.Entry(k2); len(e.Assessments) != 1 {
		t.Fatalf("own or unknown record imported: %+v", e.Assessments)
	}
	// The old assessment coming round again does not undo the retraction.
	if _, err := f.s.ApplyPeerStep(&PeerStep{Peer: "hub-de", List: "shared", Version: 3, Changes: adds(k1),
		Records: []records.Signed{records.Sign(rec("hub-de", 1, records.KindAssessment, k1, k2), key)}}); err != nil {
		t.Fatal(err)
	}
	if e, _ := f.s.Entry(k1); e.Assessments[0].Retracted == nil {
		t.Fatal("an older record undid a retraction")
	}
}

func TestRetractionBeforeAssessment(t *testing.T) {
	f := newFixture(t)
	key := registerPeer(t, f, "hub-de", "DE")
	k := hashKey(3)
	// Through one relay the retraction (seq 5) arrives first…
	if _, err := f.s.ApplyPeerStep(&PeerStep{Peer: "hub-de", List: "shared", Version: 1, Changes: adds(k),
		Records: []records.Signed{records.Sign(rec("hub-de", 5, records.KindRetraction, k), key)}}); err != nil {
		t.Fatal(err)
	}
	// …through another the assessment it withdrew (seq 4).
	if _, err := f.s.ApplyPeerStep(&PeerStep{Peer: "hub-de", List: "shared", Version: 2, Changes: adds(k),
		Records: []records.Signed{records.Sign(rec("hub-de", 4, records.KindAssessment, k), key)}}); err != nil {
		t.Fatal(err)
	}
	e, err := f.s.Entry(k)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Assessments) != 1 || e.Assessments[0].Active() || e.Status() != "retracted" {
		t.Fatalf("late assessment counts: %+v", e.Assessments)
	}
	// A newer assessment by the same analyst counts again.
	if _, err := f.s.ApplyPeerStep(&PeerStep{Peer: "hub-de", List: "shared", Version: 3, Changes: adds(k),
		Records: []records.Signed{records.Sign(rec("hub-de", 6, records.KindAssessment, k), key)}}); err != nil {
		t.Fatal(err)
	}
	if e, _ := f.s.Entry(k); !e.Assessments[0].Active() {
		t.Fatalf("newer assessment: %+v", e.Assessments[0])
	}
}

func TestForgedRecordRefusesTheStep(t *testing.T) {
	f := newFixture(t)
	key := registerPeer(t, f, "hub-de", "DE")
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	k1, k2 := hashKey(4), hashKey(5)
	before := f.auditHead(t)
	_, err := f.s.ApplyPeerStep(&PeerStep{Peer: "hub-de", List: "shared", Version: 1, Changes: adds(k1, k2),
		Records: []records.Signed{records.Sign(rec("hub-de", 1, records.KindAssessment, k1), key),
			records.Sign(rec("hub-de", 2, records.KindAssessment, k2), other)}})
	if !errors.Is(err, ErrForgedRecord) {
		t.Fatalf("forged record: %v", err)
	}
	if _, err := f.s.Entry(k1); !errors.Is(err, entries.ErrNotFound) {
		t.Fatalf("part of a refused step was written: %v", err)
	}
	if c, _ := f.s.PeerCursor("hub-de", "shared"); c != 0 || f.auditHead(t) != before {
		t.Fatalf("cursor %d, audit moved", c)
	}
}

// Local changes are signed records: a submission, an import (one record
// per verdict per batch) and a retraction; a release lists the records
// its entries rest on.
func TestLocalRecords(t *testing.T) {
	f := newFixture(t)
	withPublisher(t, f)
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	f.s.SetRecordKey(key)
	h, _ := hashes.Parse("sha256", strings.Repeat("aa", 32), nil)
	if _, _, err := f.s.Submit(f.nl, h, entries.Input{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Retract(f.nl, h.Key(), "duplicate of another report"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Submit(f.gb, h, entries.Input{Severity: "B"}); err != nil {
		t.Fatal(err)
	}
	// The entry qualifies for two-orgs (NL retracted, GB stands: it does
	// not) — so use a one-assessment list.
	if _, err := f.s.CreateList(f.admin, lists.List{Name: "any", Policy: lists.Policy{MinAssessments: 1}}); err != nil {
		t.Fatal(err)
	}
	m, err := f.s.BuildRelease(f.admin, "any")
	if err != nil || m.Entries != 1 {
		t.Fatalf("release: %+v %v", m, err)
	}
	var served []uint64
	if err := f.s.ListRecords("any", 0, 0, func(sr records.Signed) error {
		r, err := sr.Verify(pub)
		if err != nil {
			return err
		}
		served = append(served, r.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(served) != 3 || served[0] != 1 || served[2] != 3 {
		t.Fatalf("records served with the release: %v", served)
	}
	var got []*records.Record
	err = f.s.db.View(func(tx *store.Tx) error {
		for seq := uint64(1); seq <= 3; seq++ {
			sr, err := tx.Record("node-a", seq)
			if err != nil {
				return err
			}
			r, err := sr.Verify(pub)
			if err != nil {
				return err
			}
			got = append(got, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Kind != records.KindAssessment || got[0].Org != f.nl.Org || got[1].Kind != records.KindRetraction ||
		got[1].Reason != "duplicate of another report" || got[2].Org != f.gb.Org || got[2].Severity != "B" {
		t.Fatalf("records: %+v %+v %+v", got[0], got[1], got[2])
	}
	e, _ := f.s.Entry(h.Key())
	for _, a := range e.Assessments {
		if a.OriginSeq == 0 {
			t.Fatalf("assessment without its record: %+v", a)
		}
	}
}

func (f *fixture) auditHead(t *testing.T) uint64 {
	t.Helper()
	var n uint64
	if err := f.s.db.View(func(tx *store.Tx) error {
		var err error
		n, _, err = tx.AuditHead()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
