package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/orgs"
)

// TestListArtifactsNotSharedByCaches: every list route needs a token and
// answers only the list's readers, so no list artifact may be kept by a
// shared cache or CDN (which would hand it to anyone): manifests, their
// signatures and bundles, deltas, snapshots, entry proofs, records and log
// leaves are private and vary by Authorization, for a list with one
// reader and for one every role reads alike; the immutable ones keep a
// strong ETag and answer 304. Log proofs, served without a token, stay
// public and immutable.
func TestListArtifactsNotSharedByCaches(t *testing.T) {
	tn := newTestNode(t)
	hl := tn.member(orgs.Hotline, "NL")
	pl := tn.member(orgs.Platform, "US")
	roles := make([]string, len(orgs.Roles))
	for i, r := range orgs.Roles {
		roles[i] = string(r)
	}
	for name, readers := range map[string]map[string]any{
		"restricted": {"orgs": []string{pl.Org}},
		"everyone":   {"roles": roles},
	} {
		tn.postJSON("/v1/lists", tn.admin.Token, map[string]any{"name": name, "policy": map[string]any{"min_assessments": 1},
			"readers": readers}).decode(t, http.StatusCreated, nil)
	}
	v := strings.Repeat("a1", 16)
	tn.postJSON("/v1/hashes", hl.Token, map[string]any{"algo": "md5", "value": v, "severity": "C"}).decode(t, http.StatusCreated, nil)
	for _, name := range []string{"restricted", "everyone"} {
		tn.do(request{method: "POST", path: "/v1/lists/" + name + "/releases", token: tn.admin.Token}).decode(t, http.StatusCreated, nil)
	}

	const forever, recheck = "private, max-age=31536000, immutable", "private, no-cache"
	for _, name := range []string{"restricted", "everyone"} {
		base := "/v1/lists/" + name
		for _, c := range []struct {
			path, token, cc string
			strongETag      bool
		}{
			{base + "/releases/1/manifest.json", pl.Token, forever, true},
			{base + "/releases/1/manifest.sig", pl.Token, forever, true},
			{base + "/releases/1/manifest.sigstore.json", pl.Token, forever, true},
			{base + "/delta?from=0&to=1", pl.Token, forever, true},
			{base + "/delta?from=0&to=1&format=csv", pl.Token, forever, true},
			{base + "/snapshot?version=1", pl.Token, forever, true},
			{base + "/delta?from=0", pl.Token, recheck, false},
			{base + "/snapshot", pl.Token, recheck, false},
			{base + "/releases/latest", pl.Token, recheck, false},
			{base + "/proof?algo=md5&value=" + v, pl.Token, recheck, false},
			{base + "/records?after=0&to=1", tn.admin.Token, recheck, false},
		} {
			r := tn.get(c.path, c.token)
			r.decode(t, http.StatusOK, nil)
			if got := r.header.Get("Cache-Control"); got != c.cc || r.header.Get("Vary") != "Authorization" {
				t.Errorf("%s: Cache-Control %q Vary %q, want %q and Authorization", c.path, got, r.header.Get("Vary"), c.cc)
			}
			if etag := r.header.Get("ETag"); c.strongETag && (!strings.HasPrefix(etag, `"`) || len(etag) < 3) {
				t.Errorf("%s: ETag %q is not strong", c.path, etag)
			}
		}
		m := tn.get(base+"/releases/1/manifest.json", pl.Token)
		again := tn.do(request{method: "GET", path: base + "/releases/1/manifest.json", token: pl.Token,
			header: map[string]string{"If-None-Match": m.header.Get("ETag")}})
		if again.status != http.StatusNotModified || again.header.Get("Cache-Control") != forever || again.header.Get("Vary") != "Authorization" {
			t.Errorf("%s: conditional GET %d %v", name, again.status, again.header)
		}
	}
	leaf := tn.get("/v1/log/leaves/0", pl.Token)
	leaf.decode(t, http.StatusOK, nil)
	if leaf.header.Get("Cache-Control") != forever || leaf.header.Get("Vary") != "Authorization" || !strings.HasPrefix(leaf.header.Get("ETag"), `"`) {
		t.Errorf("log leaf: %v", leaf.header)
	}
	for _, path := range []string{"/v1/log/proof/inclusion?index=0&size=2", "/v1/log/proof/consistency?old=1&new=2"} {
		r := tn.get(path, "")
		r.decode(t, http.StatusOK, nil)
		if r.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || r.header.Get("Vary") != "" {
			t.Errorf("%s: %v", path, r.header)
		}
	}
}
