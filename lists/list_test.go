package lists

import (
	"testing"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/orgs"
)

func illegal(user, org, jur string) entries.Assessment {
	return entries.Assessment{ID: "n/" + user, Verdict: entries.Illegal, Category: entries.Baseline,
		User: user, Org: org, OrgJur: jur, Origin: "n", Time: time.Unix(1, 0)}
}

func entry(as ...entries.Assessment) *entries.Entry {
	return &entries.Entry{Hash: hashes.Hash{Algo: "md5", Value: "00112233445566778899aabbccddeeff"}, Assessments: as}
}

func TestEvaluate(t *testing.T) {
	p := Policy{MinAssessments: 2, MinOrgs: 2, MinJurisdictions: 2}
	notIllegal := illegal("u9", "o9", "DE")
	notIllegal.Verdict = entries.NotIllegal
	overruled := notIllegal
	overruled.OverruledBy = "dsp_1"
	retracted := illegal("u2", "o2", "GB")
	retracted.Retracted = &entries.Retraction{Reason: "error"}
	national := illegal("u2", "o2", "GB")
	national.Category = entries.National

	cases := []struct {
		name     string
		p        Policy
		e        *entries.Entry
		want     Shortfall
		oneShort bool
	}{
		{"none", p, entry(), Shortfall{Blocked: "retracted"}, false},
		{"one", p, entry(illegal("u1", "o1", "NL")), Shortfall{Assessments: 1, Orgs: 1, Jurisdictions: 1}, true},
		{"same org twice", p, entry(illegal("u1", "o1", "NL"), illegal("u2", "o1", "NL")), Shortfall{Orgs: 1, Jurisdictions: 1}, true},
		{"two orgs one jurisdiction", p, entry(illegal("u1", "o1", "NL"), illegal("u2", "o2", "NL")), Shortfall{Jurisdictions: 1}, true},
		{"qualifies", p, entry(illegal("u1", "o1", "NL"), illegal("u2", "o2", "GB")), Shortfall{}, false},
		{"not_illegal blocks", p, entry(illegal("u1", "o1", "NL"), illegal("u2", "o2", "GB"), notIllegal), Shortfall{Blocked: "assessed not_illegal"}, false},
		{"overruled does not block", p, entry(illegal("u1", "o1", "NL"), illegal("u2", "o2", "GB"), overruled), Shortfall{}, false},
		{"retracted does not count", p, entry(illegal("u1", "o1", "NL"), retracted), Shortfall{Assessments: 1, Orgs: 1, Jurisdictions: 1}, true},
		{"category filter", Policy{MinAssessments: 2, MinOrgs: 2, MinJurisdictions: 2, Categories: []entries.Category{entries.Baseline}},
			entry(illegal("u1", "o1", "NL"), national), Shortfall{Assessments: 1, Orgs: 1, Jurisdictions: 1}, true},
		{"algorithm filter", Policy{MinAssessments: 1, MinOrgs: 1, MinJurisdictions: 1, Algorithms: []string{"sha256"}},
			entry(illegal("u1", "o1", "NL")), Shortfall{Blocked: "algorithm not on list"}, false},
		{"two short", Policy{MinAssessments: 3, MinOrgs: 3, MinJurisdictions: 1}, entry(illegal("u1", "o1", "NL")), Shortfall{Assessments: 2, Orgs: 2}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.p.Evaluate(c.e)
			if got != c.want {
				t.Fatalf("Evaluate = %+v, want %+v", got, c.want)
			}
			if got.Qualifies() != (c.want == Shortfall{}) {
				t.Fatalf("Qualifies = %v", got.Qualifies())
			}
			if got.OneShort() != c.oneShort {
				t.Fatalf("OneShort = %v, want %v", got.OneShort(), c.oneShort)
			}
		})
	}
	open := entry(illegal("u1", "o1", "NL"), illegal("u2", "o2", "GB"))
	open.OpenDisputes = []string{"dsp_1"}
	if got := p.Evaluate(open); got.Blocked != "open dispute" {
		t.Fatalf("open dispute: %+v", got)
	}
}

func TestValidate(t *testing.T) {
	ok := List{Name: "baseline-2", Policy: Policy{MinAssessments: 2, MinOrgs: 2}, Readers: Readers{Roles: []orgs.Role{orgs.Platform, orgs.Platform}}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if ok.Policy.MinJurisdictions != 1 || len(ok.Readers.Roles) != 1 {
		t.Fatalf("not normalised: %+v", ok)
	}
	bad := []struct {
		field string
		l     List
	}{
		{"name", List{Name: "Bad Name", Policy: Policy{MinAssessments: 1}}},
		{"name", List{Name: "", Policy: Policy{MinAssessments: 1}}},
		{"policy.min_assessments", List{Name: "a", Policy: Policy{MinAssessments: 0}}},
		{"policy.min_orgs", List{Name: "a", Policy: Policy{MinAssessments: 1, MinOrgs: 2}}},
		{"policy.min_jurisdictions", List{Name: "a", Policy: Policy{MinAssessments: 2, MinOrgs: 2, MinJurisdictions: 3}}},
		{"policy.algorithms", List{Name: "a", Policy: Policy{MinAssessments: 1, Algorithms: []string{"crc32"}}}},
		{"policy.categories", List{Name: "a", Policy: Policy{MinAssessments: 1, Categories: []entries.Category{"local"}}}},
		{"readers.roles", List{Name: "a", Policy: Policy{MinAssessments: 1}, Readers: Readers{Roles: []orgs.Role{"god"}}}},
	}
	for _, b := range bad {
		err := b.l.Validate()
		fe, isFE := err.(*FieldError)
		if !isFE || fe.Field != b.field {
			t.Errorf("%+v: got %v, want field %s", b.l, err, b.field)
		}
	}
}
