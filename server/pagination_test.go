package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/server"
)

// TestPagination walks organisations page by page: every organisation is
// seen once, and a page that ends exactly at the last one has no cursor.
func TestPagination(t *testing.T) {
	tn := newTestNode(t)
	for i := 0; i < 5; i++ {
		tn.newOrg(fmt.Sprintf("Org %d", i), orgs.Hotline, "NL")
	}
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		var p server.OrgPage
		tn.get("/v1/orgs?limit=3&cursor="+cursor, tn.admin.Token).decode(t, http.StatusOK, &p)
		pages++
		for _, o := range p.Orgs {
			if seen[o.ID] {
				t.Fatalf("organisation %s on two pages", o.ID)
			}
			seen[o.ID] = true
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(seen) != 6 || pages != 2 { // 5 + the admins'
		t.Fatalf("saw %d organisations on %d pages", len(seen), pages)
	}
	var p server.OrgPage
	tn.get("/v1/orgs?limit=6", tn.admin.Token).decode(t, http.StatusOK, &p)
	if len(p.Orgs) != 6 || p.NextCursor != "" {
		t.Fatalf("exactly full page: %d orgs, cursor %q", len(p.Orgs), p.NextCursor)
	}
	for _, bad := range []string{"0", "1001", "x", "-1"} {
		tn.get("/v1/orgs?limit="+bad, tn.admin.Token).problem(t, http.StatusUnprocessableEntity, "invalid-input")
	}
}

// TestRetractIsReplayable: a retried retraction with the same key gets the
// first answer rather than 409 nothing-to-retract.
func TestRetractIsReplayable(t *testing.T) {
	tn := newTestNode(t)
	hl := tn.member(orgs.Hotline, "NL")
	v := strings.Repeat("ab", 16)
	tn.postJSON("/v1/hashes", hl.Token, map[string]string{"algo": "md5", "value": v}).decode(t, http.StatusCreated, nil)
	retract := func() *response {
		return tn.do(request{method: "POST", path: "/v1/hashes/md5/" + v + "/retract", token: hl.Token, ctype: "application/json",
			body: []byte(`{"reason":"submitted in error"}`), header: map[string]string{"Idempotency-Key": "r1"}})
	}
	first := retract()
	first.decode(t, http.StatusOK, nil)
	again := retract()
	again.decode(t, http.StatusOK, nil)
	if again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Fatalf("retry not replayed: %s", again.body)
	}
}
