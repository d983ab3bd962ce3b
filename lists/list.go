// Package lists defines hash lists: named views over entries whose policy of
// independent human assessments decides what may reach a platform.
package lists

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/text"
)

// Errors callers map to responses.
var (
	ErrInvalid  = errors.New("invalid list")
	ErrNotFound = errors.New("list not found")
	ErrExists   = errors.New("list already exists")
)

// FieldError names the field at fault.
type FieldError struct{ Field, Reason string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap makes every FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Policy says which entries are verified enough to publish on a list.
type Policy struct {
	// Algorithms admitted; empty admits every registered algorithm.
	Algorithms []string `json:"algorithms,omitempty"`
	// Categories of assessment that count; empty counts baseline and national.
	Categories []entries.Category `json:"categories,omitempty"`
	// MinAssessments is the number of independent illegal assessments
	// (distinct analysts) required. At least 1.
	MinAssessments int `json:"min_assessments"`
	// MinOrgs is the number of distinct organisations among them.
	MinOrgs int `json:"min_orgs"`
	// MinJurisdictions is the number of distinct jurisdictions among them.
	MinJurisdictions int `json:"min_jurisdictions"`
	// OpenReview turns blind review off for the list. Under blind review
	// (the default) an analyst does not see the other analysts' verdicts
	// on an entry the list takes until their own organisation has given
	// its own, so that each assessment is an independent judgement and
	// not an echo of the first one.
	OpenReview bool `json:"open_review,omitempty"`
}

// Takes reports whether the policy admits the entry's algorithm at all.
func (p *Policy) Takes(algo string) bool {
	return len(p.Algorithms) == 0 || slices.Contains(p.Algorithms, algo)
}

// Readers says who may read a list's releases.
type Readers struct {
	Orgs  []string    `json:"orgs,omitempty"`
	Roles []orgs.Role `json:"roles,omitempty"`
}

// List is a named, policy-defined view over entries.
type List struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Policy      Policy    `json:"policy"`
	Readers     Readers   `json:"readers"`
	Created     time.Time `json:"created"`
	CreatedBy   string    `json:"created_by"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Validate checks the list and puts it in canonical form.
func (l *List) Validate() error {
	if err := text.Name("name", l.Name); err != nil {
		return err
	}
	if !nameRE.MatchString(l.Name) {
		return &FieldError{"name", fmt.Sprintf("%q must be 1–64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit", l.Name)}
	}
	if err := text.Note("description", l.Description); err != nil {
		return err
	}
	if len(l.Description) > 2000 {
		return &FieldError{"description", "longer than 2000 bytes"}
	}
	p := &l.Policy
	for _, a := range p.Algorithms {
		if _, err := hashes.Lookup(a); err != nil {
			return &FieldError{"policy.algorithms", err.Error()}
		}
	}
	p.Algorithms = sortedUnique(p.Algorithms)
	for _, c := range p.Categories {
		if c != entries.Baseline && c != entries.National {
			return &FieldError{"policy.categories", fmt.Sprintf("%q is not one of baseline, national", c)}
		}
	}
	p.Categories = sortedUnique(p.Categories)
	if p.MinAssessments < 1 || p.MinAssessments > 100 {
		return &FieldError{"policy.min_assessments", "must be between 1 and 100"}
	}
	if p.MinOrgs < 1 {
		p.MinOrgs = 1
	}
	if p.MinJurisdictions < 1 {
		p.MinJurisdictions = 1
	}
	if p.MinOrgs > p.MinAssessments {
		return &FieldError{"policy.min_orgs", "cannot exceed min_assessments (each organisation counts at least one assessment)"}
	}
	if p.MinJurisdictions > p.MinOrgs {
		return &FieldError{"policy.min_jurisdictions", "cannot exceed min_orgs (each jurisdiction needs an organisation)"}
	}
	for _, r := range l.Readers.Roles {
		if !r.Valid() {
			return &FieldError{"readers.roles", fmt.Sprintf("%q is not a role", r)}
		}
	}
	l.Readers.Roles = sortedUnique(l.Readers.Roles)
	l.Readers.Orgs = sortedUnique(l.Readers.Orgs)
	return nil
}

func sortedUnique[T ~string](s []T) []T {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// CanRead reports whether an organisation may read the list. Admins always
// may; otherwise the organisation or its role must be named.
func (l *List) CanRead(org string, role orgs.Role) bool {
	return role == orgs.Admin || slices.Contains(l.Readers.Orgs, org) || slices.Contains(l.Readers.Roles, role)
}

// Shortfall is how far an entry is from meeting a policy. All zero and no
// Blocked reason means it qualifies.
type Shortfall struct {
	Blocked       string `json:"blocked,omitempty"`
	Assessments   int    `json:"assessments"`
	Orgs          int    `json:"orgs"`
	Jurisdictions int    `json:"jurisdictions"`
}

// Qualifies reports whether the shortfall is nothing at all.
func (s Shortfall) Qualifies() bool {
	return s.Blocked == "" && s.Assessments == 0 && s.Orgs == 0 && s.Jurisdictions == 0
}

// OneShort reports whether a single further assessment, from a new
// organisation in a new jurisdiction, would make the entry qualify.
func (s Shortfall) OneShort() bool {
	return s.Blocked == "" && !s.Qualifies() && s.Assessments <= 1 && s.Orgs <= 1 && s.Jurisdictions <= 1
}

// Evaluate measures an entry against the policy. An entry outside the
// policy's algorithms is Blocked with that reason.
func (p *Policy) Evaluate(e *entries.Entry) Shortfall {
	if len(p.Algorithms) > 0 && !slices.Contains(p.Algorithms, e.Algo) {
		return Shortfall{Blocked: "algorithm not on list"}
	}
	if b := e.Blocked(); b != "" {
		return Shortfall{Blocked: b}
	}
	users, orgSet, jurs := p.counting(e)
	return Shortfall{
		Assessments:   max(0, p.MinAssessments-len(users)),
		Orgs:          max(0, p.MinOrgs-len(orgSet)),
		Jurisdictions: max(0, p.MinJurisdictions-len(jurs)),
	}
}

// counting returns the distinct analysts, organisations and jurisdictions
// of the assessments that count for the policy, in the assessments' order.
// Evaluate counts them; Explain names them.
func (p *Policy) counting(e *entries.Entry) (users, orgSet, jurs []string) {
	for i := range e.Assessments {
		a := &e.Assessments[i]
		if !a.Active() || a.Verdict != entries.Illegal {
			continue
		}
		if len(p.Categories) > 0 && !slices.Contains(p.Categories, a.Category) {
			continue
		}
		users = appendUnique(users, a.Origin+"/"+a.User)
		orgSet = appendUnique(orgSet, a.Origin+"/"+a.Org)
		jurs = appendUnique(jurs, a.OrgJur)
	}
	return users, orgSet, jurs
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
