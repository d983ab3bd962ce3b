package lists

import (
	"testing"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
)

func ill(user, org, jur string, cat entries.Category) entries.Assessment {
	return entries.Assessment{Verdict: entries.Illegal, Category: cat, User: user, Org: org, OrgJur: jur, Origin: "n1"}
}

func TestExplainWording(t *testing.T) {
	nl := ill("u1", "o1", "NL", entries.Baseline)
	nl2 := ill("u2", "o1", "NL", entries.Baseline)
	de := ill("u3", "o2", "DE", entries.Baseline)
	nat := ill("u4", "o3", "FR", entries.National)
	notIllegal := entries.Assessment{Verdict: entries.NotIllegal, Category: entries.Baseline, User: "u9", Org: "o9", OrgJur: "BE", Origin: "n1"}
	pol := func(a, o, j int) Policy { return Policy{MinAssessments: a, MinOrgs: o, MinJurisdictions: j} }
	cases := []struct {
		name string
		p    Policy
		as   []entries.Assessment
		open []string
		want string
	}{
		{"two jurisdictions, one given", pol(2, 2, 2), []entries.Assessment{nl}, nil,
			"needs one more organisation from a jurisdiction other than NL"},
		{"two jurisdictions, two analysts of one", pol(2, 2, 2), []entries.Assessment{nl, nl2}, nil,
			"needs one more organisation from a jurisdiction other than NL"},
		{"three jurisdictions, one given", pol(3, 3, 3), []entries.Assessment{nl}, nil,
			"needs 2 more organisations from 2 different jurisdictions other than NL"},
		{"two organisations anywhere", pol(2, 2, 1), []entries.Assessment{nl}, nil,
			"needs one more organisation"},
		{"three analysts, two organisations", pol(3, 2, 1), []entries.Assessment{nl}, nil,
			"needs one more organisation and one more analyst's assessment"},
		{"four analysts, two jurisdictions", pol(4, 3, 2), []entries.Assessment{nl}, nil,
			"needs one more organisation from a jurisdiction other than NL and one more organisation (any jurisdiction) and one more analyst's assessment"},
		{"met", pol(2, 2, 2), []entries.Assessment{nl, de}, nil,
			"in the list: 2 illegal assessments from 2 organisations in 2 jurisdictions (DE, NL)"},
		{"baseline only, a national one does not count", Policy{MinAssessments: 1, MinOrgs: 1, MinJurisdictions: 1, Categories: []entries.Category{entries.Baseline}},
			[]entries.Assessment{nat}, nil, "needs one organisation in one jurisdiction (only baseline assessments count)"},
		{"not illegal", pol(1, 1, 1), []entries.Assessment{nl, notIllegal}, nil,
			"not in the list: an analyst assessed it not illegal"},
		{"dispute", pol(1, 1, 1), []entries.Assessment{nl}, []string{"dsp_1"},
			"not in the list while a dispute is open"},
		{"algorithm", Policy{MinAssessments: 1, MinOrgs: 1, MinJurisdictions: 1, Algorithms: []string{"pdq"}}, []entries.Assessment{nl}, nil,
			"not in the list: it does not take sha256 hashes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &entries.Entry{Hash: hashes.Hash{Algo: "sha256", Value: "ab"}, Assessments: c.as, OpenDisputes: c.open}
			if got := c.p.Explain(e); got != c.want {
				t.Errorf("Explain:\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	p := Policy{MinAssessments: 2, MinOrgs: 2, MinJurisdictions: 2, Categories: []entries.Category{entries.Baseline}}
	if got, want := p.Describe(), "2 independent illegal assessments from 2 organisations in 2 jurisdictions; baseline only; blind review"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	p = Policy{MinAssessments: 1, OpenReview: true}
	if got, want := p.Describe(), "one independent illegal assessment; open review"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
