package hub

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/store"
)

// A release leaves none of the store's pages it read mapped in the node's
// resident set: steady state is the node's own memory, not the file's.
func TestReleaseLetsGoOfMappedPages(t *testing.T) {
	f := newFixture(t)
	withPublisher(t, f)
	if _, err := f.s.CreateList(f.admin, lists.List{Name: "big", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	importN := func(from, n int) {
		t.Helper()
		var b strings.Builder
		for i := from; i < from+n; i++ {
			fmt.Fprintf(&b, "{\"algo\":\"md5\",\"value\":\"%032x\"}\n", uint64(i)*0x9e3779b97f4a7c15)
		}
		res, err := f.s.Import(f.nl, ingest.NewNDJSON(strings.NewReader(b.String()), ingest.DefaultMaxLine), fmt.Sprintf("i%d", from), nil)
		if err != nil || res.Created != n {
			t.Fatalf("import: %+v, %v", res, err)
		}
	}
	resident := func() int64 {
		t.Helper()
		n, err := f.s.DB().MappedResident()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	importN(0, 40_000)
	if _, err := f.s.BuildRelease(f.admin, "big"); err != nil {
		t.Fatal(err)
	}
	importN(40_000, 4_000)
	// The release reads the new entries and the buckets they land in
	// through the map: measure what a read of the same leaves behind.
	var members int
	if err := f.s.DB().View(func(tx *store.Tx) error {
		ls, err := tx.ListState("big", false)
		if err != nil {
			return err
		}
		ls.Members(func([]byte) bool { members++; return true })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if read := resident(); members != 40_000 || read < 1<<20 {
		t.Fatalf("reading %d members left %d bytes of the store resident: the test cannot tell", members, read)
	}
	m, err := f.s.BuildRelease(f.admin, "big")
	if err != nil || m.Version != 2 || m.Entries != 44_000 {
		t.Fatalf("version 2: %+v, %v", m, err)
	}
	if after := resident(); after > 256<<10 {
		t.Fatalf("after the release %d bytes of the store are resident in this process", after)
	}
}
