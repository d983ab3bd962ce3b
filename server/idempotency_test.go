package server_test

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/server"
	"github.com/hashhub/hashhub/store"
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
			problem(t, http.StatusUnprocessableEntity, "invalid-input")
		if p.Field != "Idempotency-Key" {
			t.Errorf("field %q", p.Field)
		}
		tn.unchanged(t, before, "a refused key")
	})

	t.Run("a user's secret is never kept for replay", func(t *testing.T) {
		org := tn.newOrg("Hotline FI", orgs.Hotline, "FI")
		h := map[string]string{"Idempotency-Key": "new-user-1"}
		first := tn.do(request{method: "POST", path: "/v1/orgs/" + org + "/users", token: tn.admin.Token,
			ctype: "application/json", body: []byte(`{"name":"Analyst"}`), header: h})
		var nu struct {
			ClientSecret string `json:"client_secret"`
		}
		first.decode(t, http.StatusCreated, &nu)
		if nu.ClientSecret == "" {
			t.Fatal("no secret in the first answer")
		}
		again := tn.do(request{method: "POST", path: "/v1/orgs/" + org + "/users", token: tn.admin.Token,
			ctype: "application/json", body: []byte(`{"name":"Analyst"}`), header: h})
		p := again.problem(t, http.StatusConflict, "idempotency-replay-withheld")
		if strings.Contains(string(again.body), nu.ClientSecret) || !strings.Contains(p.Detail, "201") {
			t.Fatalf("replay: %s", again.body)
		}
		var users server.UserList
		tn.get("/v1/orgs/"+org+"/users", tn.admin.Token).decode(t, http.StatusOK, &users)
		if len(users.Users) != 1 {
			t.Fatalf("%d users after a retried creation", len(users.Users))
		}
		// The secret is nowhere in the store file.
		raw, err := os.ReadFile(tn.n.DB.Path())
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(nu.ClientSecret)) {
			t.Fatal("the client secret is stored in the database")
		}
	})

	t.Run("an import under a reused key still imports its own body", func(t *testing.T) {
		hl := tn.member(orgs.Hotline, "NL")
		imp := func(body string) *response {
			return tn.do(request{method: "POST", path: "/v1/hashes/import", token: hl.Token, ctype: "application/x-ndjson",
				body: []byte(body), header: map[string]string{"Idempotency-Key": "import-1"}})
		}
		imp(`{"algo":"md5","value":"`+strings.Repeat("a1", 16)+`"}`+"\n").decode(t, http.StatusOK, nil)
		// Imports keep no replay record: the second body is imported, not
		// silently answered with the first one's result.
		var res struct {
			Created int `json:"created"`
		}
		imp(`{"algo":"md5","value":"`+strings.Repeat("b2", 16)+`"}`+"\n"+`{"algo":"md5","value":"`+strings.Repeat("c3", 16)+`"}`+"\n").
			decode(t, http.StatusOK, &res)
		if res.Created != 2 {
			t.Fatalf("second import under the same key created %d entries", res.Created)
		}
		tn.get("/v1/hashes/md5/"+strings.Repeat("c3", 16), hl.Token).decode(t, http.StatusOK, nil)
	})

	t.Run("expired records are swept", func(t *testing.T) {
		n, err := tn.n.Server.SweepIdempotency()
		if err != nil || n != 0 {
			t.Fatalf("fresh records swept: %d %v", n, err)
		}
		err = tn.n.DB.Update(func(tx *store.Tx) error {
			return tx.PutIdem("old", &store.IdemRecord{Status: 201, Time: time.Now().Add(-server.IdempotencyTTL - time.Minute).Unix()})
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := tn.n.Server.SweepIdempotency(); err != nil || n != 1 {
			t.Fatalf("swept %d, %v; want 1", n, err)
		}
	})
}
