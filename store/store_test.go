package store

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
)

func sampleEntry() *entries.Entry {
	q := 87
	t0 := time.Date(2026, 11, 25, 1, 2, 3, 456, time.UTC)
	return &entries.Entry{
		Hash:         hashes.Hash{Algo: "pdq", Value: strings.Repeat("0f", 32), Quality: &q},
		Created:      t0,
		Updated:      t0.Add(time.Hour),
		OpenDisputes: []string{"dsp_000000000001"},
		Assessments: []entries.Assessment{
			{ID: "n/u1", Verdict: entries.Illegal, Category: entries.National, Jurisdictions: []string{"DE", "NL"},
				Severity: entries.SeverityA, Note: "ünïcode note", Org: "o1", OrgJur: "NL", User: "u1", Origin: "n", Time: t0,
				OriginSeq: 7, OriginOrg: "org_far", OriginJur: "DE"},
			{ID: "n/u2", Verdict: entries.NotIllegal, Category: entries.Baseline, Org: "o2", OrgJur: "GB", User: "u2", Origin: "n",
				Time: t0, OverruledBy: "dsp_2", Retracted: &entries.Retraction{User: "u2", Reason: "error", Time: t0, Seq: 9}},
		},
		RetractMarks: []entries.RetractMark{{Origin: "far", Org: "org_far", Seq: 12}},
	}
}

func TestEntryCodecRoundTrip(t *testing.T) {
	for _, e := range []*entries.Entry{
		sampleEntry(),
		{Hash: hashes.Hash{Algo: "photodna", Value: "ab+/cd=="}, Assessments: []entries.Assessment{}},
		{Hash: hashes.Hash{Algo: "md5", Value: "00112233445566778899aabbccddeeff"}, Assessments: []entries.Assessment{}},
	} {
		raw := encodeEntry(nil, e)
		got, err := decodeEntry(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, e)
		}
		// Every truncation is refused, never a panic or a partial entry.
		for i := 0; i < len(raw); i++ {
			if _, err := decodeEntry(raw[:i]); err == nil {
				t.Fatalf("truncated at %d decoded", i)
			}
		}
	}
}

func TestHashBytesAreCompactAndReversible(t *testing.T) {
	h := hashes.Hash{Algo: "sha256", Value: strings.Repeat("ab", 32)}
	k := appendHashBytes(nil, h.Algo, h.Value)
	if len(k) != 1+6+1+32 {
		t.Fatalf("sha256 hash bytes are %d bytes", len(k))
	}
	algo, value, err := parseHashBytes(k)
	if err != nil || algo != h.Algo || value != h.Value {
		t.Fatalf("parse: %s %s %v", algo, value, err)
	}
	raw := appendHashBytes(nil, "photodna", "AB+/")
	if _, v, _ := parseHashBytes(raw); v != "AB+/" {
		t.Fatalf("raw value: %q", v)
	}
}

// TestIndexKeyCollisions stores two hashes under one index key, as two
// real hashes sharing the first 8 bytes of their digest would be, and
// reads each back.
func TestIndexKeyCollisions(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := &entries.Entry{Hash: hashes.Hash{Algo: "md5", Value: strings.Repeat("aa", 16)}, Assessments: []entries.Assessment{}}
	b := &entries.Entry{Hash: hashes.Hash{Algo: "md5", Value: strings.Repeat("bb", 16)}, Assessments: []entries.Assessment{}}
	shared := IndexKey(a.Hash)
	err = db.Update(func(tx *Tx) error {
		if err := tx.PutEntry(a, shared); err != nil {
			return err
		}
		return tx.PutEntry(b, shared) // forced collision
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		for _, want := range []*entries.Entry{a, b} {
			got, err := tx.EntryByIndexKey(shared, want.Hash)
			if err != nil || got.Value != want.Value || got.Seq != want.Seq {
				t.Fatalf("collision lookup of %s: %+v %v", want.Value, got, err)
			}
		}
		c := hashes.Hash{Algo: "md5", Value: strings.Repeat("cc", 16)}
		if _, err := tx.EntryByIndexKey(shared, c); !errors.Is(err, ErrNotFound) {
			t.Fatalf("third hash under the shared key: %v", err)
		}
		return nil
	})
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeEntry(nil, sampleEntry()))
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := decodeEntry(raw)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes.
		if again := encodeEntry(nil, e); !bytes.Equal(again, raw) {
			// Non-canonical varints can decode; they must still decode
			// to the same entry.
			e2, err := decodeEntry(again)
			if err != nil || !reflect.DeepEqual(e, e2) {
				t.Fatalf("re-encode differs: %v", err)
			}
		}
	})
}

func TestEntriesStoreAndFeed(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e := sampleEntry()
	other := &entries.Entry{Hash: hashes.Hash{Algo: "md5", Value: strings.Repeat("11", 16)}, Assessments: []entries.Assessment{}}
	err = db.Update(func(tx *Tx) error {
		if err := tx.PutEntry(e, nil); err != nil {
			return err
		}
		return tx.PutEntry(other, nil)
	})
	if err != nil || e.Seq != 1 || other.Seq != 2 {
		t.Fatalf("put: seqs %d %d, %v", e.Seq, other.Seq, err)
	}
	// An update is recorded in the change feed; creations are not.
	e.Assessments[0].Note = "updated"
	if err := db.Update(func(tx *Tx) error { return tx.PutEntry(e, nil) }); err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		got, err := tx.Entry(e.Key())
		if err != nil || got.Assessments[0].Note != "updated" || got.Seq != 1 {
			t.Fatalf("read back: %+v %v", got, err)
		}
		if _, err := tx.Entry("md5:" + strings.Repeat("22", 16)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing entry: %v", err)
		}
		var changed []uint64
		tx.ChangesAfter(0, func(_, seq uint64) (bool, error) { changed = append(changed, seq); return true, nil })
		if !reflect.DeepEqual(changed, []uint64{1}) {
			t.Fatalf("change feed: %v", changed)
		}
		var order []string
		tx.EntriesByCreated(0, func(e *entries.Entry) (bool, error) { order = append(order, e.Algo); return true, nil })
		if !reflect.DeepEqual(order, []string{"pdq", "md5"}) {
			t.Fatalf("creation order: %v", order)
		}
		if n := tx.EntryCount(); n != 2 {
			t.Fatalf("count %d", n)
		}
		return nil
	})
}
