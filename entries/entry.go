// Package entries holds hashhub's record of a hash: the entry, the human
// assessments made of it, platform feedback and the disputes that put a
// human back in the loop. It knows nothing about storage or HTTP.
package entries

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/jurisdiction"
	"github.com/hashhub/hashhub/text"
)

// Verdict is an analyst's finding on an entry.
type Verdict string

// Verdicts.
const (
	Illegal    Verdict = "illegal"
	NotIllegal Verdict = "not_illegal"
)

// Category says where the material is illegal.
type Category string

// Categories: baseline is illegal everywhere by INTERPOL's baseline
// criteria; national is illegal in the named jurisdictions.
const (
	Baseline Category = "baseline"
	National Category = "national"
)

// Severity is the UK sentencing scale (A most severe) the IWF uses.
type Severity string

// Severities.
const (
	SeverityA Severity = "A"
	SeverityB Severity = "B"
	SeverityC Severity = "C"
)

// Errors callers map to responses. Validation errors are *FieldError and
// unwrap to ErrInvalid.
var (
	ErrInvalid          = errors.New("invalid input")
	ErrNotFound         = errors.New("entry not found")
	ErrNothingToRetract = errors.New("nothing to retract")
	ErrDisputeNotFound  = errors.New("dispute not found")
	ErrDisputeClosed    = errors.New("dispute already resolved")
	ErrOwnDispute       = errors.New("the disputing organisation cannot resolve its own dispute")
)

// FieldError names the field at fault and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap makes every FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Limits on free text, so one record cannot grow without bound.
const (
	MaxNoteLen   = 2000
	MaxReasonLen = 2000
)

// Assessment is one analyst's verdict on an entry. Assessments are a set
// keyed by (origin node, user): a user who assesses again replaces their
// earlier verdict, and an assessment that comes back round a loop of peers
// adds nothing.
type Assessment struct {
	ID            string      `json:"id"`
	Verdict       Verdict     `json:"verdict"`
	Category      Category    `json:"category"`
	Jurisdictions []string    `json:"jurisdictions,omitempty"`
	Severity      Severity    `json:"severity,omitempty"`
	Note          string      `json:"note,omitempty"`
	Org           string      `json:"org"`
	OrgJur        string      `json:"org_jurisdiction"`
	User          string      `json:"user"`
	Origin        string      `json:"origin"`
	Time          time.Time   `json:"time"`
	Retracted     *Retraction `json:"retracted,omitempty"`
	// OverruledBy is set on a not_illegal assessment whose dispute was
	// upheld: it stays in the history but no longer blocks the entry.
	OverruledBy string `json:"overruled_by,omitempty"`
	// OriginSeq is the sequence number of the origin-signed record that
	// made this assessment (see package records); OriginOrg and OriginJur
	// are the organisation and its jurisdiction as the origin names them.
	// On an imported assessment Org and OrgJur say how it counts here.
	OriginSeq uint64 `json:"origin_seq,omitempty"`
	OriginOrg string `json:"origin_org,omitempty"`
	OriginJur string `json:"origin_org_jurisdiction,omitempty"`
}

// Retraction records who withdrew an assessment and why.
type Retraction struct {
	User   string    `json:"user"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
	// Seq is the origin-signed retraction record's sequence number.
	Seq uint64 `json:"seq,omitempty"`
}

// RetractMark remembers the newest retraction an origin's organisation
// made of an entry, so that an older assessment of that organisation that
// arrives late (through another relay) is recorded as withdrawn.
type RetractMark struct {
	Origin string `json:"origin"`
	Org    string `json:"org"`
	Seq    uint64 `json:"seq"`
}

// Active reports whether the assessment still counts.
func (a *Assessment) Active() bool { return a.Retracted == nil && a.OverruledBy == "" }

// Verdict input as it arrives from a user, before it becomes an Assessment.
type Input struct {
	Verdict       Verdict  `json:"verdict"`
	Category      Category `json:"category"`
	Jurisdictions []string `json:"jurisdictions,omitempty"`
	Severity      Severity `json:"severity,omitempty"`
	Note          string   `json:"note,omitempty"`
}

// Normalize validates the input and returns it in canonical form. An empty
// verdict means illegal (submitting a hash is asserting it); an empty
// category means baseline.
func (in Input) Normalize() (Input, error) {
	switch in.Verdict {
	case "":
		in.Verdict = Illegal
	case Illegal, NotIllegal:
	default:
		return in, &FieldError{"verdict", fmt.Sprintf("%q is not one of illegal, not_illegal", in.Verdict)}
	}
	switch in.Category {
	case "":
		in.Category = Baseline
	case Baseline, National:
	default:
		return in, &FieldError{"category", fmt.Sprintf("%q is not one of baseline, national", in.Category)}
	}
	switch in.Severity {
	case "", SeverityA, SeverityB, SeverityC:
	default:
		return in, &FieldError{"severity", fmt.Sprintf("%q is not one of A, B, C", in.Severity)}
	}
	if in.Category == National && in.Verdict == Illegal && len(in.Jurisdictions) == 0 {
		return in, &FieldError{"jurisdictions", "a national assessment names the jurisdictions where the material is illegal"}
	}
	if in.Category == Baseline && len(in.Jurisdictions) > 0 {
		return in, &FieldError{"jurisdictions", "only national assessments name jurisdictions"}
	}
	if len(in.Jurisdictions) > 300 {
		return in, &FieldError{"jurisdictions", "too many jurisdictions"}
	}
	var js []string
	for _, j := range in.Jurisdictions {
		n, err := jurisdiction.Normalize(j)
		if err != nil {
			return in, &FieldError{"jurisdictions", err.Error()}
		}
		if !slices.Contains(js, n) {
			js = append(js, n)
		}
	}
	slices.Sort(js)
	in.Jurisdictions = js
	if err := text.Note("note", in.Note); err != nil {
		return in, err
	}
	if len(in.Note) > MaxNoteLen {
		return in, &FieldError{"note", fmt.Sprintf("longer than %d bytes", MaxNoteLen)}
	}
	return in, nil
}

// Entry is a hash and everything humans said about it.
type Entry struct {
	hashes.Hash
	// Seq is the entry's position in the store, in creation order; the
	// store sets it and it serves as a cursor. Zero means not yet stored.
	Seq         uint64       `json:"-"`
	Created     time.Time    `json:"created"`
	Updated     time.Time    `json:"updated"`
	Assessments []Assessment `json:"assessments"`
	// OpenDisputes lists the ids of unresolved disputes; while it is not
	// empty the entry is left out of every list.
	OpenDisputes []string `json:"open_disputes,omitempty"`
	// RetractMarks are the retractions received from other origins.
	RetractMarks []RetractMark `json:"retract_marks,omitempty"`
}

// Assess adds a's verdict, replacing an earlier one by the same user from
// the same origin. It reports whether anything changed.
func (e *Entry) Assess(a Assessment) bool {
	for i := range e.Assessments {
		old := &e.Assessments[i]
		if old.Origin == a.Origin && old.User == a.User {
			if sameVerdict(old, &a) && old.Active() {
				return false
			}
			a.ID = old.ID
			*old = a
			e.Updated = a.Time
			return true
		}
	}
	e.Assessments = append(e.Assessments, a)
	e.Updated = a.Time
	return true
}

func sameVerdict(a, b *Assessment) bool {
	return a.Verdict == b.Verdict && a.Category == b.Category && a.Severity == b.Severity &&
		slices.Equal(a.Jurisdictions, b.Jurisdictions) && a.Note == b.Note && a.Org == b.Org
}

// Retract withdraws every active assessment the organisation made on this
// node and returns how many it withdrew.
func (e *Entry) Retract(org, origin string, r Retraction) int {
	n := 0
	for i := range e.Assessments {
		a := &e.Assessments[i]
		if a.Org == org && a.Origin == origin && a.Retracted == nil {
			rr := r
			a.Retracted = &rr
			n++
		}
	}
	if n > 0 {
		e.Updated = r.Time
	}
	return n
}

// Blocked reports why the entry may not be published at all, or "".
func (e *Entry) Blocked() string {
	if len(e.OpenDisputes) > 0 {
		return "open dispute"
	}
	for i := range e.Assessments {
		a := &e.Assessments[i]
		if a.Active() && a.Verdict == NotIllegal {
			return "assessed not_illegal"
		}
	}
	if !e.HasActive() {
		return "retracted"
	}
	return ""
}

// HasActive reports whether any assessment still counts.
func (e *Entry) HasActive() bool {
	for i := range e.Assessments {
		if e.Assessments[i].Active() {
			return true
		}
	}
	return false
}

// Status summarises the entry for readers: active, disputed, not_illegal or retracted.
func (e *Entry) Status() string {
	switch e.Blocked() {
	case "open dispute":
		return "disputed"
	case "assessed not_illegal":
		return "not_illegal"
	case "retracted":
		return "retracted"
	}
	return "active"
}

// Feedback is a platform's report on an entry it matched.
type Feedback struct {
	ID      string    `json:"id"`
	Entry   string    `json:"entry"`
	Kind    string    `json:"kind"`
	Note    string    `json:"note,omitempty"`
	Org     string    `json:"org"`
	User    string    `json:"user"`
	Time    time.Time `json:"time"`
	Dispute string    `json:"dispute,omitempty"`
}

// Feedback kinds.
const (
	ConfirmedMatch = "confirmed_match"
	FalsePositive  = "false_positive"
)

// Dispute is an open question about an entry that only a human analyst of
// another organisation may close.
type Dispute struct {
	ID         string      `json:"id"`
	Entry      string      `json:"entry"`
	Source     string      `json:"source"` // "assessment" or "feedback"
	SourceID   string      `json:"source_id"`
	Org        string      `json:"org"`
	User       string      `json:"user"`
	Reason     string      `json:"reason,omitempty"`
	Opened     time.Time   `json:"opened"`
	Status     string      `json:"status"` // open, upheld, overturned
	Resolution *Resolution `json:"resolution,omitempty"`
}

// Dispute states.
const (
	DisputeOpen       = "open"
	DisputeUpheld     = "upheld"
	DisputeOverturned = "overturned"
)

// Resolution is an analyst's decision on a dispute.
type Resolution struct {
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason"`
	Org     string    `json:"org"`
	User    string    `json:"user"`
	Time    time.Time `json:"time"`
}

// CloseDispute removes id from the entry's open disputes and, when the
// dispute came from a not_illegal assessment that is upheld, sets that
// assessment aside so it stops blocking the entry.
func (e *Entry) CloseDispute(d *Dispute) {
	e.OpenDisputes = slices.DeleteFunc(e.OpenDisputes, func(s string) bool { return s == d.ID })
	if d.Status == DisputeUpheld && d.Source == "assessment" {
		for i := range e.Assessments {
			a := &e.Assessments[i]
			if a.ID == d.SourceID && a.Verdict == NotIllegal && a.Active() {
				a.OverruledBy = d.ID
			}
		}
	}
	if d.Resolution != nil {
		e.Updated = d.Resolution.Time
	}
}
