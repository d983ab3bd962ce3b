package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
)

// TestScenario walks the life of a hash through hashctl against a real
// node: organisations and users, a list whose policy needs two
// organisations, submission, bulk import, verification, a platform's
// false-positive report, its resolution, and retraction.
func TestScenario(t *testing.T) {
	n := startNode(t, "NL")
	admin := n.admin

	// login says who the credentials belong to.
	r := ok(t, n.as(admin, "login"))
	contains(t, r.stdout, "Logged in to "+n.url)
	if got := field(t, r.stdout, "role"); got != "admin" {
		t.Errorf("role %q, want admin", got)
	}
	if got := field(t, r.stdout, "jurisdiction"); got != "NL" {
		t.Errorf("jurisdiction %q, want NL", got)
	}
	lacks(t, r.stdout+r.stderr, admin.secret)

	// Organisations: two hotlines in different jurisdictions, a platform.
	r = ok(t, n.as(admin, "orgs", "create", "--name", "Hotline NL", "--kind", "hotline", "--jurisdiction", "nl"))
	contains(t, r.stdout, "Created organisation org_", "Hotline NL", "hotline")
	hot1 := field(t, r.stdout, "id")
	if got := field(t, r.stdout, "jurisdiction"); got != "NL" {
		t.Errorf("jurisdiction %q, want NL (normalised)", got)
	}
	hot2 := decode[orgs.Org](t, ok(t, n.as(admin, "orgs", "create", "--name", "Hotline GB", "--kind", "hotline", "--jurisdiction", "GB", "--json"))).ID
	plat := decode[orgs.Org](t, ok(t, n.as(admin, "--json", "orgs", "create", "--name", "Platform One", "--kind", "platform", "--jurisdiction", "IE"))).ID
	if hot2 == "" || plat == "" {
		t.Fatal("orgs create --json gave no id")
	}
	fails(t, n.as(admin, "orgs", "create", "--name", "Hotline NL", "--kind", "hotline", "--jurisdiction", "NL"), 1, "hashctl: Already exists:")

	r = ok(t, n.as(admin, "orgs", "list"))
	contains(t, r.stdout, "ID", "NAME", hot1, "Hotline NL", hot2, "Hotline GB", plat, "Platform One", "platform", "IE")
	r = ok(t, n.as(admin, "orgs", "show", hot2))
	if field(t, r.stdout, "name") != "Hotline GB" || field(t, r.stdout, "kind") != "hotline" {
		t.Errorf("orgs show:\n%s", r.stdout)
	}
	fails(t, n.as(admin, "orgs", "show", "org_nope"), 1, "hashctl: Not found:")

	// Users: the secret is printed once, or written to a file.
	r = ok(t, n.as(admin, "users", "create", "--org", hot1, "--name", "Analyst One"))
	contains(t, r.stdout, "Created user usr_", "Analyst One", "client_id:", "client_secret:", "shown this once")
	analyst1 := creds{field(t, r.stdout, "client_id"), field(t, r.stdout, "client_secret")}

	credFile := filepath.Join(t.TempDir(), "analyst2.json")
	r = ok(t, n.as(admin, "users", "create", "--org", hot2, "--name", "Analyst Two", "--credentials-out", credFile))
	contains(t, r.stdout, "written to "+credFile)
	if fi, err := os.Stat(credFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	analyst2 := creds{}
	analyst2.id, analyst2.secret, _ = readCredentials(credFile)
	if analyst2.secret == "" {
		t.Fatal("credentials file lacks the secret")
	}
	lacks(t, r.stdout+r.stderr, analyst2.secret)
	// A second run would overwrite the file: refused before creating a user.
	fails(t, n.as(admin, "users", "create", "--org", hot2, "--name", "Analyst Three", "--credentials-out", credFile), 2, "file exists")

	nu := decode[client.NewUser](t, ok(t, n.as(admin, "users", "create", "--org", plat, "--name", "Platform Bot", "--json")))
	platform := creds{nu.ClientID, nu.ClientSecret}
	if platform.id == "" || platform.secret == "" {
		t.Fatalf("users create --json: %+v", nu)
	}

	r = ok(t, n.as(admin, "users", "list", "--org", hot1))
	contains(t, r.stdout, "Analyst One", analyst1.id)
	lacks(t, r.stdout, analyst1.secret)

	// The analysts log in as themselves.
	r = ok(t, hashctl(nil, "--server", n.url, "--credentials", credFile, "login"))
	if field(t, r.stdout, "org") != hot2 || field(t, r.stdout, "role") != "hotline" || field(t, r.stdout, "jurisdiction") != "GB" {
		t.Errorf("login with --credentials:\n%s", r.stdout)
	}
	// A list that needs two assessments from two organisations.
	r = ok(t, n.as(admin, "lists", "create", "--name", "verified", "--min-assessments", "2", "--min-orgs", "2",
		"--algorithms", "md5,sha256", "--algorithms", "photodna", "--categories", "baseline", "--reader-roles", "platform",
		"--description", "two hotlines agree"))
	contains(t, r.stdout, "Created list verified")
	if field(t, r.stdout, "min_assessments") != "2" || field(t, r.stdout, "min_orgs") != "2" ||
		field(t, r.stdout, "algorithms") != "md5,photodna,sha256" || field(t, r.stdout, "reader_roles") != "platform" {
		t.Errorf("lists create:\n%s", r.stdout)
	}
	if field(t, r.stdout, "review") != "blind" {
		t.Errorf("a list reviews blind unless told:\n%s", r.stdout)
	}
	r = ok(t, n.as(admin, "lists", "create", "--name", "open", "--min-assessments", "1", "--algorithms", "pdq", "--open-review"))
	if field(t, r.stdout, "review") != "open" {
		t.Errorf("lists create --open-review:\n%s", r.stdout)
	}
	fails(t, n.as(admin, "lists", "create", "--name", "bad", "--min-assessments", "1", "--min-orgs", "3"), 1,
		"hashctl: Invalid input:", "field: policy.min_orgs")
	r = ok(t, n.as(platform, "lists", "list"))
	contains(t, r.stdout, "verified", "platform")
	r = ok(t, n.as(platform, "lists", "show", "verified"))
	if field(t, r.stdout, "description") != "two hotlines agree" {
		t.Errorf("lists show:\n%s", r.stdout)
	}
	l := decode[lists.List](t, ok(t, n.as(platform, "lists", "show", "verified", "--json")))
	if l.Policy.MinOrgs != 2 {
		t.Errorf("lists show --json: %+v", l)
	}

	// Submission by one hotline: not enough for the list.
	x := sha("the one hash")
	r = ok(t, n.as(analyst1, "hashes", "submit", "--algo", "sha256", "--value", strings.ToUpper(x), "--severity", "A", "--note", "seen twice"))
	contains(t, r.stdout, "Created entry sha256:"+x)
	if field(t, r.stdout, "status") != "active" || field(t, r.stdout, "assessments") != "1" {
		t.Errorf("submit:\n%s", r.stdout)
	}
	r = ok(t, n.as(analyst1, "hashes", "submit", "--algo", "sha256", "--value", x, "--severity", "A", "--note", "seen twice"))
	contains(t, r.stdout, "existing entry")
	r = ok(t, n.as(platform, "lists", "entries", "verified"))
	lacks(t, r.stdout, x)
	contains(t, r.stdout, "0 entries on verified")

	// Bad input names the field.
	fails(t, n.as(analyst1, "hashes", "submit", "--algo", "sha256", "--value", x[:63]), 1, "hashctl: Invalid input:", "field: value")
	fails(t, n.as(analyst1, "hashes", "submit", "--algo", "tlsh", "--value", x), 1, "hashctl: Unknown hash algorithm")
	// A platform may not submit.
	fails(t, n.as(platform, "hashes", "submit", "--algo", "sha256", "--value", x), 1, "hashctl: Not allowed:")

	// The review queue of the other hotline shows the entry one short.
	r = ok(t, n.as(analyst2, "review"))
	contains(t, r.stdout, "Open disputes you may resolve: none", x, "verified: 1 more assessment, 1 more organisation")

	// Bulk import by hotline 1 (NDJSON, with a bad line) and hotline 2 (CSV).
	var nd strings.Builder
	for i := range 50 {
		fmt.Fprintf(&nd, `{"algo":"sha256","value":%q,"severity":"B"}`+"\n", sha(fmt.Sprint("bulk", i)))
		if i == 6 {
			nd.WriteString(`{"algo":"sha256","value":"not-hex"}` + "\n") // line 8
		}
	}
	ndFile := writeFile(t, "batch.ndjson", nd.String())
	r = ok(t, n.as(analyst1, "hashes", "import", ndFile))
	for k, v := range map[string]string{"lines": "51", "accepted": "50", "created": "50", "updated": "0", "unchanged": "0", "rejected": "1", "batches": "1"} {
		if got := field(t, r.stdout, k); got != v {
			t.Errorf("import %s = %q, want %q\n%s", k, got, v, r.stdout)
		}
	}
	contains(t, r.stdout, "Imported "+ndFile+" (ndjson", "elapsed:", "entries/s:", "line errors:", "line 8: value:")

	// Re-running is safe: everything unchanged.
	imp := decode[map[string]any](t, ok(t, n.as(analyst1, "hashes", "import", ndFile, "--json")))
	if imp["unchanged"] != 50.0 || imp["created"] != 0.0 || imp["rejected"] != 1.0 || imp["format"] != "ndjson" {
		t.Errorf("re-import --json: %v", imp)
	}
	if _, ok := imp["entries_per_second"]; !ok {
		t.Errorf("import --json lacks entries_per_second: %v", imp)
	}
	if errs, _ := imp["errors"].([]any); len(errs) != 1 {
		t.Errorf("import --json errors: %v", imp["errors"])
	}

	// Hotline 2 confirms the first ten by CSV: they qualify.
	var csv strings.Builder
	csv.WriteString("algo,value,severity,note\n")
	for i := range 10 {
		fmt.Fprintf(&csv, "sha256,%s,B,confirmed\n", sha(fmt.Sprint("bulk", i)))
	}
	csv.WriteString("md5,xyz,B,broken\n") // line 12
	csvFile := writeFile(t, "confirm.csv", csv.String())
	r = ok(t, n.as(analyst2, "hashes", "import", csvFile))
	if field(t, r.stdout, "accepted") != "10" || field(t, r.stdout, "updated") != "10" || field(t, r.stdout, "rejected") != "1" {
		t.Errorf("csv import:\n%s", r.stdout)
	}
	contains(t, r.stdout, "(csv", "line 12: value:")

	// Paged entries: --all follows the cursor.
	r = ok(t, n.as(platform, "lists", "entries", "verified", "--limit", "3"))
	contains(t, r.stdout, "3 entries on verified in this page", "more: hashctl lists entries verified --cursor")
	r = ok(t, n.as(platform, "lists", "entries", "verified", "--all", "--limit", "3"))
	contains(t, r.stdout, "10 entries on verified", sha("bulk0"), sha("bulk9"))
	lacks(t, r.stdout, sha("bulk10"), x)
	q := decode[client.Qualifying](t, ok(t, n.as(platform, "lists", "entries", "verified", "--all", "--limit", "4", "--json")))
	if len(q.Entries) != 10 || q.List != "verified" || q.Entries[0].Severity != "B" {
		t.Errorf("lists entries --all --json: %+v", q)
	}

	// An import in which every line is bad writes nothing and exits 1.
	badFile := writeFile(t, "bad.jsonl", "{\"algo\":\"md5\",\"value\":\"zz\"}\nnot json\n")
	r = n.as(analyst1, "hashes", "import", badFile)
	fails(t, r, 1, "hashctl: Every line of the import was rejected: 2 of 2 lines rejected; nothing was written",
		"line 1: value:", "line 2:")

	// Hotline 2 assesses the submitted hash: now it qualifies.
	r = ok(t, n.as(analyst2, "hashes", "assess", "sha256", x, "--verdict", "illegal", "--severity", "B"))
	contains(t, r.stdout, "Assessed sha256:"+x+" as illegal")
	if field(t, r.stdout, "assessments") != "2" {
		t.Errorf("assess:\n%s", r.stdout)
	}
	r = ok(t, n.as(platform, "lists", "entries", "verified", "--all"))
	contains(t, r.stdout, x, "11 entries")

	// The platform reports a false positive: the entry leaves the list.
	r = ok(t, n.as(platform, "hashes", "feedback", "sha256", x, "--kind", "false_positive", "--note", "a cat picture"))
	contains(t, r.stdout, "Recorded feedback fb_", "false_positive", "Opened dispute dsp_")
	dispute := strings.Fields(r.stdout[strings.Index(r.stdout, "Opened dispute ")+len("Opened dispute "):])[0]
	dispute = strings.TrimSuffix(dispute, ":")
	r = ok(t, n.as(platform, "lists", "entries", "verified", "--all"))
	lacks(t, r.stdout, x)
	r = ok(t, n.as(analyst1, "hashes", "show", "sha256", x))
	if field(t, r.stdout, "status") != "disputed" || field(t, r.stdout, "open_disputes") != dispute {
		t.Errorf("hashes show after feedback:\n%s", r.stdout)
	}

	// Hotline 1's review queue shows the dispute; it upholds the entry.
	r = ok(t, n.as(analyst1, "review"))
	contains(t, r.stdout, "Open disputes you may resolve (1)", dispute, "sha256:"+x, "feedback", plat, "a cat picture")
	rv := decode[client.Review](t, ok(t, n.as(analyst1, "review", "--json")))
	if len(rv.Disputes) != 1 || rv.Disputes[0].ID != dispute {
		t.Errorf("review --json: %+v", rv)
	}
	r = ok(t, n.as(analyst1, "disputes", "list", "--status", "open"))
	contains(t, r.stdout, dispute, "open")
	fails(t, n.as(analyst1, "disputes", "resolve", dispute, "--outcome", "maybe", "--reason", "x"), 1, "field: outcome")
	r = ok(t, n.as(analyst1, "disputes", "resolve", dispute, "--outcome", "upheld", "--reason", "re-assessed: category B"))
	contains(t, r.stdout, "Resolved dispute "+dispute, "upheld")
	fails(t, n.as(analyst2, "disputes", "resolve", dispute, "--outcome", "overturned", "--reason", "late"), 1, "hashctl: Dispute already resolved")
	r = ok(t, n.as(platform, "lists", "entries", "verified", "--all"))
	contains(t, r.stdout, x)
	r = ok(t, n.as(analyst1, "disputes", "list", "--status", "upheld"))
	contains(t, r.stdout, dispute, "upheld", "re-assessed: category B")

	// History has it all.
	r = ok(t, n.as(analyst2, "hashes", "history", "sha256", x))
	contains(t, r.stdout, "Assessments:", hot1, hot2, "Feedback:", "false_positive", "Disputes:", dispute, "upheld", "seen twice")
	h := decode[client.History](t, ok(t, n.as(analyst2, "hashes", "history", "sha256", x, "--json")))
	if h.Status != "active" || len(h.Disputes) != 1 || h.Disputes[0].Status != entries.DisputeUpheld {
		t.Errorf("history --json: %+v", h)
	}

	// Hotline 2 retracts: one organisation is left, the entry leaves the list.
	r = ok(t, n.as(analyst2, "hashes", "retract", "sha256", x, "--reason", "submitted in error"))
	contains(t, r.stdout, "Retracted your organisation's assessments of sha256:"+x)
	if field(t, r.stdout, "assessments") != "1" {
		t.Errorf("retract:\n%s", r.stdout)
	}
	r = ok(t, n.as(platform, "lists", "entries", "verified", "--all"))
	lacks(t, r.stdout, x)
	fails(t, n.as(analyst2, "hashes", "retract", "sha256", x, "--reason", "again"), 1, "hashctl: Nothing to retract")
	r = ok(t, n.as(analyst1, "hashes", "show", "sha256", x))
	contains(t, r.stdout, "retracted: submitted in error")

	// A not_illegal verdict opens a dispute too.
	r = ok(t, n.as(analyst2, "hashes", "assess", "sha256", sha("bulk3"), "--verdict", "not_illegal", "--note", "adult"))
	contains(t, r.stdout, "Opened dispute dsp_")
	r = ok(t, n.as(analyst1, "review"))
	contains(t, r.stdout, "Open disputes you may resolve (1)", "sha256:"+sha("bulk3"))
}

// TestPhotoDNAPath checks that values with '/' and '+' survive the path.
func TestPhotoDNAPath(t *testing.T) {
	n := startNode(t, "NL")
	o := decode[orgs.Org](t, ok(t, n.as(n.admin, "orgs", "create", "--name", "H", "--kind", "hotline", "--jurisdiction", "DE", "--json")))
	u := decode[client.NewUser](t, ok(t, n.as(n.admin, "users", "create", "--org", o.ID, "--name", "A", "--json")))
	a := creds{u.ClientID, u.ClientSecret}

	raw := make([]byte, 144)
	for i := range raw {
		raw[i] = byte(0xfb + i%5) // encodes to '+' and '/' often
	}
	v := base64.StdEncoding.EncodeToString(raw)
	if !strings.ContainsAny(v, "/") || !strings.ContainsAny(v, "+") {
		t.Fatalf("test value lacks / or +: %s", v)
	}
	ok(t, n.as(a, "hashes", "submit", "--algo", "photodna", "--value", v))
	r := ok(t, n.as(a, "hashes", "show", "photodna", v))
	if field(t, r.stdout, "key") != "photodna:"+v {
		t.Errorf("hashes show photodna:\n%s", r.stdout)
	}
	ok(t, n.as(a, "hashes", "history", "photodna", v))
	r = ok(t, n.as(a, "hashes", "assess", "photodna", v, "--verdict", "illegal", "--category", "national", "--jurisdictions", "DE,nl"))
	contains(t, r.stdout, "Assessed photodna:"+v)
	e := decode[client.Entry](t, ok(t, n.as(a, "hashes", "show", "photodna", v, "--json")))
	if len(e.Assessments) != 1 || strings.Join(e.Assessments[0].Jurisdictions, ",") != "DE,NL" {
		t.Errorf("assessment: %+v", e.Assessments)
	}
}
