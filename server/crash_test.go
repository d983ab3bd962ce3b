package server_test

// The crash test runs a real node in a child process (this test binary,
// re-executed) on a bbolt file in a temp directory. The child kills itself
// with SIGKILL when a request's change has committed and before its answer
// is written; the test then starts it again on the same directory and
// retries the request with the same Idempotency-Key.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/server"
)

// crashChildEnv names the data directory of a child node; set, the test
// binary runs as that node instead of running tests.
const crashChildEnv = "HASHHUB_TEST_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild serves the node in dir on 127.0.0.1, writes its address to
// dir/addr, and dies by SIGKILL after the first kept change commits.
func crashChild(dir string) {
	n, err := node.Open(dir, slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open node:", err)
		os.Exit(2)
	}
	server.SetAfterCommit(func() {
		p, _ := os.FindProcess(os.Getpid())
		p.Kill()
		select {} // nothing more of this process runs
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(2)
	}
	tmp := filepath.Join(dir, "addr.tmp")
	if err := os.WriteFile(tmp, []byte(ln.Addr().String()), 0o600); err != nil || os.Rename(tmp, filepath.Join(dir, "addr")) != nil {
		fmt.Fprintln(os.Stderr, "write address:", err)
		os.Exit(2)
	}
	err = n.Serve(context.Background(), ln)
	fmt.Fprintln(os.Stderr, "serve:", err)
	os.Exit(2)
}

// crashNode is the child process of one run of the node.
type crashNode struct {
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *bytes.Buffer
}

// startCrashNode starts the node in dir and waits until it listens.
func startCrashNode(t *testing.T, dir string) (*crashNode, string) {
	t.Helper()
	os.Remove(filepath.Join(dir, "addr"))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cn := &crashNode{cmd: cmd, exited: make(chan struct{}), stderr: &bytes.Buffer{}}
	cmd.Stderr = cn.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(cn.exited) }()
	t.Cleanup(func() {
		select {
		case <-cn.exited:
		default:
			cmd.Process.Kill()
			<-cn.exited
		}
	})
	deadline := time.After(30 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "addr")); err == nil {
			return cn, "http://" + string(b)
		}
		select {
		case <-cn.exited:
			t.Fatalf("node exited at start: %s", cn.stderr)
		case <-deadline:
			t.Fatalf("node did not start: %s", cn.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestIdempotencyKeyCrash kills the node after each creating request's
// change commits and before it answers, and retries with the same key on
// the restarted node: the change exists once and the retry gets the answer
// the first request would have had.
func TestIdempotencyKeyCrash(t *testing.T) {
	dir := t.TempDir()
	creds, err := node.Init(dir, "node-crash", "NL")
	if err != nil {
		t.Fatal(err)
	}
	child, url := startCrashNode(t, dir)
	tn := &testNode{t: t, url: url}
	tn.admin = &principal{Role: orgs.Admin, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret}
	tn.admin.Token = tn.token(creds.ClientID, creds.ClientSecret)

	// A peer to register: another node's keys. Its routes are this
	// node's too: every creating route has a case below, and this test
	// fails when one is added without one.
	other := newTestNode(t)
	var keys server.Keys
	other.get("/v1/keys", "").decode(t, http.StatusOK, &keys)
	routes := slices.Clone(other.n.Server.CreatingRoutes())

	hotline := tn.member(orgs.Hotline, "NL")
	police := tn.member(orgs.LawEnforcement, "NL")
	platform := tn.member(orgs.Platform, "NL")
	provider := tn.newOrg("Crash Hosting", orgs.HostingProvider, "NL")
	fresh := tn.newOrg("Crash Platform", orgs.Platform, "NL")
	value := sha256Hex()
	entry := "/v1/hashes/sha256/" + value
	var dispute string

	type crashCase struct {
		route  string // as CreatingRoutes names it
		who    *principal
		path   func() string
		body   any
		action string // the audit action of the change, made once
		status int
		slug   string // the replay's problem type, for an answer not kept
		check  func(t *testing.T, body []byte)
	}
	cases := []crashCase{
		{route: "POST /v1/orgs", who: tn.admin, path: func() string { return "/v1/orgs" },
			body:   map[string]any{"name": "Crash Hotline", "kind": "hotline", "jurisdiction": "BE"},
			action: "org.create", status: http.StatusCreated, check: func(t *testing.T, body []byte) {
				var o orgs.Org
				json.Unmarshal(body, &o)
				// The answer is the organisation as stored.
				if got := tn.get("/v1/orgs/"+o.ID, tn.admin.Token); got.status != http.StatusOK || !bytes.Equal(got.body, body) {
					t.Fatalf("replayed %s; the organisation reads %d %s", body, got.status, got.body)
				}
			}},
		{route: "POST /v1/orgs/:org/users", who: tn.admin, path: func() string { return "/v1/orgs/" + fresh + "/users" },
			body: map[string]any{"name": "Crash analyst"}, action: "user.create",
			status: http.StatusConflict, slug: "idempotency-replay-withheld", check: func(t *testing.T, _ []byte) {
				var users server.UserList
				tn.get("/v1/orgs/"+fresh+"/users", tn.admin.Token).decode(t, http.StatusOK, &users)
				if len(users.Users) != 1 {
					t.Fatalf("%d users", len(users.Users))
				}
			}},
		{route: "POST /v1/orgs/:org/invites", who: tn.admin, path: func() string { return "/v1/orgs/" + hotline.Org + "/invites" },
			body: map[string]any{"name": "Crash person"}, action: "person.invite",
			status: http.StatusConflict, slug: "idempotency-replay-withheld", check: func(t *testing.T, _ []byte) {
				var users server.UserList
				tn.get("/v1/orgs/"+hotline.Org+"/users", tn.admin.Token).decode(t, http.StatusOK, &users)
				n := 0
				for _, u := range users.Users {
					if u.Name == "Crash person" {
						n++
					}
				}
				if n != 1 {
					t.Fatalf("%d invited people", n)
				}
			}},
		{route: "POST /v1/lists", who: tn.admin, path: func() string { return "/v1/lists" },
			body:   map[string]any{"name": "crash", "policy": map[string]any{"min_assessments": 1}, "readers": map[string]any{"roles": orgs.Roles}},
			action: "list.create", status: http.StatusCreated},
		{route: "POST /v1/hashes", who: hotline, path: func() string { return "/v1/hashes" },
			body:   map[string]any{"algo": "sha256", "value": value},
			action: "hash.submit", status: http.StatusCreated}, // a second submission would answer 200
		{route: "POST /v1/hashes/:algo/:value/assessments", who: police, path: func() string { return entry + "/assessments" },
			body:   map[string]any{"verdict": "not_illegal", "category": "baseline", "note": "crash test"},
			action: "dispute.open", status: http.StatusOK, check: func(t *testing.T, body []byte) {
				var r server.AssessResponse
				json.Unmarshal(body, &r)
				if r.Dispute == nil {
					t.Fatalf("replay without the dispute the assessment opened: %s", body)
				}
				dispute = r.Dispute.ID
			}},
		{route: "POST /v1/hashes/:algo/:value/feedback", who: platform, path: func() string { return entry + "/feedback" },
			body: map[string]any{"kind": "confirmed_match"}, action: "hash.feedback", status: http.StatusCreated},
		{route: "POST /v1/disputes/:id/resolve", who: hotline, path: func() string { return "/v1/disputes/" + dispute + "/resolve" },
			body:   map[string]any{"outcome": "upheld", "reason": "crash test"},
			action: "dispute.resolve", status: http.StatusOK}, // a second resolution would answer 409
		{route: "POST /v1/lists/:name/releases", who: tn.admin, path: func() string { return "/v1/lists/crash/releases" },
			action: "release.build", status: http.StatusCreated, check: func(t *testing.T, body []byte) {
				var m struct {
					Version uint64 `json:"version"`
				}
				json.Unmarshal(body, &m)
				if m.Version != 1 {
					t.Fatalf("replayed version %d", m.Version)
				}
			}},
		{route: "POST /v1/hashes/:algo/:value/retract", who: hotline, path: func() string { return entry + "/retract" },
			body: map[string]any{"reason": "crash test"}, action: "hash.retract", status: http.StatusOK}, // a second: 409
		{route: "POST /v1/peers", who: tn.admin, path: func() string { return "/v1/peers" },
			body: map[string]any{"id": "node-a", "name": "Hotline GB", "jurisdiction": "GB", "base_url": other.url + "/",
				"node_key_pem": keys.NodeKeyPEM, "release_key_pem": keys.ReleaseKeyPEM, "log_key": keys.LogVerifierKey,
				"lists": []string{"verified"}, "routed_jurisdictions": []string{"gb"}},
			action: "peer.add", status: http.StatusCreated}, // a second: 409
		{route: "POST /v1/providers", who: tn.admin, path: func() string { return "/v1/providers" },
			body:   map[string]any{"org": provider, "domains": []string{"crash-host.example"}, "email": "abuse@crash-host.example"},
			action: "provider.put", status: http.StatusCreated},
		{route: "POST /v1/reports", who: hotline, path: func() string { return "/v1/reports" },
			body: map[string]any{"urls": []string{"https://www.crash-host.example/x"},
				"classification": map[string]any{"category": "baseline"}, "detection": "manual_review",
				"explanation": "crash test", "observed_at": time.Now().Add(-time.Hour)},
			action: "report.submit", status: http.StatusCreated, check: func(t *testing.T, body []byte) {
				var rr server.ReportReceipt
				json.Unmarshal(body, &rr)
				if rr.Status != "received" || rr.Received.IsZero() {
					t.Fatalf("replayed receipt %s", body)
				}
			}},
	}
	var covered []string
	for _, c := range cases {
		covered = append(covered, c.route)
	}
	slices.Sort(routes)
	slices.Sort(covered)
	if !slices.Equal(routes, covered) {
		t.Fatalf("creating routes %v, crash cases %v", routes, covered)
	}

	count := func(action string) int {
		n := 0
		for _, a := range tn.auditActions() {
			if a == action {
				n++
			}
		}
		return n
	}
	for _, c := range cases {
		var body []byte
		ctype := ""
		if c.body != nil {
			body, ctype = mustJSON(t, c.body), "application/json"
		}
		rq := request{method: "POST", path: c.path(), token: c.who.Token, ctype: ctype, body: body,
			header: map[string]string{"Idempotency-Key": "crash " + c.route}}
		before := count(c.action)

		req, err := http.NewRequest(rq.method, tn.url+rq.path, bytes.NewReader(rq.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+rq.token)
		req.Header.Set("Idempotency-Key", rq.header["Idempotency-Key"])
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if res, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			t.Fatalf("%s: the node answered %d %s instead of stopping after the commit", c.route, res.StatusCode, b)
		}
		select {
		case <-child.exited:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the node did not stop", c.route)
		}
		if code := child.cmd.ProcessState.ExitCode(); code != -1 {
			t.Fatalf("%s: the node exited with %d, not by SIGKILL: %s", c.route, code, child.stderr)
		}

		child, tn.url = startCrashNode(t, dir)
		again := tn.do(rq)
		if c.slug != "" {
			again.problem(t, c.status, c.slug)
		} else {
			again.decode(t, c.status, nil)
			if again.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("%s: retry not answered from the kept outcome: %s", c.route, again.body)
			}
			if ct := again.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("%s: replayed Content-Type %q", c.route, ct)
			}
		}
		if n := count(c.action) - before; n != 1 {
			t.Fatalf("%s: %d %s events for one request retried after a crash", c.route, n, c.action)
		}
		if c.check != nil {
			c.check(t, again.body)
		}
	}
}
