package hub

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashhub/hashhub/reports"
	"github.com/hashhub/hashhub/store"
)

// BenchmarkTakedowns measures the takedown page's two reads (the board
// and the weekly trend) over 10,000 notices of 20 providers, a quarter
// of them removed: both scan every notice.
func BenchmarkTakedowns(b *testing.B) {
	const n, providers = 10_000, 20
	db, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := New(db, "node-a")
	if _, _, err := s.Bootstrap("Admins", "NL"); err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	r := NewReports(s, ReportConfig{Jurisdiction: "NL"})
	admin := Actor{User: "usr_admin", Org: "org_admin", Role: "admin"}
	err = db.Update(func(tx *store.Tx) error {
		for i := range n {
			sent := now.Add(-time.Duration(i%(80*24)) * time.Hour)
			nt := &reports.Notice{ID: fmt.Sprintf("ntc_%06d", i), Report: fmt.Sprintf("rep_%06d", i),
				URL: fmt.Sprintf("https://p%d.example/%d", i%providers, i), Provider: fmt.Sprintf("org_p%02d", i%providers),
				ProviderName: fmt.Sprintf("Host %d", i%providers), Status: reports.Sent, Created: sent, SentAt: &sent,
				History: []reports.Change{{At: sent, Status: reports.Queued, By: "node"}, {At: sent, Status: reports.Sent, By: "node"}}}
			if i%4 == 0 {
				rm := sent.Add(time.Duration(1+i%70) * time.Hour)
				nt.Status, nt.RemovedAt = reports.Removed, &rm
			}
			if err := tx.PutNotice(nt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		bd, err := r.Takedowns(admin, TakedownFilter{})
		if err != nil || bd.Matching != n*3/4 {
			b.Fatalf("%v %d", err, bd.Matching)
		}
		if _, err := r.RemovalTrends(admin, DefaultTrendWeeks); err != nil {
			b.Fatal(err)
		}
	}
}
