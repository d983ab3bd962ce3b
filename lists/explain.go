package lists

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashhub/hashhub/entries"
)

// Describe says the policy in words, e.g. "2 independent illegal
// assessments from 2 organisations in 2 jurisdictions; baseline only".
func (p *Policy) Describe() string {
	var b strings.Builder
	b.WriteString(count(p.MinAssessments, "independent illegal assessment", "independent illegal assessments"))
	if p.MinOrgs > 1 {
		fmt.Fprintf(&b, " from %d organisations", p.MinOrgs)
	}
	if p.MinJurisdictions > 1 {
		fmt.Fprintf(&b, " in %d jurisdictions", p.MinJurisdictions)
	}
	if len(p.Categories) > 0 {
		cs := make([]string, len(p.Categories))
		for i, c := range p.Categories {
			cs[i] = string(c)
		}
		fmt.Fprintf(&b, "; %s only", strings.Join(cs, " and "))
	}
	if len(p.Algorithms) > 0 {
		fmt.Fprintf(&b, "; %s hashes", strings.Join(p.Algorithms, ", "))
	}
	if p.OpenReview {
		b.WriteString("; open review")
	} else {
		b.WriteString("; blind review")
	}
	return b.String()
}

// Explain says in words why the entry is or is not in a list with this
// policy, as an analyst reads it on the entry's page: "in the list: …" or
// "needs one more organisation from a jurisdiction other than NL".
func (p *Policy) Explain(e *entries.Entry) string {
	sf := p.Evaluate(e)
	switch sf.Blocked {
	case "":
	case "algorithm not on list":
		return fmt.Sprintf("not in the list: it does not take %s hashes", e.Algo)
	case "open dispute":
		return "not in the list while a dispute is open"
	case "assessed not_illegal":
		return "not in the list: an analyst assessed it not illegal"
	case "retracted":
		return "not in the list: every assessment of it was retracted"
	default:
		return "not in the list: " + sf.Blocked
	}
	users, orgSet, jurs := p.counting(e)
	slices.Sort(jurs)
	if sf.Qualifies() {
		return fmt.Sprintf("in the list: %s from %s in %s (%s)",
			count(len(users), "illegal assessment", "illegal assessments"),
			count(len(orgSet), "organisation", "organisations"),
			count(len(jurs), "jurisdiction", "jurisdictions"), strings.Join(jurs, ", "))
	}
	// A missing jurisdiction is also a missing organisation and a missing
	// assessment, so the needs are said once, the strictest first.
	var needs []string
	if sf.Jurisdictions > 0 {
		if len(jurs) == 0 {
			needs = append(needs, more(sf.Jurisdictions, false, "organisation", "organisations")+
				" in "+count(sf.Jurisdictions, "jurisdiction", "different jurisdictions"))
		} else if sf.Jurisdictions == 1 {
			needs = append(needs, "one more organisation from a jurisdiction other than "+strings.Join(jurs, " or "))
		} else {
			needs = append(needs, fmt.Sprintf("%d more organisations from %d different jurisdictions other than %s",
				sf.Jurisdictions, sf.Jurisdictions, strings.Join(jurs, " or ")))
		}
	}
	if n := sf.Orgs - sf.Jurisdictions; n > 0 {
		needs = append(needs, more(n, len(needs) > 0 || len(orgSet) > 0, "organisation", "organisations")+other(len(needs) > 0))
	}
	if n := sf.Assessments - max(sf.Orgs, sf.Jurisdictions); n > 0 {
		needs = append(needs, more(n, len(needs) > 0 || len(users) > 0, "analyst's assessment", "analysts' assessments"))
	}
	s := "needs " + strings.Join(needs, " and ")
	if len(p.Categories) > 0 && len(p.Categories) < 2 {
		s += fmt.Sprintf(" (only %s assessments count)", p.Categories[0])
	}
	return s
}

func count(n int, one, many string) string {
	if n == 1 {
		return "one " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// more says "one more organisation" or "2 organisations"; further is
// whether some already count (or another need came first).
func more(n int, further bool, one, many string) string {
	if !further {
		return count(n, one, many)
	}
	if n == 1 {
		return "one more " + one
	}
	return fmt.Sprintf("%d more %s", n, many)
}

// other notes, after a first need, that the rest may come from anywhere.
func other(after bool) string {
	if after {
		return " (any jurisdiction)"
	}
	return ""
}
