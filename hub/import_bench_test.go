package hub

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/ingest"
)

// BenchmarkImportWithList imports 200,000 new hashes into a node with a
// list (newFixture's two-orgs), so that every entry written is also filed
// in the review index: the index's cost on the bulk path.
func BenchmarkImportWithList(b *testing.B) {
	const n = 200_000
	var body strings.Builder
	for i := range n {
		fmt.Fprintf(&body, `{"algo":"sha256","value":"%064x"}`+"\n", i+1)
	}
	for b.Loop() {
		b.StopTimer()
		f := newFixture(b)
		b.StartTimer()
		res, err := f.s.Import(f.nl, ingest.NewNDJSON(strings.NewReader(body.String()), ingest.DefaultMaxLine), "bench", nil)
		if err != nil || res.Created != n {
			b.Fatalf("import: %+v %v", res, err)
		}
	}
}
