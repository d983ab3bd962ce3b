package entries

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestInputNormalize(t *testing.T) {
	got, err := Input{Category: National, Jurisdictions: []string{"nl", "DE", "NL"}}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if got.Verdict != Illegal || !reflect.DeepEqual(got.Jurisdictions, []string{"DE", "NL"}) {
		t.Fatalf("normalised %+v", got)
	}
	if got, _ := (Input{}).Normalize(); got.Verdict != Illegal || got.Category != Baseline {
		t.Fatalf("defaults %+v", got)
	}
	bad := map[string]Input{
		"verdict":       {Verdict: "maybe"},
		"category":      {Category: "local"},
		"severity":      {Severity: "D"},
		"jurisdictions": {Category: National},
	}
	for field, in := range bad {
		_, err := in.Normalize()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", field, err)
		}
	}
	if _, err := (Input{Category: Baseline, Jurisdictions: []string{"NL"}}).Normalize(); err == nil {
		t.Error("baseline with jurisdictions accepted")
	}
	if _, err := (Input{Category: National, Jurisdictions: []string{"EU"}}).Normalize(); err == nil {
		t.Error("EU accepted as a jurisdiction")
	}
}

func TestAssessReplacesPerUserAndRetract(t *testing.T) {
	e := &Entry{}
	t0 := time.Unix(100, 0)
	a := Assessment{ID: "n/u1", Verdict: Illegal, Category: Baseline, Org: "o1", User: "u1", Origin: "n", Time: t0}
	if !e.Assess(a) || e.Assess(a) {
		t.Fatal("the same assessment twice counted as two changes")
	}
	a.Severity = SeverityA
	if !e.Assess(a) || len(e.Assessments) != 1 || e.Assessments[0].Severity != SeverityA {
		t.Fatalf("a user's new verdict did not replace the old: %+v", e.Assessments)
	}
	b := Assessment{ID: "m/u1", Verdict: Illegal, Category: Baseline, Org: "o1", User: "u1", Origin: "m", Time: t0}
	if !e.Assess(b) || len(e.Assessments) != 2 {
		t.Fatal("the same user id from another origin is another analyst")
	}
	// Retraction withdraws only this origin's assessments of the org.
	if n := e.Retract("o1", "n", Retraction{User: "u1", Reason: "error", Time: t0}); n != 1 {
		t.Fatalf("retracted %d", n)
	}
	if e.Status() != "active" || !e.HasActive() {
		t.Fatalf("status %s", e.Status())
	}
	e.Retract("o1", "m", Retraction{User: "u1", Reason: "error", Time: t0})
	if e.Status() != "retracted" {
		t.Fatalf("status %s", e.Status())
	}
}
