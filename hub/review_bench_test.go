package hub

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/lists"
)

// BenchmarkReviewQueue measures one queue page (50 entries) with 100,000
// entries waiting, on a real bbolt store: for an analyst of another
// organisation (the page is the first 50 keys of the index), and for an
// analyst of the organisation that submitted them all (the worst case:
// every key is passed over, none decoded, and the page is empty).
func BenchmarkReviewQueue(b *testing.B) {
	const n = 100_000
	f := newReviewFixture(b, lists.List{Name: "two", Policy: lists.Policy{MinAssessments: 2, MinOrgs: 2, MinJurisdictions: 2}})
	var body strings.Builder
	for i := range n {
		fmt.Fprintf(&body, `{"algo":"sha256","value":"%064x"}`+"\n", i+1)
	}
	res, err := f.s.Import(f.nl, ingest.NewNDJSON(strings.NewReader(body.String()), ingest.DefaultMaxLine), "bench", nil)
	if err != nil || res.Created != n {
		b.Fatalf("import: %+v %v", res, err)
	}
	for _, c := range []struct {
		name  string
		a     Actor
		items int
	}{{"other-org", f.gb, 50}, {"submitting-org", f.nl2, 0}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				r, err := f.s.Review(c.a, 0, 50)
				if err != nil || len(r.Entries) != c.items {
					b.Fatalf("queue: %d entries, %v", len(r.Entries), err)
				}
			}
		})
	}
}
