package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/internal/needtool"
	"github.com/hashhub/hashhub/keys"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/mirror"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/translog"
)

const listName = "verified"

// relNode is a real node that publishes releases of one list, with a
// hotline that submits, an admin that builds releases and a platform that
// pulls.
type relNode struct {
	url      string
	dir      string
	n        *node.Node
	admin    *client.Client
	hotline  *client.Client
	platform creds
	plat     *client.Client
}

// startRelNode starts a node. prepare runs on the data directory between
// init and open (to replace its keys); configure on the opened node before
// it serves (to set a short expiry).
func startRelNode(t *testing.T, prepare func(dir string), configure func(*node.Node)) *relNode {
	t.Helper()
	return startRelNodeID(t, "test-node", prepare, configure)
}

// startRelNodeID is startRelNode with a node id of the caller's choosing.
func startRelNodeID(t *testing.T, id string, prepare func(dir string), configure func(*node.Node)) *relNode {
	t.Helper()
	dir := t.TempDir()
	adminCreds, err := node.Init(dir, id, "NL")
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(dir)
	}
	url, n := serveNode(t, dir, configure)
	rn := &relNode{url: url, dir: dir, n: n}
	rn.admin = rn.client(t, creds{adminCreds.ClientID, adminCreds.ClientSecret})
	bg := context.Background()
	hot, err := rn.admin.CreateOrg(bg, client.CreateOrgRequest{Name: "Hotline", Kind: orgs.Hotline, Jurisdiction: "NL"})
	if err != nil {
		t.Fatal(err)
	}
	hu, err := rn.admin.CreateUser(bg, hot.ID, "Analyst")
	if err != nil {
		t.Fatal(err)
	}
	rn.hotline = rn.client(t, creds{hu.ClientID, hu.ClientSecret})
	plat, err := rn.admin.CreateOrg(bg, client.CreateOrgRequest{Name: "Platform", Kind: orgs.Platform, Jurisdiction: "IE"})
	if err != nil {
		t.Fatal(err)
	}
	pu, err := rn.admin.CreateUser(bg, plat.ID, "Puller")
	if err != nil {
		t.Fatal(err)
	}
	rn.platform = creds{pu.ClientID, pu.ClientSecret}
	rn.plat = rn.client(t, rn.platform)
	_, err = rn.admin.CreateList(bg, client.CreateListRequest{Name: listName, Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}})
	if err != nil {
		t.Fatal(err)
	}
	return rn
}

func (rn *relNode) client(t *testing.T, c creds) *client.Client {
	t.Helper()
	cl, err := client.New(client.Config{Server: rn.url, ClientID: c.id, ClientSecret: c.secret, Tries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// submit adds sha256 hashes of the seeds, assessed illegal with severity B.
func (rn *relNode) submit(t *testing.T, seeds ...string) {
	t.Helper()
	for _, s := range seeds {
		if _, _, err := rn.hotline.Submit(context.Background(), client.SubmitRequest{Algo: "sha256", Value: sha(s), Severity: "B"}); err != nil {
			t.Fatal(err)
		}
	}
}

// build publishes the next version.
func (rn *relNode) build(t *testing.T) uint64 {
	t.Helper()
	m, err := rn.admin.BuildRelease(context.Background(), listName)
	if err != nil {
		t.Fatal(err)
	}
	return m.Version
}

func (rn *relNode) manifest(t *testing.T, v uint64) (raw, sig []byte) {
	t.Helper()
	raw, err := rn.plat.Manifest(context.Background(), listName, v)
	if err != nil {
		t.Fatal(err)
	}
	sig, err = rn.plat.ManifestSignature(context.Background(), listName, v)
	if err != nil {
		t.Fatal(err)
	}
	return raw, sig
}

func (rn *relNode) snapshot(t *testing.T) []byte {
	t.Helper()
	rc, _, err := rn.plat.Snapshot(context.Background(), listName, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pull runs hashctl pull as the platform against server (the node or a
// proxy in front of it).
func (rn *relNode) pull(server, dir string, extra ...string) result {
	args := append([]string{"pull", "--list", listName, "--dir", dir}, extra...)
	return hashctl(nil, append(args, "--server", server, "--client-id", rn.platform.id, "--client-secret", rn.platform.secret)...)
}

// proxy sits between hashctl and the node and rewrites answers.
type proxy struct {
	*httptest.Server
	mu       sync.Mutex
	upstream string
	// route picks another upstream for a request ("" keeps the node).
	route func(r *http.Request) string
	// tamper edits an answer before it is sent.
	tamper func(r *http.Request, a *answer)
}

// answer is an upstream answer as the proxy will send it. drop sends the
// headers and half the body, then breaks the connection.
type answer struct {
	status int
	header http.Header
	body   []byte
	drop   bool
}

func newProxy(t *testing.T, upstream string) *proxy {
	p := &proxy{upstream: upstream}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

// set replaces the proxy's behaviour (nil, nil: pass everything through).
func (p *proxy) set(route func(*http.Request) string, tamper func(*http.Request, *answer)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.route, p.tamper = route, tamper
}

func (p *proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	route, tamper := p.route, p.tamper
	p.mu.Unlock()
	base := p.upstream
	if route != nil {
		if u := route(r); u != "" {
			base = u
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	a := &answer{status: resp.StatusCode, header: resp.Header.Clone(), body: body}
	if tamper != nil {
		tamper(r, a)
	}
	for k, vs := range a.header {
		if k != "Content-Length" && k != "Etag" {
			w.Header()[k] = vs
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	if a.drop {
		w.Write(a.body[:len(a.body)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection breaks mid-body
	}
	w.Write(a.body)
}

func manifestPath(v uint64, file string) string {
	return fmt.Sprintf("/v1/lists/%s/releases/%d/%s", listName, v, file)
}

func isDelta(r *http.Request, to uint64) bool {
	return r.URL.Path == "/v1/lists/"+listName+"/delta" && r.URL.Query().Get("to") == strconv.FormatUint(to, 10)
}

// dirFiles reads every file in dir, to show a refusal changed nothing.
func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	if len(out) == 0 {
		t.Fatalf("no files in %s", dir)
	}
	return out
}

func unchanged(t *testing.T, dir string, before map[string][]byte) {
	t.Helper()
	after := dirFiles(t, dir)
	if !slices.Equal(slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after))) {
		t.Errorf("files before %v, after %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}
	for name, b := range before {
		if !bytes.Equal(b, after[name]) {
			t.Errorf("%s changed by a refused pull", name)
		}
	}
}

// mirrorVersion reads the version a mirror holds.
func mirrorVersion(t *testing.T, dir string) uint64 {
	t.Helper()
	m, err := mirror.OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st, err := m.State()
	if err != nil {
		t.Fatal(err)
	}
	return st.Version
}

// TestPullMirror follows a list through a platform's mirror: a first pull
// that pins the keys on first use, adds, a retraction, a dispute and an
// attribute update, an incremental pull, offline verification and export.
func TestPullMirror(t *testing.T) {
	rn := startRelNode(t, nil, nil)
	bg := context.Background()
	rn.submit(t, "h1", "h2", "h3", "h4", "h5")
	rn.build(t)
	dir := filepath.Join(t.TempDir(), "mirror")

	// The first pull needs keys: pinned from files, or trusted on first use.
	fails(t, rn.pull(rn.url, dir), 2, "holds no mirror yet", "--trust-on-first-use")
	r := ok(t, rn.pull(rn.url, dir, "--trust-on-first-use"))
	k, err := rn.plat.Keys(bg)
	if err != nil {
		t.Fatal(err)
	}
	contains(t, r.stderr, "warning: trusting the keys the node serves, unchecked", k.ReleaseKeyID, k.LogVerifierKey)
	contains(t, r.stdout, "Pulled verified into "+dir+": version 0 → 1", "version 1: 5 added, 0 removed, 0 updated, 5 entries")
	if field(t, r.stdout, "entries") != "5" || field(t, r.stdout, "checkpoint") != "log size 1" {
		t.Errorf("first pull:\n%s", r)
	}

	// Pinned out of band: the PEM from /v1/keys/release.pem and the log key.
	pemFile := filepath.Join(t.TempDir(), "node.pub.pem")
	pem, err := rn.plat.ReleaseKeyPEM(bg)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pemFile, pem, 0o600)
	dir2 := filepath.Join(t.TempDir(), "pinned")
	ok(t, rn.pull(rn.url, dir2, "--key", pemFile, "--log-key", k.LogVerifierKey))
	fails(t, rn.pull(rn.url, filepath.Join(t.TempDir(), "x"), "--key", pemFile, "--trust-on-first-use"), 2, "not both")

	// Changes: two adds, a retraction, a dispute, a new severity.
	rn.submit(t, "h6", "h7")
	if _, err := rn.hotline.Retract(bg, "sha256", sha("h2"), "mistake"); err != nil {
		t.Fatal(err)
	}
	if _, err := rn.plat.Feedback(bg, "sha256", sha("h3"), client.FeedbackRequest{Kind: "false_positive", Note: "a cat"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rn.hotline.Assess(bg, "sha256", sha("h4"), client.AssessRequest{Verdict: "illegal", Severity: "A"}); err != nil {
		t.Fatal(err)
	}
	rn.build(t)
	rn.submit(t, "h8")
	rn.build(t)

	r = ok(t, rn.pull(rn.url, dir))
	contains(t, r.stdout, "version 1 → 3", "version 2: 2 added, 2 removed, 1 updated, 5 entries", "version 3: 1 added, 0 removed, 0 updated, 6 entries")
	if field(t, r.stdout, "checkpoint") != "log size 3" {
		t.Errorf("incremental pull:\n%s", r)
	}
	r = ok(t, rn.pull(rn.url, dir, "--json"))
	res := decode[mirror.Result](t, r)
	if !res.UpToDate || res.Version != 3 || res.Entries != 6 {
		t.Errorf("up-to-date pull: %+v", res)
	}

	// Offline: no server is needed.
	r = ok(t, hashctl(nil, "verify", "--dir", dir))
	contains(t, r.stdout, "Mirror "+dir+" of verified from "+rn.url+" (node test-node): OK", "3 manifests from version 1")
	if field(t, r.stdout, "entries") != "6" {
		t.Errorf("verify:\n%s", r)
	}
	rep := decode[mirror.Report](t, ok(t, hashctl(nil, "verify", "--dir", dir, "--json")))
	if rep.Version != 3 || rep.Manifests != 3 || rep.Expired {
		t.Errorf("verify --json: %+v", rep)
	}

	// The export is the node's snapshot, byte for byte.
	r = ok(t, hashctl(nil, "mirror", "export", "--dir", dir))
	snap := rn.snapshot(t)
	if r.stdout != string(snap) {
		t.Errorf("export:\n%s\nsnapshot:\n%s", r.stdout, snap)
	}
	for _, s := range []string{"h1", "h4", "h5", "h6", "h7", "h8"} {
		contains(t, r.stdout, sha(s))
	}
	lacks(t, r.stdout, sha("h2"), sha("h3"))
	contains(t, r.stdout, `"value":"`+sha("h4")+`","severity":"A"`)
	out := filepath.Join(t.TempDir(), "list.csv")
	ok(t, hashctl(nil, "mirror", "export", "--dir", dir, "--format", "csv", "--out", out))
	csv, _ := os.ReadFile(out)
	if !strings.HasPrefix(string(csv), "algo,value,quality,severity\n") || strings.Count(string(csv), "\n") != 7 {
		t.Errorf("csv export:\n%s", csv)
	}

	// Flags that disagree with the mirror are refused.
	otherKey := filepath.Join(t.TempDir(), "other.pem")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := release.NewSigner(key)
	os.WriteFile(otherKey, s.PublicKeyPEM(), 0o600)
	fails(t, rn.pull(rn.url, dir, "--key", otherKey), 1, "refused:", "is not the one pinned", "pull into a new --dir")
	fails(t, rn.pull(rn.url, dir, "--log-key", "hashhub/x+01234567+AQ=="), 1, "is not the one pinned")
	fails(t, hashctl(nil, "pull", "--list", "other", "--dir", dir, "--server", rn.url, "--client-id", rn.platform.id, "--client-secret", rn.platform.secret),
		2, `mirrors list "verified", not "other"`)
	fails(t, rn.pull("http://127.0.0.2:1", dir), 2, "mirrors \"verified\" from "+rn.url)
	fails(t, hashctl(nil, "verify", "--dir", t.TempDir()), 1, "no mirror in this directory")

	// A node that no longer keeps the deltas a mirror needs sends it to
	// the snapshot; the chain of manifests is still checked.
	rn.submit(t, "h9")
	rn.build(t)
	rn.submit(t, "h10")
	rn.build(t)
	px := newProxy(t, rn.url)
	dir3 := filepath.Join(t.TempDir(), "behind")
	ok(t, rn.pull(px.URL, dir3, "--trust-on-first-use"))
	rn.submit(t, "h11")
	rn.build(t)
	gone := 0
	px.set(nil, func(r *http.Request, a *answer) {
		if r.URL.Path == "/v1/lists/"+listName+"/delta" {
			gone++
			a.status, a.header = http.StatusGone, http.Header{"Content-Type": {"application/problem+json"}}
			a.body = []byte(`{"type":"urn:hashhub:problem:version-gone","title":"Version no longer kept","status":410,"snapshot":"/v1/lists/verified/snapshot"}`)
		}
	})
	r = ok(t, rn.pull(px.URL, dir3))
	contains(t, r.stdout, "version 5 → 6", "version 6: loaded from the snapshot, 9 entries")
	contains(t, r.stderr, "catching up from the snapshot")
	if gone != 1 {
		t.Errorf("%d delta requests, want 1", gone)
	}
	r = ok(t, hashctl(nil, "mirror", "export", "--dir", dir3))
	if r.stdout != string(rn.snapshot(t)) {
		t.Errorf("export after catch-up differs from the snapshot")
	}
	ok(t, hashctl(nil, "verify", "--dir", dir3))
}

// TestPullResumes: a pull whose third delta breaks off keeps versions 1
// and 2, and the next pull completes.
func TestPullResumes(t *testing.T) {
	rn := startRelNode(t, nil, nil)
	for v := range 3 {
		rn.submit(t, fmt.Sprint("r", v), fmt.Sprint("s", v))
		rn.build(t)
	}
	px := newProxy(t, rn.url)
	px.set(nil, func(r *http.Request, a *answer) { a.drop = isDelta(r, 3) })
	dir := filepath.Join(t.TempDir(), "mirror")
	r := rn.pull(px.URL, dir, "--trust-on-first-use")
	fails(t, r, 1, "hashctl: pull: version 3: fetch delta 2→3", "unexpected EOF", "holds version 2")
	contains(t, r.stdout, "version 0 → 2", "version 2: 2 added")
	if v := mirrorVersion(t, dir); v != 2 {
		t.Fatalf("after the broken pull the mirror holds version %d, want 2", v)
	}
	ok(t, hashctl(nil, "verify", "--dir", dir))
	px.set(nil, nil)
	r = ok(t, rn.pull(px.URL, dir))
	contains(t, r.stdout, "version 2 → 3", "version 3: 2 added, 0 removed, 0 updated, 6 entries")
}

// TestPullRefusals serves tampered answers through a proxy. Each refusal
// must exit 1 naming the check and leave the mirror's files byte for
// byte as they were.
func TestPullRefusals(t *testing.T) {
	rn := startRelNode(t, nil, nil)
	other := startRelNode(t, nil, nil) // another node, with keys of its own
	other.submit(t, "o1")
	other.build(t)
	otherRaw, otherSig := other.manifest(t, 1)

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forger, _ := release.NewSigner(key)
	px := newProxy(t, rn.url)

	seed := 0
	next := func(n int) {
		for range n {
			seed++
			rn.submit(t, fmt.Sprint("seed", seed))
		}
	}
	next(3)
	rn.build(t)

	cases := []struct {
		name string
		// setup publishes what the case needs and returns the tampering;
		// held is the version the mirror holds.
		setup func(held uint64) func(*http.Request, *answer)
		// want is what stderr must say, given the version held.
		want func(held uint64) string
	}{
		{"forged signature", func(held uint64) func(*http.Request, *answer) {
			next(1)
			v := rn.build(t)
			raw, _ := rn.manifest(t, v)
			forged, _ := forger.Sign(raw)
			return func(r *http.Request, a *answer) {
				if r.URL.Path == manifestPath(v, "manifest.sig") {
					a.body = forged
				}
			}
		}, func(h uint64) string { return fmt.Sprintf("refused version %d: bad signature", h+1) }},
		{"another node's key", func(held uint64) func(*http.Request, *answer) {
			next(1)
			v := rn.build(t)
			return func(r *http.Request, a *answer) {
				switch r.URL.Path {
				case manifestPath(v, "manifest.json"):
					a.body = otherRaw
				case manifestPath(v, "manifest.sig"):
					a.body = otherSig
				}
			}
		}, func(h uint64) string {
			return fmt.Sprintf("refused version %d: signed by a key that is not pinned", h+1)
		}},
		{"rollback", func(held uint64) func(*http.Request, *answer) {
			return func(r *http.Request, a *answer) {
				if strings.HasSuffix(r.URL.Path, "/releases/latest") {
					a.body = bytes.Replace(a.body, []byte(fmt.Sprintf(`"latest":%d`, held)), []byte(fmt.Sprintf(`"latest":%d`, held-1)), 1)
				}
			}
		}, func(h uint64) string {
			return fmt.Sprintf("refused version %[1]d: rollback: the node says its latest version is %[1]d, the mirror holds %[2]d", h-1, h)
		}},
		{"gap", func(held uint64) func(*http.Request, *answer) {
			next(1)
			v := rn.build(t)
			next(1)
			w := rn.build(t)
			raw, sig := rn.manifest(t, w)
			return func(r *http.Request, a *answer) {
				switch r.URL.Path {
				case manifestPath(v, "manifest.json"):
					a.body = raw
				case manifestPath(v, "manifest.sig"):
					a.body = sig
				}
			}
		}, func(h uint64) string {
			return fmt.Sprintf("refused version %[1]d: gap in versions: the manifest served as version %[1]d is version %[2]d", h+1, h+2)
		}},
		{"missing version", func(held uint64) func(*http.Request, *answer) {
			next(1)
			v := rn.build(t)
			next(1)
			rn.build(t)
			return func(r *http.Request, a *answer) {
				if r.URL.Path == manifestPath(v, "manifest.json") {
					a.status, a.body = http.StatusNotFound, []byte(`{"title":"Not found","status":404}`)
					a.header.Set("Content-Type", "application/problem+json")
				}
			}
		}, func(h uint64) string {
			return fmt.Sprintf("refused version %[1]d: gap in versions: the node has no manifest for version %[1]d", h+1)
		}},
		{"replay", func(held uint64) func(*http.Request, *answer) {
			raw, sig := rn.manifest(t, held)
			next(1)
			v := rn.build(t)
			return func(r *http.Request, a *answer) {
				switch r.URL.Path {
				case manifestPath(v, "manifest.json"):
					a.body = raw
				case manifestPath(v, "manifest.sig"):
					a.body = sig
				}
			}
		}, func(h uint64) string {
			return fmt.Sprintf("refused version %[1]d: version mismatch (replayed manifest): the manifest served as version %[1]d is version %[2]d", h+1, h)
		}},
		{"changed delta line", func(held uint64) func(*http.Request, *answer) {
			next(2)
			v := rn.build(t)
			return func(r *http.Request, a *answer) {
				if isDelta(r, v) {
					i := bytes.Index(a.body, []byte(`"value":"`)) + len(`"value":"`)
					a.body = bytes.Clone(a.body)
					if a.body[i] == '0' {
						a.body[i] = '1'
					} else {
						a.body[i] = '0'
					}
				}
			}
		}, func(h uint64) string { return fmt.Sprintf("refused version %d: delta digest mismatch: SHA-256", h+1) }},
		{"reordered delta lines", func(held uint64) func(*http.Request, *answer) {
			next(2)
			v := rn.build(t)
			return func(r *http.Request, a *answer) {
				if isDelta(r, v) {
					lines := bytes.SplitAfter(a.body, []byte("\n"))
					lines[0], lines[1] = lines[1], lines[0]
					a.body = bytes.Join(lines, nil)
				}
			}
		}, func(h uint64) string { return fmt.Sprintf("refused version %d: delta digest mismatch: SHA-256", h+1) }},
		{"truncated delta", func(held uint64) func(*http.Request, *answer) {
			next(2)
			v := rn.build(t)
			return func(r *http.Request, a *answer) {
				if isDelta(r, v) {
					a.body = a.body[:bytes.IndexByte(a.body, '\n')+1]
				}
			}
		}, func(h uint64) string {
			return fmt.Sprintf("refused version %d: delta digest mismatch: the delta is", h+1)
		}},
		{"old checkpoint", func(held uint64) func(*http.Request, *answer) {
			old, err := rn.plat.Checkpoint(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			next(1)
			rn.build(t)
			// Versions held are logged in old; a newer mirror saw a
			// bigger log. Serve a pull from a mirror made now the
			// checkpoint from before.
			return func(r *http.Request, a *answer) {
				if r.URL.Path == "/v1/log/checkpoint" {
					a.body = old
				}
			}
		}, func(h uint64) string { return fmt.Sprintf("refused checkpoint: rollback: size %d, trusted %d", h, h+1) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			px.set(nil, nil)
			dir := filepath.Join(t.TempDir(), "mirror")
			ok(t, rn.pull(px.URL, dir, "--trust-on-first-use"))
			held := mirrorVersion(t, dir)
			tamper := tc.setup(held)
			if tc.name == "old checkpoint" {
				// The mirror must first trust the newer checkpoint.
				ok(t, rn.pull(px.URL, dir))
			}
			before := dirFiles(t, dir)
			px.set(nil, tamper)
			r := rn.pull(px.URL, dir)
			fails(t, r, 1, "hashctl: pull: "+tc.want(held))
			unchanged(t, dir, before)
			t.Log(strings.TrimSpace(r.stderr))
		})
	}
}

// TestPullRefusesExpired: a node whose manifests expire within a minute,
// and a clock moved past that.
func TestPullRefusesExpired(t *testing.T) {
	rn := startRelNode(t, nil, func(n *node.Node) {
		signer, err := release.NewSigner(n.Keys.Release)
		if err != nil {
			t.Fatal(err)
		}
		logSigner, err := translog.NewSigner("hashhub/"+n.Config.NodeID, n.Keys.Log)
		if err != nil {
			t.Fatal(err)
		}
		n.Hub.SetPublisher(&hub.Publisher{Signer: signer, Log: logSigner, Expiry: time.Minute})
	})
	defer func() { clock = time.Now }()
	rn.submit(t, "e1")
	rn.build(t)
	dir := filepath.Join(t.TempDir(), "mirror")
	ok(t, rn.pull(rn.url, dir, "--trust-on-first-use"))
	before := dirFiles(t, dir)

	clock = func() time.Time { return time.Now().Add(2 * time.Minute) }
	// Nothing new, but the node has gone quiet: refused all the same.
	fails(t, rn.pull(rn.url, dir), 1, "hashctl: pull: refused version 1: manifest expired", "stopped publishing")
	unchanged(t, dir, before)
	// A new version that is itself already past its expiry.
	rn.submit(t, "e2")
	rn.build(t)
	fails(t, rn.pull(rn.url, dir), 1, "hashctl: pull: refused version 2: manifest expired")
	unchanged(t, dir, before)

	// Offline: an error unless an expired list is accepted.
	fails(t, hashctl(nil, "verify", "--dir", dir), 1, "manifest expired", "--allow-expired")
	r := ok(t, hashctl(nil, "verify", "--dir", dir, "--allow-expired"))
	contains(t, r.stderr, "warning:", "manifest expired")
	r = ok(t, hashctl(nil, "mirror", "export", "--dir", dir))
	contains(t, r.stderr, "warning: version 1 of verified expired")

	clock = time.Now
	ok(t, rn.pull(rn.url, dir))
}

// TestPullRefusesForkedLog: a second node holding a copy of the first
// one's keys (so its checkpoints carry the same log signature) publishes
// another history; its checkpoint cannot be consistent with the one the
// mirror trusts.
func TestPullRefusesForkedLog(t *testing.T) {
	a := startRelNode(t, nil, nil)
	b := startRelNode(t, func(dir string) {
		kd := filepath.Join(dir, keys.Dir)
		for _, f := range []string{keys.ReleaseKeyFile, keys.ReleasePubFile, keys.LogKeyFile, keys.TokenKeyFile} {
			raw, err := os.ReadFile(filepath.Join(a.dir, keys.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(kd, f), raw, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}, nil)
	ka, _ := a.plat.Keys(context.Background())
	kb, _ := b.plat.Keys(context.Background())
	if ka.LogVerifierKey != kb.LogVerifierKey || ka.ReleaseKeyID != kb.ReleaseKeyID {
		t.Fatal("the second node does not share the first one's keys")
	}
	a.submit(t, "a1")
	a.build(t)
	b.submit(t, "b1")
	b.build(t)
	b.submit(t, "b2")
	b.build(t)
	a.submit(t, "a2")
	a.build(t)

	px := newProxy(t, a.url)
	dir := filepath.Join(t.TempDir(), "mirror")
	ok(t, a.pull(px.URL, dir, "--trust-on-first-use"))
	a.submit(t, "a3")
	a.build(t)
	before := dirFiles(t, dir)
	px.set(func(r *http.Request) string {
		if strings.HasPrefix(r.URL.Path, "/v1/log/") {
			return b.url
		}
		return ""
	}, nil)
	r := a.pull(px.URL, dir)
	fails(t, r, 1, "hashctl: pull: refused checkpoint: log inconsistent with the trusted checkpoint: fork at size 2")
	unchanged(t, dir, before)

	b.submit(t, "b3")
	b.build(t)
	r = a.pull(px.URL, dir)
	fails(t, r, 1, "hashctl: pull: refused checkpoint: log inconsistent with the trusted checkpoint: size 3 does not extend trusted size 2")
	unchanged(t, dir, before)

	px.set(nil, nil)
	ok(t, a.pull(px.URL, dir))
}

// TestReleaseVerifiesWithOpenSSL checks a real release with openssl as a
// third party would: the PEM from /v1/keys/release.pem, manifest.json,
// and manifest.sig base64-decoded to DER.
func TestReleaseVerifiesWithOpenSSL(t *testing.T) {
	openssl := needtool.Command(t, "openssl")
	rn := startRelNode(t, nil, nil)
	rn.submit(t, "x1", "x2")
	rn.build(t)
	pem, err := rn.plat.ReleaseKeyPEM(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	raw, sig := rn.manifest(t, 1)
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{"node.pub.pem": pem, "manifest.json": raw, "sig.der": der} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(openssl, "dgst", "-sha256", "-verify", "node.pub.pem", "-signature", "sig.der", "manifest.json")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "Verified OK" {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	// And a manifest changed by one byte does not.
	bad := bytes.Replace(raw, []byte(`"version":1`), []byte(`"version":2`), 1)
	os.WriteFile(filepath.Join(dir, "manifest.json"), bad, 0o600)
	cmd = exec.Command(openssl, "dgst", "-sha256", "-verify", "node.pub.pem", "-signature", "sig.der", "manifest.json")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "Verification failure") {
		t.Fatalf("openssl accepted a changed manifest: %v\n%s", err, out)
	}
	var m release.Manifest
	if err := json.Unmarshal(raw, &m); err != nil || m.Version != 1 {
		t.Fatalf("manifest: %v %+v", err, m)
	}
}
