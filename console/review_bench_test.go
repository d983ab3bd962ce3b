package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/store"
)

// BenchmarkQueuePage measures the review queue page's server time (the
// queue read from the index, the day's count, the template rendered) with
// 100,000 entries waiting on a real bbolt store, for an analyst of an
// organisation that assessed none of them.
func BenchmarkQueuePage(b *testing.B) {
	const n = 100_000
	db, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	h := hub.New(db, "node-a")
	if _, _, err := h.Bootstrap("Admins", "NL"); err != nil {
		b.Fatal(err)
	}
	admin := hub.Actor{User: "usr_admin", Org: "org_admin", Role: orgs.Admin, Jurisdiction: "NL"}
	actor := func(jur string) hub.Actor {
		o, err := h.CreateOrg(admin, orgs.Org{Name: "Hotline " + jur, Kind: orgs.Hotline, Jurisdiction: jur})
		if err != nil {
			b.Fatal(err)
		}
		u, err := h.CreateUser(admin, o.ID, "analyst")
		if err != nil {
			b.Fatal(err)
		}
		return hub.Actor{User: u.User.ID, Org: o.ID, Role: orgs.Hotline, Jurisdiction: jur}
	}
	nl, gb := actor("NL"), actor("GB")
	if _, err := h.CreateList(admin, lists.List{Name: "verified", Policy: lists.Policy{MinAssessments: 2, MinOrgs: 2, MinJurisdictions: 2}}); err != nil {
		b.Fatal(err)
	}
	var body strings.Builder
	for i := range n {
		fmt.Fprintf(&body, `{"algo":"sha256","value":"%064x","severity":"B"}`+"\n", i+1)
	}
	if res, err := h.Import(nl, ingest.NewNDJSON(strings.NewReader(body.String()), ingest.DefaultMaxLine), "bench", nil); err != nil || res.Created != n {
		b.Fatalf("import: %+v %v", res, err)
	}
	cn, err := New(Config{Hub: h})
	if err != nil {
		b.Fatal(err)
	}
	s := &Session{User: gb.User, UserName: "analyst", Org: gb.Org, OrgName: "Hotline GB", Role: orgs.Hotline, Jurisdiction: "GB", CSRF: "x"}
	gin.SetMode(gin.ReleaseMode)
	var size int
	for b.Loop() {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest(http.MethodGet, Prefix+"/review", nil)
		cn.review(c, s)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `class="mono hash"`) {
			b.Fatalf("queue page: %d", w.Code)
		}
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size), "page-bytes")
}
