package server_test

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/server"
	"github.com/hashhub/hashhub/setroot"
)

// TestReleaseServing checks the release endpoints' HTTP contract: reader
// restrictions, immutable artifacts with strong ETags, byte-exact deltas,
// CSV, 410 past retention, clear 4xx for versions that do not exist, and a
// public log.
func TestReleaseServing(t *testing.T) {
	tn := newTestNode(t)
	hl := tn.member(orgs.Hotline, "NL")
	pl := tn.member(orgs.Platform, "US")
	other := tn.member(orgs.Platform, "US")
	tn.postJSON("/v1/lists", tn.admin.Token, map[string]any{"name": "one", "policy": map[string]any{"min_assessments": 1},
		"readers": map[string]any{"orgs": []string{pl.Org}}}).decode(t, http.StatusCreated, nil)
	build := func() {
		tn.do(request{method: "POST", path: "/v1/lists/one/releases", token: tn.admin.Token}).decode(t, http.StatusCreated, nil)
	}
	// No release yet.
	tn.get("/v1/lists/one/releases/latest", pl.Token).problem(t, http.StatusNotFound, "no-release")
	// Before any release the log is empty, and its checkpoint says so.
	empty := tn.get("/v1/log/checkpoint", "")
	empty.decode(t, http.StatusOK, nil)
	if !strings.HasPrefix(string(empty.body), "hashhub/node-a\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n") {
		t.Fatalf("empty checkpoint:\n%s", empty.body)
	}
	v1 := strings.Repeat("a1", 16)
	tn.postJSON("/v1/hashes", hl.Token, map[string]any{"algo": "md5", "value": v1, "severity": "C"}).decode(t, http.StatusCreated, nil)
	build()

	var latest server.LatestRelease
	tn.get("/v1/lists/one/releases/latest", pl.Token).decode(t, http.StatusOK, &latest)
	if latest.Latest != 1 || latest.Entries != 1 || latest.Manifest != "/v1/lists/one/releases/1/manifest.json" {
		t.Fatalf("latest: %+v", latest)
	}
	// Readers only: another platform, and analysts, do not see the list.
	for _, p := range []*principal{other, hl} {
		tn.get("/v1/lists/one/releases/latest", p.Token).problem(t, http.StatusNotFound, "not-found")
		tn.get("/v1/lists/one/delta?from=0", p.Token).problem(t, http.StatusNotFound, "not-found")
		tn.get("/v1/lists/one/snapshot", p.Token).problem(t, http.StatusNotFound, "not-found")
	}
	tn.get("/v1/lists/one/releases/1/manifest.json", "").problem(t, http.StatusUnauthorized, "unauthorized")

	m := tn.get("/v1/lists/one/releases/1/manifest.json", pl.Token)
	m.decode(t, http.StatusOK, nil)
	etag := m.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || !strings.Contains(m.header.Get("Cache-Control"), "immutable") {
		t.Fatalf("manifest headers: %v", m.header)
	}
	again := tn.do(request{method: "GET", path: "/v1/lists/one/releases/1/manifest.json", token: pl.Token, header: map[string]string{"If-None-Match": etag}})
	if again.status != http.StatusNotModified || len(again.body) != 0 {
		t.Fatalf("conditional GET: %d %s", again.status, again.body)
	}
	sig := tn.get("/v1/lists/one/releases/1/manifest.sig", pl.Token)
	sig.decode(t, http.StatusOK, nil)
	if sig.header.Get("ETag") == etag || len(sig.body) < 60 {
		t.Fatalf("signature: %s", sig.body)
	}
	bundle := tn.get("/v1/lists/one/releases/1/manifest.sigstore.json", pl.Token)
	bundle.decode(t, http.StatusOK, nil)
	if !strings.Contains(string(bundle.body), `"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"`) ||
		!strings.Contains(bundle.header.Get("Cache-Control"), "immutable") {
		t.Fatalf("bundle: %s %v", bundle.body, bundle.header)
	}
	tn.get("/v1/lists/one/releases/2/manifest.json", pl.Token).problem(t, http.StatusNotFound, "version-not-found")
	tn.get("/v1/lists/one/releases/0/manifest.json", pl.Token).problem(t, http.StatusUnprocessableEntity, "invalid-input")
	tn.get("/v1/lists/one/releases/1/other.txt", pl.Token).problem(t, http.StatusNotFound, "no-route")

	// Deltas.
	d := tn.get("/v1/lists/one/delta?from=0&to=1", pl.Token)
	d.decode(t, http.StatusOK, nil)
	want := `{"op":"add","algo":"md5","value":"` + v1 + `","severity":"C"}` + "\n"
	if string(d.body) != want || d.header.Get("Content-Type") != "application/x-ndjson" || !strings.Contains(d.header.Get("Cache-Control"), "immutable") {
		t.Fatalf("delta: %q %v", d.body, d.header)
	}
	csv := tn.get("/v1/lists/one/delta?from=0&to=1&format=csv", pl.Token)
	csv.decode(t, http.StatusOK, nil)
	if string(csv.body) != "op,algo,value,quality,severity\nadd,md5,"+v1+",,C\n" {
		t.Fatalf("csv delta: %q", csv.body)
	}
	tn.get("/v1/lists/one/delta", pl.Token).problem(t, http.StatusUnprocessableEntity, "invalid-input")
	tn.get("/v1/lists/one/delta?from=x", pl.Token).problem(t, http.StatusUnprocessableEntity, "invalid-input")
	tn.get("/v1/lists/one/delta?from=0&format=xml", pl.Token).problem(t, http.StatusUnprocessableEntity, "invalid-input")
	tn.get("/v1/lists/one/delta?from=5", pl.Token).problem(t, http.StatusNotFound, "version-not-found")

	// An entry's proof verifies against the manifest's set root.
	var ep hub.EntryProof
	tn.get("/v1/lists/one/proof?algo=md5&value="+v1, pl.Token).decode(t, http.StatusOK, &ep)
	if err := verifyEntryProof(ep); err != nil {
		t.Fatalf("entry proof: %v (%+v)", err, ep)
	}
	tn.get("/v1/lists/one/proof?algo=md5&value="+strings.Repeat("ee", 16), pl.Token).problem(t, http.StatusNotFound, "not-found")
	tn.get("/v1/lists/one/proof?algo=md5&value=zz", pl.Token).problem(t, http.StatusUnprocessableEntity, "invalid-input")

	// Snapshot: latest only; older versions are gone, newer do not exist.
	s := tn.get("/v1/lists/one/snapshot", pl.Token)
	s.decode(t, http.StatusOK, nil)
	if string(s.body) != `{"algo":"md5","value":"`+v1+`","severity":"C"}`+"\n" || s.header.Get("X-Hashhub-Version") != "1" {
		t.Fatalf("snapshot: %q", s.body)
	}
	build()
	p := tn.get("/v1/lists/one/snapshot?version=1", pl.Token).problem(t, http.StatusGone, "version-gone")
	if p.Snapshot != "/v1/lists/one/snapshot" {
		t.Fatalf("410 without the snapshot's address: %+v", p)
	}
	tn.get("/v1/lists/one/snapshot?version=3", pl.Token).problem(t, http.StatusNotFound, "version-not-found")

	// The log is public: checkpoint and proofs need no token; leaves do.
	cp := tn.get("/v1/log/checkpoint", "")
	cp.decode(t, http.StatusOK, nil)
	if !strings.HasPrefix(string(cp.body), "hashhub/node-a\n2\n") {
		t.Fatalf("checkpoint:\n%s", cp.body)
	}
	var incl server.InclusionProof
	tn.get("/v1/log/proof/inclusion?index=0&size=2", "").decode(t, http.StatusOK, &incl)
	if len(incl.Proof) != 1 {
		t.Fatalf("inclusion proof: %+v", incl)
	}
	var cons server.ConsistencyProof
	tn.get("/v1/log/proof/consistency?old=1&new=2", "").decode(t, http.StatusOK, &cons)
	if len(cons.Proof) != 1 {
		t.Fatalf("consistency proof: %+v", cons)
	}
	for _, bad := range []string{"/v1/log/proof/inclusion?index=2&size=2", "/v1/log/proof/inclusion?index=0&size=9",
		"/v1/log/proof/consistency?old=0&new=2", "/v1/log/proof/consistency?old=3&new=2", "/v1/log/proof/inclusion?index=-1&size=1"} {
		r := tn.get(bad, "")
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s", bad, r.status, r.body)
		}
	}
	tn.get("/v1/log/leaves/0", "").problem(t, http.StatusUnauthorized, "unauthorized")
	leaf := tn.get("/v1/log/leaves/0", pl.Token)
	leaf.decode(t, http.StatusOK, nil)
	if string(leaf.body) != string(m.body) {
		t.Fatal("log leaf 0 is not manifest 1")
	}
	var keys server.Keys
	tn.get("/v1/keys", "").decode(t, http.StatusOK, &keys)
	if !strings.Contains(keys.ReleaseKeyPEM, "BEGIN PUBLIC KEY") || !strings.HasPrefix(keys.LogVerifierKey, "hashhub/node-a+") {
		t.Fatalf("keys: %+v", keys)
	}
}

func verifyEntryProof(ep hub.EntryProof) error {
	root, err := setroot.ParseRoot(ep.SetRoot)
	if err != nil {
		return err
	}
	dec := func(hs []string) []setroot.Hash {
		out := make([]setroot.Hash, len(hs))
		for i, h := range hs {
			b, _ := hex.DecodeString(h)
			copy(out[i][:], b)
		}
		return out
	}
	return setroot.VerifyProof(root, ep.Key, []byte(ep.Line), setroot.Proof{Bucket: ep.Bucket, Leaves: dec(ep.Leaves), Path: dec(ep.Path)})
}

// TestDeltaFromZeroInSnapshotOrder pins what docs/release-format.md says:
// a snapshot is in set-root order (bucket, then leaf hash), not key order;
// delta?from=0 up to a latest version N > 1 lists the same lines in the
// same order, as adds, while with N = 1 it is version 1's recorded delta,
// in key order.
func TestDeltaFromZeroInSnapshotOrder(t *testing.T) {
	tn := newTestNode(t)
	hl := tn.member(orgs.Hotline, "NL")
	pl := tn.member(orgs.Platform, "US")
	tn.postJSON("/v1/lists", tn.admin.Token, map[string]any{"name": "one", "policy": map[string]any{"min_assessments": 1},
		"readers": map[string]any{"orgs": []string{pl.Org}}}).decode(t, http.StatusCreated, nil)
	var body strings.Builder
	for i := range 40 {
		fmt.Fprintf(&body, "{\"algo\":\"md5\",\"value\":\"%032x\",\"severity\":\"B\"}\n", i)
	}
	tn.do(request{method: "POST", path: "/v1/hashes/import", token: hl.Token, ctype: "application/x-ndjson",
		body: []byte(body.String())}).decode(t, http.StatusOK, nil)
	build := func() {
		tn.do(request{method: "POST", path: "/v1/lists/one/releases", token: tn.admin.Token}).decode(t, http.StatusCreated, nil)
	}
	build()
	one := tn.get("/v1/lists/one/delta?from=0", pl.Token)
	one.decode(t, http.StatusOK, nil)
	if step := tn.get("/v1/lists/one/delta?from=0&to=1", pl.Token); string(one.body) != string(step.body) {
		t.Fatalf("with one version, delta?from=0 is not version 1's delta:\n%s", one.body)
	}
	tn.postJSON("/v1/hashes", hl.Token, map[string]any{"algo": "md5", "value": fmt.Sprintf("%032x", 40), "severity": "B"}).
		decode(t, http.StatusCreated, nil)
	build()

	snap := tn.get("/v1/lists/one/snapshot", pl.Token)
	snap.decode(t, http.StatusOK, nil)
	lines := strings.Split(strings.TrimSuffix(string(snap.body), "\n"), "\n")
	if len(lines) != 41 {
		t.Fatalf("snapshot has %d lines, want 41", len(lines))
	}
	type pos struct {
		bucket uint16
		leaf   [32]byte
		key    string
	}
	ps := make([]pos, len(lines))
	for i, l := range lines {
		var it struct{ Algo, Value string }
		if err := json.Unmarshal([]byte(l), &it); err != nil {
			t.Fatal(err)
		}
		key := it.Algo + ":" + it.Value
		k := sha256.Sum256([]byte(key))
		ps[i] = pos{binary.BigEndian.Uint16(k[:2]), sha256.Sum256([]byte(l)), key}
	}
	inSetRootOrder := slices.IsSortedFunc(ps, func(a, b pos) int {
		return cmp.Or(cmp.Compare(a.bucket, b.bucket), bytes.Compare(a.leaf[:], b.leaf[:]))
	})
	inKeyOrder := slices.IsSortedFunc(ps, func(a, b pos) int { return strings.Compare(a.key, b.key) })
	if !inSetRootOrder || inKeyOrder {
		t.Fatalf("snapshot: set-root order %v, key order %v; want set-root order only", inSetRootOrder, inKeyOrder)
	}

	d := tn.get("/v1/lists/one/delta?from=0", pl.Token)
	d.decode(t, http.StatusOK, nil)
	var want strings.Builder
	for _, l := range lines {
		want.WriteString(`{"op":"add",` + l[1:] + "\n")
	}
	if string(d.body) != want.String() {
		t.Fatalf("delta?from=0 is not the snapshot's lines in the snapshot's order:\n%s\nsnapshot:\n%s", d.body, snap.body)
	}
}
