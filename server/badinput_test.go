package server_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/server"
	"github.com/hashhub/hashhub/store"
)

// badFixture is a node with an entry, a list the platform reads it on and
// an open dispute, so that requests about them get past "not found" and
// reach validation.
type badFixture struct {
	tn      *testNode
	roles   map[orgs.Role]*principal
	entry   string // sha256 value submitted by the hotline, on list "platform"
	dispute string // opened by the platform's false-positive feedback
}

func newBadFixture(t *testing.T) *badFixture {
	tn := newTestNode(t)
	f := &badFixture{tn: tn, roles: tn.everyRole(), entry: sha256Hex()}
	tn.postJSON("/v1/lists", tn.admin.Token, map[string]any{"name": "platform", "policy": map[string]any{"min_assessments": 1},
		"readers": map[string]any{"roles": []string{"platform"}}}).decode(t, http.StatusCreated, nil)
	hot := f.roles[orgs.Hotline].Token
	tn.postJSON("/v1/hashes", hot, map[string]any{"algo": "sha256", "value": f.entry}).decode(t, http.StatusCreated, nil)
	disputed := sha256Hex()
	tn.postJSON("/v1/hashes", hot, map[string]any{"algo": "sha256", "value": disputed}).decode(t, http.StatusCreated, nil)
	var fb struct {
		Dispute string `json:"dispute"`
	}
	tn.postJSON("/v1/hashes/sha256/"+disputed+"/feedback", f.roles[orgs.Platform].Token, map[string]any{"kind": "false_positive"}).
		decode(t, http.StatusCreated, &fb)
	f.dispute = fb.Dispute
	return f
}

// endpoint is a body-taking endpoint with the role that may call it and a
// valid body.
type endpoint struct {
	name  string
	role  orgs.Role
	path  string
	valid string // a valid JSON body
}

func (f *badFixture) jsonEndpoints() []endpoint {
	e := "/v1/hashes/sha256/" + f.entry
	return []endpoint{
		{"submit", orgs.Hotline, "/v1/hashes", `{"algo":"sha256","value":"` + sha256Hex() + `"}`},
		{"orgs", orgs.Admin, "/v1/orgs", `{"name":"Valid org","kind":"hotline","jurisdiction":"NL"}`},
		{"lists", orgs.Admin, "/v1/lists", `{"name":"valid","policy":{"min_assessments":1}}`},
		{"assess", orgs.LawEnforcement, e + "/assessments", `{"verdict":"illegal"}`},
		{"feedback", orgs.Platform, e + "/feedback", `{"kind":"confirmed_match"}`},
		{"retract", orgs.Hotline, e + "/retract", `{"reason":"submitted in error"}`},
		{"resolve", orgs.Hotline, "/v1/disputes/" + f.dispute + "/resolve", `{"outcome":"upheld","reason":"re-assessed"}`},
	}
}

// badCase is one refused request.
type badCase struct {
	name   string
	role   orgs.Role
	path   string
	ctype  string
	body   []byte
	status int
	slug   string
	field  string // the problem's field, when the cause is a field
	cause  string // a substring of detail (or field) naming the cause
}

func (f *badFixture) check(t *testing.T, c badCase) server.Problem {
	t.Helper()
	r := f.tn.do(request{method: "POST", path: c.path, token: f.roles[c.role].Token, ctype: c.ctype, body: c.body})
	if r.status >= 500 {
		t.Fatalf("server error %d: %s", r.status, r.body)
	}
	p := r.problem(t, c.status, c.slug)
	if c.field != "" && p.Field != c.field {
		t.Errorf("field %q, want %q (detail %q)", p.Field, c.field, p.Detail)
	}
	if !strings.Contains(p.Detail, c.cause) && !strings.Contains(p.Field, c.cause) {
		t.Errorf("detail %q (field %q) does not name the cause %q", p.Detail, p.Field, c.cause)
	}
	return p
}

func TestBadInputGeneric(t *testing.T) {
	f := newBadFixture(t)
	before := f.tn.state()
	var cases []badCase
	for _, e := range f.jsonEndpoints() {
		add := func(name, ctype, body string, status int, slug, cause string) {
			cases = append(cases, badCase{name: e.name + "/" + name, role: e.role, path: e.path, ctype: ctype, body: []byte(body),
				status: status, slug: slug, cause: cause})
		}
		js := "application/json"
		withField := strings.TrimSuffix(e.valid, "}") + `,"colour":"red"}`
		add("unknown field", js, withField, 400, "malformed-request", `"colour"`)
		add("malformed JSON", js, `{"a" "b"}`, 400, "malformed-request", "malformed JSON at byte")
		add("truncated JSON", js, e.valid[:len(e.valid)-1], 400, "malformed-request", "unexpected EOF")
		add("trailing data", js, e.valid+` {"more":1}`, 400, "malformed-request", "after the JSON object")
		add("trailing brace", js, e.valid+`}`, 400, "malformed-request", "after the JSON object")
		add("two objects", js, e.valid+e.valid, 400, "malformed-request", "after the JSON object")
		add("empty body", js, "", 400, "malformed-request", "empty")
		add("null", js, "null", 400, "malformed-request", "not null")
		add("null with spaces", js, " null\n", 400, "malformed-request", "not null")
		add("not UTF-8", js, strings.TrimSuffix(e.valid, "}")+`,"colour":"r`+"\xff"+`d"}`, 400, "invalid-text", "colour")
		add("charset latin1", js+"; charset=iso-8859-1", e.valid, 415, "unsupported-content-type", "iso-8859-1")
		add("charset utf-16", js+"; charset=UTF-16", e.valid, 415, "unsupported-content-type", "UTF-16")
		add("array", js, "["+e.valid+"]", 400, "malformed-request", "must be a JSON object, not an array")
		add("text/plain", "text/plain", e.valid, 415, "unsupported-content-type", "text/plain")
		add("no content type", "", e.valid, 415, "unsupported-content-type", "none")
		add("form", "application/x-www-form-urlencoded", "a=b", 415, "unsupported-content-type", "application/x-www-form-urlencoded")
		add("unparsable content type", "json;;", e.valid, 415, "unsupported-content-type", "json;;")
		add("image/jpeg", "image/jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF", 415, "media-refused", "image/jpeg")
		add("video/mp4", "video/mp4", "\x00\x00\x00\x18ftypmp42", 415, "media-refused", "video/mp4")
		add("multipart", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n--x--\r\n",
			415, "media-refused", "multipart/form-data")
		add("octet-stream", "application/octet-stream", "\x00\x01", 415, "media-refused", "application/octet-stream")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.check(t, c)
			f.tn.unchanged(t, before, c.name)
		})
	}

	// Every JSON endpoint refuses a 10 MB body, whether it declares its
	// length (refused before reading) or streams it (refused at the cap).
	t.Run("10 MB", func(t *testing.T) {
		big := func(valid string) []byte {
			pad := strings.Repeat("a", 10<<20)
			return []byte(strings.TrimSuffix(valid, "}") + `,"note":"` + pad + `"}`)
		}
		for _, e := range f.jsonEndpoints() {
			t.Run(e.name, func(t *testing.T) {
				t.Parallel()
				f.check(t, badCase{role: e.role, path: e.path, ctype: "application/json", body: big(e.valid),
					status: 413, slug: "body-too-large", cause: "limit"})
			})
			t.Run(e.name+"/streamed", func(t *testing.T) {
				t.Parallel()
				r := f.tn.do(request{method: "POST", path: e.path, token: f.roles[e.role].Token, ctype: "application/json",
					reader: bytes.NewReader(big(e.valid))})
				p := r.problem(t, 413, "body-too-large")
				if !strings.Contains(p.Detail, "limit") {
					t.Errorf("detail %q", p.Detail)
				}
			})
		}
	})
	f.tn.unchanged(t, before, "10 MB bodies")
}

func TestBadInputFields(t *testing.T) {
	f := newBadFixture(t)
	before := f.tn.state()
	e := "/v1/hashes/sha256/" + f.entry
	h, a, p := orgs.Hotline, orgs.Admin, orgs.Platform
	le := orgs.LawEnforcement
	v63, v65 := sha256Hex()[:63], sha256Hex()+"a"
	notHex := "zz" + sha256Hex()[2:]
	var pdn [144]byte
	rand.Read(pdn[:])
	photodna := base64.StdEncoding.EncodeToString(pdn[:])
	long := strings.Repeat("x", 2001)

	cases := []badCase{
		// POST /v1/hashes
		{name: "submit/sha256 too short", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + v63 + `"}`), status: 422, slug: "invalid-input", field: "value", cause: "64 hex characters, got 63"},
		{name: "submit/sha256 too long", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + v65 + `"}`), status: 422, slug: "invalid-input", field: "value", cause: "got 65"},
		{name: "submit/md5 of sha256 length", role: h, path: "/v1/hashes", body: js(`{"algo":"md5","value":"` + sha256Hex() + `"}`), status: 422, slug: "invalid-input", field: "value", cause: "32 hex characters"},
		{name: "submit/sha1 wrong length", role: h, path: "/v1/hashes", body: js(`{"algo":"sha1","value":"` + sha256Hex()[:41] + `"}`), status: 422, slug: "invalid-input", field: "value", cause: "40 hex characters"},
		{name: "submit/non-hex", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + notHex + `"}`), status: 422, slug: "invalid-input", field: "value", cause: `"z" at position 1 is not hex`},
		{name: "submit/0x prefix", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"0x` + sha256Hex()[2:] + `"}`), status: 422, slug: "invalid-input", field: "value", cause: "0x"},
		{name: "submit/inner space", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + sha256Hex()[:32] + " " + sha256Hex()[:31] + `"}`), status: 422, slug: "invalid-input", field: "value", cause: "not hex"},
		{name: "submit/unknown algorithm", role: h, path: "/v1/hashes", body: js(`{"algo":"sha512","value":"` + sha256Hex() + `"}`), status: 422, slug: "unknown-algorithm", field: "algo", cause: "sha512"},
		{name: "submit/upper-case algorithm", role: h, path: "/v1/hashes", body: js(`{"algo":"SHA256","value":"` + sha256Hex() + `"}`), status: 422, slug: "unknown-algorithm", field: "algo", cause: `did you mean "sha256"`},
		{name: "submit/unknown category", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + sha256Hex() + `","category":"regional"}`), status: 422, slug: "invalid-input", field: "category", cause: "regional"},
		{name: "submit/unknown severity", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + sha256Hex() + `","severity":"D"}`), status: 422, slug: "invalid-input", field: "severity", cause: `"D"`},
		{name: "submit/national without jurisdictions", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + sha256Hex() + `","category":"national"}`), status: 422, slug: "invalid-input", field: "jurisdictions", cause: "jurisdictions"},
		{name: "submit/unassigned jurisdiction", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + sha256Hex() + `","category":"national","jurisdictions":["XK"]}`), status: 422, slug: "invalid-input", field: "jurisdictions", cause: "XK"},
		{name: "submit/baseline with jurisdictions", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + sha256Hex() + `","jurisdictions":["NL"]}`), status: 422, slug: "invalid-input", field: "jurisdictions", cause: "national"},
		{name: "submit/missing algo", role: h, path: "/v1/hashes", body: js(`{"value":"` + sha256Hex() + `"}`), status: 422, slug: "invalid-input", field: "algo", cause: "required"},
		{name: "submit/missing value", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256"}`), status: 422, slug: "invalid-input", field: "value", cause: "required"},
		{name: "submit/empty object", role: h, path: "/v1/hashes", body: js(`{}`), status: 422, slug: "invalid-input", field: "algo", cause: "required"},
		{name: "submit/blank value", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"   "}`), status: 422, slug: "invalid-input", field: "value", cause: "empty"},
		{name: "submit/quality on sha256", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + sha256Hex() + `","quality":90}`), status: 422, slug: "invalid-input", field: "quality", cause: "pdq"},
		{name: "submit/pdq quality 101", role: h, path: "/v1/hashes", body: js(`{"algo":"pdq","value":"` + sha256Hex() + `","quality":101}`), status: 422, slug: "invalid-input", field: "quality", cause: "100"},
		{name: "submit/pdq all zero", role: h, path: "/v1/hashes", body: js(`{"algo":"pdq","value":"` + strings.Repeat("0", 64) + `"}`), status: 422, slug: "invalid-input", field: "value", cause: "zero"},
		{name: "submit/photodna short", role: h, path: "/v1/hashes", body: js(`{"algo":"photodna","value":"` + photodna[:188] + `"}`), status: 422, slug: "invalid-input", field: "value", cause: "144"},
		{name: "submit/value of wrong type", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":42}`), status: 400, slug: "malformed-request", field: "value", cause: "value: expected a string, not a number"},
		{name: "submit/verdict field", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + sha256Hex() + `","verdict":"not_illegal"}`), status: 400, slug: "malformed-request", cause: `"verdict"`},
		{name: "submit/note with NUL", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + sha256Hex() + `","note":"a\u0000b"}`), status: 400, slug: "invalid-text", field: "note", cause: "NUL"},
		{name: "submit/note not UTF-8", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + sha256Hex() + `","note":"caf` + "\xe9" + `"}`), status: 400, slug: "invalid-text", field: "note", cause: "UTF-8"},
		{name: "submit/note too long", role: h, path: "/v1/hashes", body: js(`{"algo":"sha256","value":"` + sha256Hex() + `","note":"` + long + `"}`), status: 422, slug: "invalid-input", field: "note", cause: "2000"},

		// POST /v1/orgs
		{name: "orgs/missing name", role: a, path: "/v1/orgs", body: js(`{"kind":"hotline","jurisdiction":"NL"}`), status: 422, slug: "invalid-input", field: "name", cause: "name"},
		{name: "orgs/unknown kind", role: a, path: "/v1/orgs", body: js(`{"name":"X","kind":"superuser","jurisdiction":"NL"}`), status: 422, slug: "invalid-input", field: "kind", cause: "superuser"},
		{name: "orgs/missing kind", role: a, path: "/v1/orgs", body: js(`{"name":"X","jurisdiction":"NL"}`), status: 422, slug: "invalid-input", field: "kind", cause: "kind"},
		{name: "orgs/reserved jurisdiction", role: a, path: "/v1/orgs", body: js(`{"name":"X","kind":"hotline","jurisdiction":"UK"}`), status: 422, slug: "invalid-input", field: "jurisdiction", cause: "UK"},
		{name: "orgs/missing jurisdiction", role: a, path: "/v1/orgs", body: js(`{"name":"X","kind":"hotline"}`), status: 422, slug: "invalid-input", field: "jurisdiction", cause: "jurisdiction"},
		{name: "orgs/name with markup", role: a, path: "/v1/orgs", body: js(`{"name":"<script>","kind":"hotline","jurisdiction":"NL"}`), status: 422, slug: "invalid-input", field: "name", cause: "letters"},
		{name: "orgs/name with NUL", role: a, path: "/v1/orgs", body: js(`{"name":"Hot\u0000line","kind":"hotline","jurisdiction":"NL"}`), status: 400, slug: "invalid-text", field: "name", cause: "NUL"},
		{name: "orgs/name with control", role: a, path: "/v1/orgs", body: js(`{"name":"Hot\u0007line","kind":"hotline","jurisdiction":"NL"}`), status: 400, slug: "invalid-text", field: "name", cause: "U+0007"},
		{name: "orgs/name with bidi override", role: a, path: "/v1/orgs", body: js(`{"name":"Hotline \u202eLN","kind":"hotline","jurisdiction":"NL"}`), status: 400, slug: "invalid-text", field: "name", cause: "U+202E"},
		{name: "orgs/name with bidi isolate", role: a, path: "/v1/orgs", body: js(`{"name":"Hotline \u2067NL","kind":"hotline","jurisdiction":"NL"}`), status: 400, slug: "invalid-text", field: "name", cause: "U+2067"},
		{name: "orgs/name not UTF-8", role: a, path: "/v1/orgs", body: js("{\"name\":\"Hot\xc3line\",\"kind\":\"hotline\",\"jurisdiction\":\"NL\"}"), status: 400, slug: "invalid-text", field: "name", cause: "UTF-8"},
		{name: "users/name with NUL", role: a, path: "/v1/orgs/" + f.roles[h].Org + "/users", body: js(`{"name":"Ana\u0000lyst"}`), status: 400, slug: "invalid-text", field: "name", cause: "NUL"},
		{name: "users/name with bidi override", role: a, path: "/v1/orgs/" + f.roles[h].Org + "/users", body: js(`{"name":"Analyst \u202d1"}`), status: 400, slug: "invalid-text", field: "name", cause: "U+202D"},
		{name: "users/name not UTF-8", role: a, path: "/v1/orgs/" + f.roles[h].Org + "/users", body: js("{\"name\":\"Ana\xfflyst\"}"), status: 400, slug: "invalid-text", field: "name", cause: "UTF-8"},
		{name: "peers/id with NUL", role: a, path: "/v1/peers", body: js(`{"id":"node\u0000b","name":"Hotline GB"}`), status: 400, slug: "invalid-text", field: "id", cause: "NUL"},
		{name: "peers/name with bidi override", role: a, path: "/v1/peers", body: js(`{"id":"node-b","name":"Hotline \u202eBG"}`), status: 400, slug: "invalid-text", field: "name", cause: "U+202E"},
		{name: "peers/name with control", role: a, path: "/v1/peers", body: js(`{"id":"node-b","name":"Hotline\u001b[2J"}`), status: 400, slug: "invalid-text", field: "name", cause: "U+001B"},
		{name: "peers/name not UTF-8", role: a, path: "/v1/peers", body: js("{\"id\":\"node-b\",\"name\":\"Hotline \xe2\x80\"}"), status: 400, slug: "invalid-text", field: "name", cause: "UTF-8"},
		{name: "orgs/duplicate name", role: a, path: "/v1/orgs", body: js(`{"name":"Node administrators","kind":"hotline","jurisdiction":"NL"}`), status: 409, slug: "already-exists", cause: "Node administrators"},

		// POST /v1/lists
		{name: "lists/bad name", role: a, path: "/v1/lists", body: js(`{"name":"Bad Name","policy":{"min_assessments":1}}`), status: 422, slug: "invalid-input", field: "name", cause: "Bad Name"},
		{name: "lists/missing policy", role: a, path: "/v1/lists", body: js(`{"name":"nopolicy"}`), status: 422, slug: "invalid-input", field: "policy.min_assessments", cause: "between 1 and 100"},
		{name: "lists/unknown algorithm", role: a, path: "/v1/lists", body: js(`{"name":"l1","policy":{"min_assessments":1,"algorithms":["tlsh"]}}`), status: 422, slug: "invalid-input", field: "policy.algorithms", cause: "tlsh"},
		{name: "lists/unknown category", role: a, path: "/v1/lists", body: js(`{"name":"l1","policy":{"min_assessments":1,"categories":["regional"]}}`), status: 422, slug: "invalid-input", field: "policy.categories", cause: "regional"},
		{name: "lists/min_orgs above min_assessments", role: a, path: "/v1/lists", body: js(`{"name":"l1","policy":{"min_assessments":1,"min_orgs":2}}`), status: 422, slug: "invalid-input", field: "policy.min_orgs", cause: "min_assessments"},
		{name: "lists/unknown reader role", role: a, path: "/v1/lists", body: js(`{"name":"l1","policy":{"min_assessments":1},"readers":{"roles":["public"]}}`), status: 422, slug: "invalid-input", field: "readers.roles", cause: "public"},
		{name: "lists/unknown reader org", role: a, path: "/v1/lists", body: js(`{"name":"l1","policy":{"min_assessments":1},"readers":{"orgs":["org_nope"]}}`), status: 422, slug: "invalid-input", field: "readers.orgs", cause: "org_nope"},
		{name: "lists/unknown policy field", role: a, path: "/v1/lists", body: js(`{"name":"l1","policy":{"min_assessments":1,"max_age":3}}`), status: 400, slug: "malformed-request", cause: `"max_age"`},
		{name: "lists/policy of wrong type", role: a, path: "/v1/lists", body: js(`{"name":"l1","policy":5}`), status: 400, slug: "malformed-request", field: "policy", cause: "policy: expected an object, not a number"},
		{name: "lists/name with bidi isolate", role: a, path: "/v1/lists", body: js(`{"name":"l1\u2066","policy":{"min_assessments":1}}`), status: 400, slug: "invalid-text", field: "name", cause: "U+2066"},
		{name: "lists/name with NUL", role: a, path: "/v1/lists", body: js(`{"name":"l1\u0000","policy":{"min_assessments":1}}`), status: 400, slug: "invalid-text", field: "name", cause: "NUL"},
		{name: "lists/name not UTF-8", role: a, path: "/v1/lists", body: js("{\"name\":\"l\xff\",\"policy\":{\"min_assessments\":1}}"), status: 400, slug: "invalid-text", field: "name", cause: "UTF-8"},
		{name: "lists/description with NUL", role: a, path: "/v1/lists", body: js(`{"name":"l1","description":"a\u0000b","policy":{"min_assessments":1}}`), status: 400, slug: "invalid-text", field: "description", cause: "NUL"},
		{name: "lists/nested value not UTF-8", role: a, path: "/v1/lists", body: js("{\"name\":\"l1\",\"policy\":{\"min_assessments\":1,\"algorithms\":[\"sha\xff\"]}}"), status: 400, slug: "invalid-text", field: "policy.algorithms", cause: "UTF-8"},
		{name: "lists/existing name", role: a, path: "/v1/lists", body: js(`{"name":"platform","policy":{"min_assessments":1}}`), status: 409, slug: "already-exists", cause: "platform"},

		// POST /v1/hashes/{algo}/{value}/assessments
		{name: "assess/path value too short", role: le, path: "/v1/hashes/sha256/" + v63 + "/assessments", body: js(`{"verdict":"illegal"}`), status: 422, slug: "invalid-input", field: "value", cause: "got 63"},
		{name: "assess/path non-hex", role: le, path: "/v1/hashes/sha256/" + notHex + "/assessments", body: js(`{"verdict":"illegal"}`), status: 422, slug: "invalid-input", field: "value", cause: "not hex"},
		{name: "assess/path unknown algorithm", role: le, path: "/v1/hashes/sha3/" + f.entry + "/assessments", body: js(`{"verdict":"illegal"}`), status: 422, slug: "unknown-algorithm", field: "algo", cause: "sha3"},
		{name: "assess/missing verdict", role: le, path: e + "/assessments", body: js(`{}`), status: 422, slug: "invalid-input", field: "verdict", cause: "required"},
		{name: "assess/unknown verdict", role: le, path: e + "/assessments", body: js(`{"verdict":"maybe"}`), status: 422, slug: "invalid-input", field: "verdict", cause: "maybe"},
		{name: "assess/unknown category", role: le, path: e + "/assessments", body: js(`{"verdict":"illegal","category":"regional"}`), status: 422, slug: "invalid-input", field: "category", cause: "regional"},
		{name: "assess/national without jurisdictions", role: le, path: e + "/assessments", body: js(`{"verdict":"illegal","category":"national"}`), status: 422, slug: "invalid-input", field: "jurisdictions", cause: "jurisdictions"},
		{name: "assess/unknown severity", role: le, path: e + "/assessments", body: js(`{"verdict":"illegal","severity":"E"}`), status: 422, slug: "invalid-input", field: "severity", cause: `"E"`},
		{name: "assess/note with NUL", role: le, path: e + "/assessments", body: js(`{"verdict":"illegal","note":"\u0000"}`), status: 400, slug: "invalid-text", field: "note", cause: "NUL"},
		{name: "assess/note not UTF-8", role: le, path: e + "/assessments", body: js("{\"verdict\":\"illegal\",\"note\":\"\xc0\xaf\"}"), status: 400, slug: "invalid-text", field: "note", cause: "UTF-8"},
		{name: "assess/note too long", role: le, path: e + "/assessments", body: js(`{"verdict":"illegal","note":"` + long + `"}`), status: 422, slug: "invalid-input", field: "note", cause: "2000"},
		{name: "assess/unknown entry", role: le, path: "/v1/hashes/sha256/" + sha256Hex() + "/assessments", body: js(`{"verdict":"illegal"}`), status: 404, slug: "not-found", cause: "sha256:"},

		// POST /v1/hashes/{algo}/{value}/feedback
		{name: "feedback/missing kind", role: p, path: e + "/feedback", body: js(`{}`), status: 422, slug: "invalid-input", field: "kind", cause: "confirmed_match"},
		{name: "feedback/unknown kind", role: p, path: e + "/feedback", body: js(`{"kind":"maybe"}`), status: 422, slug: "invalid-input", field: "kind", cause: "maybe"},
		{name: "feedback/note with NUL", role: p, path: e + "/feedback", body: js(`{"kind":"false_positive","note":"x\u0000"}`), status: 400, slug: "invalid-text", field: "note", cause: "NUL"},
		{name: "feedback/note too long", role: p, path: e + "/feedback", body: js(`{"kind":"false_positive","note":"` + long + `"}`), status: 422, slug: "invalid-input", field: "note", cause: "2000"},
		{name: "feedback/path value too long", role: p, path: "/v1/hashes/sha256/" + v65 + "/feedback", body: js(`{"kind":"false_positive"}`), status: 422, slug: "invalid-input", field: "value", cause: "got 65"},
		{name: "feedback/unknown entry", role: p, path: "/v1/hashes/sha256/" + sha256Hex() + "/feedback", body: js(`{"kind":"false_positive"}`), status: 404, slug: "not-found", cause: "not found"},

		// POST /v1/hashes/{algo}/{value}/retract
		{name: "retract/missing reason", role: h, path: e + "/retract", body: js(`{}`), status: 422, slug: "invalid-input", field: "reason", cause: "why"},
		{name: "retract/blank reason", role: h, path: e + "/retract", body: js(`{"reason":"  "}`), status: 422, slug: "invalid-input", field: "reason", cause: "why"},
		{name: "retract/reason with NUL", role: h, path: e + "/retract", body: js(`{"reason":"x\u0000"}`), status: 400, slug: "invalid-text", field: "reason", cause: "NUL"},
		{name: "retract/reason too long", role: h, path: e + "/retract", body: js(`{"reason":"` + long + `"}`), status: 422, slug: "invalid-input", field: "reason", cause: "2000"},
		{name: "retract/path unknown algorithm", role: h, path: "/v1/hashes/sha384/" + f.entry + "/retract", body: js(`{"reason":"x"}`), status: 422, slug: "unknown-algorithm", field: "algo", cause: "sha384"},
		{name: "retract/nothing of ours", role: le, path: e + "/retract", body: js(`{"reason":"x"}`), status: 409, slug: "nothing-to-retract", cause: "no active assessment"},

		// POST /v1/disputes/{id}/resolve
		{name: "resolve/missing outcome", role: h, path: "/v1/disputes/" + f.dispute + "/resolve", body: js(`{"reason":"x"}`), status: 422, slug: "invalid-input", field: "outcome", cause: "upheld"},
		{name: "resolve/unknown outcome", role: h, path: "/v1/disputes/" + f.dispute + "/resolve", body: js(`{"outcome":"dismissed","reason":"x"}`), status: 422, slug: "invalid-input", field: "outcome", cause: "dismissed"},
		{name: "resolve/missing reason", role: h, path: "/v1/disputes/" + f.dispute + "/resolve", body: js(`{"outcome":"upheld"}`), status: 422, slug: "invalid-input", field: "reason", cause: "why"},
		{name: "resolve/reason with NUL", role: h, path: "/v1/disputes/" + f.dispute + "/resolve", body: js(`{"outcome":"upheld","reason":"x\u0000"}`), status: 400, slug: "invalid-text", field: "reason", cause: "NUL"},
		{name: "resolve/reason not UTF-8", role: h, path: "/v1/disputes/" + f.dispute + "/resolve", body: js("{\"outcome\":\"upheld\",\"reason\":\"\xff\"}"), status: 400, slug: "invalid-text", field: "reason", cause: "UTF-8"},
		{name: "resolve/reason too long", role: h, path: "/v1/disputes/" + f.dispute + "/resolve", body: js(`{"outcome":"upheld","reason":"` + long + `"}`), status: 422, slug: "invalid-input", field: "reason", cause: "2000"},
		{name: "resolve/unknown dispute", role: h, path: "/v1/disputes/dsp_nope/resolve", body: js(`{"outcome":"upheld","reason":"x"}`), status: 404, slug: "not-found", cause: "dsp_nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.ctype = "application/json"
			f.check(t, c)
			f.tn.unchanged(t, before, c.name)
		})
	}
}

func js(s string) []byte { return []byte(s) }

// TestValueNormalisation: upper-case hex is accepted and stored lower-case
// (hashes/doc.go documents it), so two spellings are one entry.
func TestValueNormalisation(t *testing.T) {
	tn := newTestNode(t)
	hot := tn.member(orgs.Hotline, "NL")
	v := sha256Hex()
	var ev server.EntryView
	tn.postJSON("/v1/hashes", hot.Token, map[string]any{"algo": "sha256", "value": "  " + strings.ToUpper(v) + "\n"}).decode(t, http.StatusCreated, &ev)
	if ev.Value != v || ev.Key != "sha256:"+v {
		t.Fatalf("stored %q (key %q), want %q", ev.Value, ev.Key, v)
	}
	before := tn.state()
	tn.postJSON("/v1/hashes", hot.Token, map[string]any{"algo": "sha256", "value": v}).decode(t, http.StatusOK, nil)
	tn.unchanged(t, before, "resubmitting the lower-case spelling")
	tn.get("/v1/hashes/sha256/"+strings.ToUpper(v), hot.Token).decode(t, http.StatusOK, &ev)
	if ev.Value != v {
		t.Fatalf("GET by upper-case value: %q", ev.Value)
	}
}

func TestBadImports(t *testing.T) {
	f := newBadFixture(t)
	hot := f.roles[orgs.Hotline].Token
	before := f.tn.state()
	imp := func(ctype string, body []byte) *response {
		return f.tn.do(request{method: "POST", path: "/v1/hashes/import", token: hot, ctype: ctype, body: body})
	}
	const nd = "application/x-ndjson"
	hugeLine := []byte(`{"algo":"sha256","value":"` + strings.Repeat("a", 1<<20+10) + `"}` + "\n")
	garbage := make([]byte, 4096)
	rand.Read(garbage)
	copy(garbage, "\xff\xd8\xff\xe0\x00\x10JFIF\x00")

	t.Run("line over 1 MB alone", func(t *testing.T) {
		p := imp(nd, hugeLine).problem(t, 422, "import-rejected")
		if len(p.Errors) != 1 || p.Errors[0].Line != 1 || !strings.Contains(p.Errors[0].Reason, "longer than") {
			t.Fatalf("errors %+v", p.Errors)
		}
		if !strings.Contains(p.Detail, "nothing was written") {
			t.Errorf("detail %q", p.Detail)
		}
		f.tn.unchanged(t, before, "a rejected import")
	})
	t.Run("every line bad", func(t *testing.T) {
		body := strings.Join([]string{
			`{"algo":"sha256","value":"` + sha256Hex()[:63] + `"}`,
			`{"algo":"sha512","value":"` + sha256Hex() + `"}`,
			`{"algo":"sha256","value":"` + sha256Hex() + `","category":"regional"}`,
			`{"algo":"sha256","value":"` + sha256Hex() + `","colour":"red"}`,
			`{"algo":"sha256"}`,
			`not json`,
			``,
			`{"algo":"sha256","value":"` + sha256Hex() + `"} trailing`,
		}, "\n")
		p := imp(nd, []byte(body)).problem(t, 422, "import-rejected")
		want := []struct {
			line  int
			field string
		}{{1, "value"}, {2, "algo"}, {3, "category"}, {4, "colour"}, {5, "value"}, {6, ""}, {8, ""}}
		if len(p.Errors) != len(want) {
			t.Fatalf("errors %+v", p.Errors)
		}
		for i, w := range want {
			le := p.Errors[i]
			if le.Line != w.line || le.Reason == "" || (w.field != "" && le.Field != w.field && !strings.Contains(le.Reason, w.field)) {
				t.Errorf("error %d = %+v, want line %d naming %q", i, le, w.line, w.field)
			}
		}
		f.tn.unchanged(t, before, "a rejected import")
	})
	t.Run("binary garbage as ndjson", func(t *testing.T) {
		if p := imp(nd, garbage).problem(t, 400, "not-text"); !strings.Contains(p.Detail, "UTF-8") {
			t.Errorf("detail %q", p.Detail)
		}
		f.tn.unchanged(t, before, "a binary import")
	})
	t.Run("binary garbage as csv", func(t *testing.T) {
		imp("text/csv", garbage).problem(t, 400, "not-text")
		f.tn.unchanged(t, before, "a binary import")
	})
	t.Run("csv bad header", func(t *testing.T) {
		p := imp("text/csv", []byte("hash,kind\n"+sha256Hex()+",sha256\n")).problem(t, 400, "bad-csv-header")
		if p.Detail == "" {
			t.Fatal("no detail")
		}
		f.tn.unchanged(t, before, "a bad csv import")
	})
	for _, c := range []struct{ ctype, slug string }{
		{"application/json", "unsupported-content-type"},
		{"text/plain", "unsupported-content-type"},
		{"", "unsupported-content-type"},
		{"image/jpeg", "media-refused"},
		{"video/mp4", "media-refused"},
		{"multipart/form-data; boundary=x", "media-refused"},
	} {
		t.Run("content type "+c.ctype, func(t *testing.T) {
			p := imp(c.ctype, []byte(`{"algo":"sha256","value":"`+sha256Hex()+`"}`)).problem(t, 415, c.slug)
			if c.ctype != "" && !strings.Contains(p.Detail, strings.Split(c.ctype, ";")[0]) {
				t.Errorf("detail %q does not name %q", p.Detail, c.ctype)
			}
			f.tn.unchanged(t, before, "a refused import")
		})
	}
	t.Run("empty body", func(t *testing.T) {
		// An empty NDJSON import has no line to reject: it reports zero
		// lines and writes nothing.
		var res struct{ Lines, Accepted, Batches int }
		imp(nd, nil).decode(t, http.StatusOK, &res)
		if res.Lines != 0 || res.Accepted != 0 || res.Batches != 0 {
			t.Fatalf("result %+v", res)
		}
		f.tn.unchanged(t, before, "an empty import")
	})
	t.Run("line over 1 MB among good lines", func(t *testing.T) {
		good := sha256Hex()
		body := append(append([]byte(nil), hugeLine...), []byte(`{"algo":"sha256","value":"`+strings.ToUpper(good)+`"}`+"\n")...)
		var res struct {
			Lines, Accepted, Rejected, Created int
			Errors                             []struct {
				Line   int
				Reason string
			}
		}
		imp(nd, body).decode(t, http.StatusOK, &res)
		if res.Lines != 2 || res.Accepted != 1 || res.Rejected != 1 || res.Created != 1 || len(res.Errors) != 1 || res.Errors[0].Line != 1 {
			t.Fatalf("result %+v", res)
		}
		f.tn.get("/v1/hashes/sha256/"+good, hot).decode(t, http.StatusOK, nil)
	})
	// Last: this one writes.
	t.Run("note with NUL", func(t *testing.T) {
		body := `{"algo":"sha256","value":"` + sha256Hex() + `"}` + "\n" + `{"algo":"sha256","value":"` + sha256Hex() + `","note":"a\u0000b"}` + "\n"
		var res struct {
			Created int                 `json:"created"`
			Lines   []*ingest.LineError `json:"errors"`
		}
		imp(nd, []byte(body)).decode(t, http.StatusOK, &res)
		if res.Created != 1 || len(res.Lines) != 1 || res.Lines[0].Line != 2 || res.Lines[0].Field != "note" || !strings.Contains(res.Lines[0].Reason, "NUL") {
			t.Fatalf("import %+v", res)
		}
	})
}

// TestInputEdges: a null body does not reset a setting, a body in UTF-8
// that says so is taken, and a notice status an analyst may not set is
// refused as such rather than hidden as a missing notice.
func TestInputEdges(t *testing.T) {
	w := newDeskWorld(t)
	tn := w.tn

	t.Run("null webhook body changes nothing", func(t *testing.T) {
		tn.put("/v1/inbox/webhook", w.police.Token, map[string]any{"webhook_url": w.hookPolice.srv.URL}).decode(t, http.StatusOK, nil)
		before := tn.state()
		r := tn.do(request{method: "PUT", path: "/v1/inbox/webhook", token: w.police.Token, ctype: "application/json", body: []byte("null")})
		r.problem(t, http.StatusBadRequest, "malformed-request")
		tn.unchanged(t, before, "a null body")
		err := tn.n.DB.View(func(tx *store.Tx) error {
			rc, err := tx.Recipient(w.police.Org)
			if err == nil && rc.WebhookURL != w.hookPolice.srv.URL {
				t.Errorf("webhook %q after a null body", rc.WebhookURL)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("null report", func(t *testing.T) {
		before := tn.state()
		tn.do(request{method: "POST", path: "/v1/reports", token: w.hotline.Token, ctype: "application/json", body: []byte("null")}).
			problem(t, http.StatusBadRequest, "malformed-request")
		p := tn.do(request{method: "POST", path: "/v1/reports", token: w.hotline.Token, ctype: "application/json",
			body: []byte("{\"urls\":[\"https://hosting-a.example/\xff\"]}")}).problem(t, http.StatusBadRequest, "invalid-text")
		if p.Field != "urls" {
			t.Errorf("field %q", p.Field)
		}
		tn.do(request{method: "POST", path: "/v1/reports", token: w.hotline.Token, ctype: "application/json; charset=windows-1252",
			body: mustJSON(t, validReport("https://hosting-a.example/x"))}).problem(t, http.StatusUnsupportedMediaType, "unsupported-content-type")
		tn.unchanged(t, before, "refused reports")
	})

	t.Run("charset utf-8 is taken", func(t *testing.T) {
		for _, cs := range []string{"utf-8", "UTF-8", "utf8"} {
			tn.do(request{method: "POST", path: "/v1/orgs", token: tn.admin.Token, ctype: "application/json; charset=" + cs,
				body: mustJSON(t, map[string]any{"name": "Charset " + cs, "kind": "hotline", "jurisdiction": "NL"})}).
				decode(t, http.StatusCreated, nil)
		}
	})

	t.Run("a status an analyst may not set", func(t *testing.T) {
		tn.startOutbox(nil, nil)
		rr := w.submit(t, w.hotline, validReport("https://files.hosting-a.example/edge"))
		rep := w.routed(t, rr.ID)
		if len(rep.Routes) != 1 || rep.Routes[0].Notice == "" {
			t.Fatalf("routes %+v", rep.Routes)
		}
		id := rep.Routes[0].Notice
		for _, status := range []string{"acknowledged", "disputed"} {
			p := tn.postJSON("/v1/notices/"+id+"/status", w.hotline.Token, map[string]any{"status": status, "note": "not ours to say"}).
				problem(t, http.StatusForbidden, "forbidden")
			if !strings.Contains(p.Detail, "removed") {
				t.Errorf("detail %q does not say what an analyst may set", p.Detail)
			}
		}
		if n := w.notice(t, w.provA, id); n.Status == "acknowledged" || n.Status == "disputed" {
			t.Fatalf("status %s set by an analyst", n.Status)
		}
		// A hold's reason is free text: NUL is refused, naming the field.
		p := tn.postJSON("/v1/reports/"+rr.ID+"/hold", w.police.Token, map[string]any{"reason": "wait\x00", "until": time.Now().Add(time.Hour)}).
			problem(t, http.StatusBadRequest, "invalid-text")
		if p.Field != "reason" {
			t.Errorf("field %q", p.Field)
		}
		// To an analyst who may not read the notice it still does not exist.
		tn.postJSON("/v1/notices/"+id+"/status", w.police.Token, map[string]any{"status": "removed"}).problem(t, http.StatusNotFound, "not-found")
	})
}
