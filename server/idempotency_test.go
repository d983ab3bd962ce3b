package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/server"
)

func TestIdempotencyKey(t *testing.T) {
	tn := newTestNode(t)
	second := tn.newUser(tn.admin.Org, orgs.Admin, "NL", "second admin")

	post := func(token, key, body string) *response {
		h := map[string]string{}
		if key != "" {
			h["Idempotency-Key"] = key
		}
		return tn.do(request{method: "POST", path: "/v1/orgs", token: token, ctype: "application/json", body: []byte(body), header: h})
	}
	orgsNamed := func(name string) int {
		var page server.OrgPage
		tn.get("/v1/orgs?limit=1000", tn.admin.Token).decode(t, http.StatusOK, &page)
		n := 0
		for _, o := range page.Orgs {
			if o.Name == name {
				n++
			}
		}
		return n
	}
	body := `{"name":"Hotline DE","kind":"hotline","jurisdiction":"DE"}`

	t.Run("same key and body replays", func(t *testing.T) {
		before := tn.state()
		first := post(tn.admin.Token, "create-de", body)
		first.decode(t, http.StatusCreated, nil)
		if first.header.Get("Idempotent-Replayed") != "" {
			t.Fatal("first answer marked as replayed")
		}
		for range 2 {
			again := post(tn.admin.Token, "create-de", body)
			again.decode(t, http.StatusCreated, nil)
			if again.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay without Idempotent-Replayed: true; headers %v", again.header)
			}
			if !bytes.Equal(again.body, first.body) {
				t.Fatalf("replayed body differs:\n%s\n%s", first.body, again.body)
			}
			if ct := again.header.Get("Content-Type"); ct != first.header.Get("Content-Type") {
				t.Fatalf("replayed Content-Type %q, first %q", ct, first.header.Get("Content-Type"))
			}
		}
		if n := orgsNamed("Hotline DE"); n != 1 {
			t.Fatalf("%d organisations created", n)
		}
		after := tn.state()
		if after.AuditSeq != before.AuditSeq+1 {
			t.Fatalf("%d audit events for one creation", after.AuditSeq-before.AuditSeq)
		}
		// Without the key the same body is a new request: the name is taken.
		post(tn.admin.Token, "", body).problem(t, http.StatusConflict, "already-exists")
	})

	t.Run("same key, different body", func(t *testing.T) {
		before := tn.state()
		p := post(tn.admin.Token, "create-de", `{"name":"Hotline BE","kind":"hotline","jurisdiction":"BE"}`).
			problem(t, http.StatusUnprocessableEntity, "idempotency-key-reused")
		if !strings.Contains(p.Detail, "Idempotency-Key") {
			t.Errorf("detail %q", p.Detail)
		}
		tn.unchanged(t, before, "a reused key")
		if n := orgsNamed("Hotline BE"); n != 0 {
			t.Fatalf("%d organisations created with a reused key", n)
		}
	})

	t.Run("different users are independent", func(t *testing.T) {
		before := tn.state()
		a := post(tn.admin.Token, "shared-key", `{"name":"Hotline FR","kind":"hotline","jurisdiction":"FR"}`)
		a.decode(t, http.StatusCreated, nil)
		b := post(second.Token, "shared-key", `{"name":"Hotline IT","kind":"hotline","jurisdiction":"IT"}`)
		b.decode(t, http.StatusCreated, nil)
		if b.header.Get("Idempotent-Replayed") != "" || bytes.Equal(a.body, b.body) {
			t.Fatalf("second user's request answered from the first user's key: %s", b.body)
		}
		if orgsNamed("Hotline FR") != 1 || orgsNamed("Hotline IT") != 1 {
			t.Fatal("both organisations should exist once")
		}
		if after := tn.state(); after.AuditSeq != before.AuditSeq+2 {
			t.Fatalf("%d audit events for two creations", after.AuditSeq-before.AuditSeq)
		}
	})

	t.Run("same key on another route is independent", func(t *testing.T) {
		r := tn.do(request{method: "POST", path: "/v1/lists", token: tn.admin.Token, ctype: "application/json",
			body: []byte(`{"name":"idem","policy":{"min_assessments":1}}`), header: map[string]string{"Idempotency-Key": "create-de"}})
		r.decode(t, http.StatusCreated, nil)
		if r.header.Get("Idempotent-Replayed") != "" {
			t.Fatal("answered from another route's key")
		}
	})

	t.Run("hash submission replays", func(t *testing.T) {
		hot := tn.member(orgs.Hotline, "NL")
		v := sha256Hex()
		h := map[string]string{"Idempotency-Key": "create-de"}
		r := tn.do(request{method: "POST", path: "/v1/hashes", token: hot.Token, ctype: "application/json",
			body: []byte(`{"algo":"sha256","value":"` + v + `"}`), header: h})
		r.decode(t, http.StatusCreated, nil)
		before := tn.state()
		again := tn.do(request{method: "POST", path: "/v1/hashes", token: hot.Token, ctype: "application/json",
			body: []byte(`{"algo":"sha256","value":"` + v + `"}`), header: h})
		again.decode(t, http.StatusCreated, nil) // the first answer, replayed (a fresh submit would be 200)
		if again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatal("hash submission not replayed")
		}
		tn.unchanged(t, before, "a replayed submission")
	})

	t.Run("a failed request is not stored", func(t *testing.T) {
		bad := `{"name":"","kind":"hotline","jurisdiction":"DE"}`
		post(tn.admin.Token, "fails-first", bad).problem(t, http.StatusUnprocessableEntity, "invalid-input")
		// The key was not used up by the failure: a corrected request with
		// a different body still counts as a first request.
		r := post(tn.admin.Token, "fails-first", `{"name":"Hotline AT","kind":"hotline","jurisdiction":"AT"}`)
		r.decode(t, http.StatusCreated, nil)
		if r.header.Get("Idempotent-Replayed") != "" {
			t.Fatal("replayed a failure")
		}
	})

	t.Run("key too long", func(t *testing.T) {
		before := tn.state()
		p := post(tn.admin.Token, strings.Repeat("k", 256), `{"name":"Hotline PL","kind":"hotline","jurisdiction":"PL"}`).
			problem(t, http.StatusBadRequest, "invalid-input")
		if p.Field != "Idempotency-Key" {
			t.Errorf("field %q", p.Field)
		}
		tn.unchanged(t, before, "a refused key")
	})
}
