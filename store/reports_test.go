package store

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hashhub/hashhub/reports"
)

// TestUnroutedBackfill: a store from before the unrouted list (no such
// bucket) gets its reports with an unrouted URL listed, oldest first, and
// their status corrected, once, when it is opened; routed reports stay as
// they were.
func TestUnroutedBackfill(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	old := []*reports.Report{
		{ID: "rep_b", Status: reports.Routed, Received: t0.Add(2 * time.Hour), Routes: []reports.Route{{Destination: reports.DestLocal}, {Destination: reports.DestUnrouted}}},
		{ID: "rep_a", Status: reports.Routed, Received: t0.Add(time.Hour), Routes: []reports.Route{{Destination: reports.DestUnrouted}}},
		{ID: "rep_c", Status: reports.Routed, Received: t0, Routes: []reports.Route{{Destination: reports.DestLocal}}},
	}
	err = db.Update(func(tx *Tx) error {
		for _, r := range old {
			if err := tx.PutReport(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// As an older version left it: no unrouted bucket.
	if err := db.Bolt().Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bUnrouted) }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for range 2 { // the second open changes nothing
		db, err = Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = db.View(func(tx *Tx) error {
			items, err := tx.Unrouted(0, 10)
			if err != nil {
				return err
			}
			if len(items) != 2 || items[0].Report != "rep_a" || items[1].Report != "rep_b" || tx.UnroutedCount() != 2 {
				t.Errorf("unrouted %+v", items)
			}
			for id, want := range map[string]string{"rep_a": reports.Unrouted, "rep_b": reports.Unrouted, "rep_c": reports.Routed} {
				if r, err := tx.Report(id); err != nil || r.Status != want {
					t.Errorf("%s: %+v %v, want %s", id, r, err, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}
