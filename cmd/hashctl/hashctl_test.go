package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
)

// TestCredentialsFromEnv covers HASHCTL_SERVER, HASHCTL_CLIENT_ID and
// HASHCTL_CLIENT_SECRET, HASHCTL_CREDENTIALS, and the order among sources.
func TestCredentialsFromEnv(t *testing.T) {
	n := startNode(t, "GB")
	adminFile := filepath.Join(n.dir, node.AdminFile)

	t.Setenv(envServer, n.url)
	t.Setenv(envClientID, n.admin.id)
	t.Setenv(envClientSecret, n.admin.secret)
	r := ok(t, hashctl(nil, "login"))
	if field(t, r.stdout, "role") != "admin" || field(t, r.stdout, "jurisdiction") != "GB" {
		t.Errorf("login from env:\n%s", r.stdout)
	}
	lacks(t, r.stdout+r.stderr, n.admin.secret)

	// Flags beat the environment: a bad secret on the command line fails.
	fails(t, hashctl(nil, "login", "--client-secret", "hhs_wrong"), 1, "authentication failed")

	// HASHCTL_CREDENTIALS names a file like the node's admin.json.
	t.Setenv(envClientID, "")
	t.Setenv(envClientSecret, "")
	t.Setenv(envCredentials, adminFile)
	r = ok(t, hashctl(nil, "orgs", "list"))
	contains(t, r.stdout, "Node administrators", "admin")

	// --credentials beats HASHCTL_CREDENTIALS.
	bad := writeFile(t, "bad.json", `{"client_id":"hh_nobody","client_secret":"hhs_nothing"}`)
	fails(t, hashctl(nil, "--credentials", bad, "login"), 1, "authentication failed")
	// An unreadable credentials file is the caller's mistake.
	fails(t, hashctl(nil, "login", "--credentials", filepath.Join(t.TempDir(), "missing.json")), 2, "--credentials:", "no such file")
	notJSON := writeFile(t, "secret.txt", "hhs_this_must_not_be_echoed")
	r = hashctl(nil, "login", "--credentials", notJSON)
	fails(t, r, 2, "is not a JSON object with client_id and client_secret")
	lacks(t, r.stderr, "hhs_this_must_not_be_echoed")

	// No credentials at all is a usage error.
	t.Setenv(envCredentials, "")
	fails(t, hashctl(nil, "login"), 2, "no credentials", "--credentials FILE")
}

// TestBadCredentials checks the message for refused credentials, that the
// secret is never printed, and that a refusal is not retried.
func TestBadCredentials(t *testing.T) {
	n := startNode(t, "NL")
	secret := "hhs_not-the-right-secret"
	r := n.as(creds{n.admin.id, secret}, "login")
	fails(t, r, 1, "hashctl: authentication failed: the node does not know this client id and secret", "check --client-id")
	lacks(t, r.stdout+r.stderr, secret)
	r = n.as(creds{"hh_unknown", n.admin.secret}, "orgs", "list", "--json")
	fails(t, r, 1, "authentication failed")
	lacks(t, r.stdout+r.stderr, n.admin.secret)
}

// TestNodeUnreachable checks the message when nothing listens.
func TestNodeUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := hashctl(nil, "--server", "http://"+addr, "--client-id", "a", "--client-secret", "b", "login")
	fails(t, r, 1, "hashctl: cannot reach http://"+addr, "connection refused")
}

// TestUsage covers help and usage errors (exit 2, nothing sent).
func TestUsage(t *testing.T) {
	r := ok(t, hashctl(nil, "-h"))
	for _, c := range commands {
		contains(t, r.stdout, c.name)
	}
	contains(t, r.stdout, "--server URL", "HASHCTL_CREDENTIALS")
	r = ok(t, hashctl(nil, "help", "hashes", "import"))
	contains(t, r.stdout, "Usage: hashctl hashes import FILE|-", "--format FORMAT", "Global flags", "--client-secret")
	r = ok(t, hashctl(nil, "lists", "create", "-h"))
	contains(t, r.stdout, "--min-assessments N", "--reader-roles ROLES")
	r = ok(t, hashctl(nil, "hashes", "--help"))
	contains(t, r.stdout, "hashes submit", "hashes feedback")
	// Help never shows a secret given as a flag.
	r = ok(t, hashctl(nil, "--client-secret", "hhs_sekrit", "hashes", "submit", "-h"))
	lacks(t, r.stdout+r.stderr, "hhs_sekrit")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"orgs"}, "which subcommand?"},
		{[]string{"orgs", "explode"}, `unknown command "orgs explode"`},
		{[]string{"orgs", "create", "--name", "X", "--kind", "hotline"}, "missing --jurisdiction"},
		{[]string{"orgs", "show"}, "missing ID"},
		{[]string{"orgs", "show", "a", "b"}, `unexpected argument "b"`},
		{[]string{"hashes", "show", "sha256"}, "missing VALUE"},
		{[]string{"hashes", "assess", "md5", "x"}, "missing --verdict"},
		{[]string{"hashes", "submit", "--algo", "md5", "--value", "x", "--quality", "high"}, `invalid value "high" for flag -quality`},
		{[]string{"hashes", "import"}, "missing FILE|-"},
		{[]string{"hashes", "import", "hashes.txt"}, "cannot tell the format"},
		{[]string{"hashes", "import", "h.csv", "--format", "xml"}, `--format "xml"`},
		{[]string{"lists", "create", "--name", "x"}, "missing --min-assessments"},
		{[]string{"disputes", "resolve", "dsp_1", "--outcome", "upheld"}, "missing --reason"},
		{[]string{"login", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"--server", "ftp://x", "--client-id", "a", "--client-secret", "b", "login"}, "want an http:// or https:// base URL"},
	} {
		r := hashctl(nil, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("hashctl %q: want exit 2 and %q, got:\n%s", tc.args, tc.want, r)
		}
		if r.stdout != "" {
			t.Errorf("hashctl %q: usage error printed to stdout:\n%s", tc.args, r.stdout)
		}
	}
	r = hashctl(nil, "orgs", "create", "--name", "X")
	contains(t, r.stderr, "usage: hashctl orgs create --name NAME", "Run 'hashctl orgs create -h'")
}

// TestGlobalFlagPlacement checks global flags before the command, after
// it, and after its positional arguments; and "--".
func TestGlobalFlagPlacement(t *testing.T) {
	n := startNode(t, "NL")
	a := n.admin
	ok(t, hashctl(nil, "--server", n.url, "--client-id", a.id, "--client-secret", a.secret, "orgs", "list"))
	ok(t, hashctl(nil, "--server", n.url, "orgs", "list", "--client-id", a.id, "--client-secret", a.secret))
	o := decode[orgs.Org](t, ok(t, hashctl(nil, "orgs", "create", "--server", n.url, "--name", "Hotline", "--client-id", a.id,
		"--kind", "hotline", "--json", "--jurisdiction", "FR", "--client-secret", a.secret)))
	r := ok(t, hashctl(nil, "--server", n.url, "orgs", "show", o.ID, "--client-id", a.id, "--client-secret", a.secret))
	contains(t, r.stdout, "FR")
	r = ok(t, hashctl(nil, "--server", n.url, "--client-id", a.id, "--client-secret", a.secret, "orgs", "show", "--", o.ID))
	contains(t, r.stdout, o.ID)
}

// analyst creates a hotline organisation and a user in it.
func analyst(t *testing.T, n *testNode, name, jur string) creds {
	t.Helper()
	o := decode[orgs.Org](t, ok(t, n.as(n.admin, "orgs", "create", "--name", name, "--kind", "hotline", "--jurisdiction", jur, "--json")))
	u := decode[client.NewUser](t, ok(t, n.as(n.admin, "users", "create", "--org", o.ID, "--name", "Analyst", "--json")))
	return creds{u.ClientID, u.ClientSecret}
}

// TestImportStreams covers stdin, --format, CSV header errors, blank and
// CRLF lines, and an import larger than one batch of the node's reader.
func TestImportStreams(t *testing.T) {
	n := startNode(t, "NL")
	a := analyst(t, n, "Hotline", "NL")

	var b strings.Builder
	const lines = 20000
	for i := range lines {
		fmt.Fprintf(&b, "{\"algo\":\"md5\",\"value\":%q}\r\n", sha(fmt.Sprint(i))[:32])
		if i%5000 == 0 {
			b.WriteString("\r\n")
		}
	}
	r := ok(t, hashctl(strings.NewReader(b.String()), "--server", n.url, "--client-id", a.id, "--client-secret", a.secret,
		"hashes", "import", "-", "--format", "ndjson"))
	if field(t, r.stdout, "accepted") != fmt.Sprint(lines) || field(t, r.stdout, "rejected") != "0" {
		t.Errorf("stdin import:\n%s", r.stdout)
	}
	contains(t, r.stdout, "Imported stdin (ndjson")
	lacks(t, r.stdout, "line errors")

	// A file whose extension says nothing, with --format.
	f := writeFile(t, "export.txt", "algo,value,category,jurisdictions\nmd5,"+sha("n")[:32]+",national,NL;BE\n")
	r = ok(t, n.as(a, "hashes", "import", f, "--format", "CSV"))
	if field(t, r.stdout, "created") != "1" {
		t.Errorf("csv import:\n%s", r.stdout)
	}

	// A bad CSV header is refused as a whole.
	f = writeFile(t, "bad.csv", "hash,kind\nx,y\n")
	fails(t, n.as(a, "hashes", "import", f), 1, "hashctl: Bad CSV header")

	// A binary body is refused before anything is written.
	f = writeFile(t, "pic.ndjson", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	fails(t, n.as(a, "hashes", "import", f), 1, "hashctl: Body is not text")

	// Import is for analysts; the admin is refused before the body is sent.
	fails(t, n.as(n.admin, "hashes", "import", f), 1, "hashctl: Not allowed:")

	// A missing file is the caller's mistake, not the node's.
	fails(t, n.as(a, "hashes", "import", filepath.Join(t.TempDir(), "nope.ndjson")), 2, "no such file")
	dir := filepath.Join(t.TempDir(), "d.csv")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	fails(t, n.as(a, "hashes", "import", dir), 2, "is a directory")
}

// TestJSONErrors checks that with --json a problem is printed as JSON on
// stdout as well as explained on stderr.
func TestJSONErrors(t *testing.T) {
	n := startNode(t, "NL")
	a := analyst(t, n, "Hotline", "NL")
	r := n.as(a, "hashes", "show", "sha256", sha("absent"), "--json")
	fails(t, r, 1, "hashctl: Not found:")
	p := decode[client.Problem](t, r)
	if p.Status != 404 || p.Type != client.ProblemPrefix+client.KindNotFound {
		t.Errorf("problem: %+v", p)
	}
	f := writeFile(t, "bad.ndjson", "{\"algo\":\"md5\"}\n")
	r = n.as(a, "hashes", "import", f, "--json")
	fails(t, r, 1, "Every line of the import was rejected", "line 1:")
	p = decode[client.Problem](t, r)
	if len(p.Errors) != 1 || p.Errors[0].Line != 1 || p.Errors[0].Field != "value" {
		t.Errorf("problem: %+v", p)
	}
}

// TestImportNotRetried checks that a failed import is sent once and the
// user is told that re-running it is safe.
func TestImportNotRetried(t *testing.T) {
	var imports atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == client.TokenPath {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"tok","token_type":"Bearer","expires_in":900}`)
			return
		}
		imports.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"type":"urn:hashhub:problem:unavailable","title":"Not ready","status":503,"detail":"store not ready"}`)
	}))
	defer srv.Close()
	f := writeFile(t, "x.ndjson", "{\"algo\":\"md5\",\"value\":\"00000000000000000000000000000000\"}\n")
	r := hashctl(nil, "hashes", "import", f, "--server", srv.URL, "--client-id", "a", "--client-secret", "b")
	fails(t, r, 1, "hashctl: Not ready: store not ready", "never retried automatically", "Re-running the same import is safe")
	if n := imports.Load(); n != 1 {
		t.Errorf("%d import requests, want 1", n)
	}
}
