package audit

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func chain(n int) (raws [][]byte, head string) {
	prev := ""
	for i := 1; i <= n; i++ {
		e := Event{Seq: uint64(i), Time: time.Unix(int64(i), 0).UTC(), Actor: System, Action: "x", Object: "o", Digest: DigestOf(i), Prev: prev}
		e.Seal()
		b, _ := json.Marshal(e)
		raws = append(raws, b)
		prev = e.Hash
	}
	return raws, prev
}

func verify(raws [][]byte, seqs []uint64, headSeq uint64, head string) error {
	var v Verifier
	for i, r := range raws {
		if err := v.Add(seqs[i], r); err != nil {
			return err
		}
	}
	_, err := v.Finish(headSeq, head)
	return err
}

func seqs(n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(i + 1)
	}
	return s
}

func TestVerifier(t *testing.T) {
	raws, head := chain(5)
	if err := verify(raws, seqs(5), 5, head); err != nil {
		t.Fatalf("intact chain: %v", err)
	}
	brokenAt := func(err error) uint64 {
		var be *BrokenError
		if !errors.As(err, &be) || !errors.Is(err, ErrBroken) {
			t.Fatalf("want BrokenError, got %v", err)
		}
		return be.Seq
	}
	// Edited event 3.
	edited := append([][]byte(nil), raws...)
	var e Event
	_ = json.Unmarshal(raws[2], &e)
	e.Object = "other"
	edited[2], _ = json.Marshal(e)
	if got := brokenAt(verify(edited, seqs(5), 5, head)); got != 3 {
		t.Fatalf("edit caught at %d, want 3", got)
	}
	// Edited and resealed event 3: event 4 no longer links.
	e.Seal()
	edited[2], _ = json.Marshal(e)
	if got := brokenAt(verify(edited, seqs(5), 5, head)); got != 4 {
		t.Fatalf("resealed edit caught at %d, want 4", got)
	}
	// Deleted event 2.
	del := append([][]byte{raws[0]}, raws[2:]...)
	if got := brokenAt(verify(del, []uint64{1, 3, 4, 5}, 5, head)); got != 2 {
		t.Fatalf("deletion caught at %d, want 2", got)
	}
	// Deleted last event.
	if got := brokenAt(verify(raws[:4], seqs(4), 5, head)); got != 5 {
		t.Fatalf("truncation caught at %d, want 5", got)
	}
	// Garbage.
	if got := brokenAt(verify([][]byte{[]byte("{not json")}, seqs(1), 1, head)); got != 1 {
		t.Fatalf("garbage caught at %d", got)
	}
}
