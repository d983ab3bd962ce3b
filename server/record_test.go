package server_test

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	bolt "go.etcd.io/bbolt"

	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/records"
	"github.com/hashhub/hashhub/server"
)

// The records endpoint serves each release's origin-signed records to
// peers (and admins) only; latest?after=N is a long poll.
func TestRecordsAndLongPoll(t *testing.T) {
	tn := newTestNode(t)
	hl := tn.member(orgs.Hotline, "NL")
	peer := tn.member(orgs.Peer, "DE")
	pl := tn.member(orgs.Platform, "US")
	tn.postJSON("/v1/lists", tn.admin.Token, map[string]any{"name": "shared", "policy": map[string]any{"min_assessments": 1},
		"readers": map[string]any{"roles": []string{"peer", "platform"}}}).decode(t, http.StatusCreated, nil)
	v := sha256Hex()
	tn.postJSON("/v1/hashes", hl.Token, map[string]any{"algo": "sha256", "value": v}).decode(t, http.StatusCreated, nil)
	build := func() {
		tn.do(request{method: "POST", path: "/v1/lists/shared/releases", token: tn.admin.Token}).decode(t, http.StatusCreated, nil)
	}
	tn.get("/v1/lists/shared/records", peer.Token).problem(t, http.StatusNotFound, "no-release")
	build()

	var keys struct {
		NodeKeyPEM string `json:"node_key_pem"`
	}
	tn.get("/v1/keys", "").decode(t, http.StatusOK, &keys)
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(keys.NodeKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	r := tn.get("/v1/lists/shared/records?after=0&to=1", peer.Token)
	r.decode(t, http.StatusOK, nil)
	lines := strings.Split(strings.TrimSuffix(string(r.body), "\n"), "\n")
	if len(lines) != 1 || r.header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("records: %q", r.body)
	}
	sr, err := records.ParseLine([]byte(lines[0]))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := sr.Verify(pub.(ed25519.PublicKey))
	if err != nil || rec.Origin != "node-a" || rec.Org != hl.Org || rec.Keys[0] != "sha256:"+v {
		t.Fatalf("record: %+v %v", rec, err)
	}
	// A version whose changes rest on no new record has none.
	build()
	if r := tn.get("/v1/lists/shared/records?after=1&to=2", peer.Token); r.status != http.StatusOK || len(r.body) != 0 {
		t.Fatalf("records of an empty version: %d %q", r.status, r.body)
	}
	// Platforms read the list, not who assessed it.
	tn.get("/v1/lists/shared/records", pl.Token).problem(t, http.StatusForbidden, "forbidden")
	tn.get("/v1/lists/shared/records?after=x", peer.Token).problem(t, http.StatusUnprocessableEntity, "invalid-input")
	tn.get("/v1/lists/shared/records?to=9", peer.Token).problem(t, http.StatusNotFound, "version-not-found")

	// Long poll: answers when version 3 exists…
	got := make(chan server.LatestRelease, 1)
	start := time.Now()
	go func() {
		var lr server.LatestRelease
		resp := tn.get("/v1/lists/shared/releases/latest?after=2&wait=20", pl.Token)
		if resp.status == http.StatusOK {
			_ = json.Unmarshal(resp.body, &lr) // checked by the caller
		}
		got <- lr
	}()
	time.Sleep(200 * time.Millisecond)
	build()
	select {
	case lr := <-got:
		if lr.Latest != 3 || time.Since(start) > 10*time.Second {
			t.Fatalf("long poll answered %+v after %v", lr, time.Since(start))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("long poll did not answer a release")
	}
	// …and at once when it already does; a poll that times out answers the
	// latest as it is.
	var lr server.LatestRelease
	tn.get("/v1/lists/shared/releases/latest?after=1&wait=20", pl.Token).decode(t, http.StatusOK, &lr)
	if lr.Latest != 3 {
		t.Fatalf("after=1: %+v", lr)
	}
	start = time.Now()
	tn.get("/v1/lists/shared/releases/latest?after=3&wait=1", pl.Token).decode(t, http.StatusOK, &lr)
	if lr.Latest != 3 || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("timed-out poll: %+v after %v", lr, time.Since(start))
	}
	tn.get("/v1/lists/shared/releases/latest?after=1&wait=x", pl.Token).problem(t, http.StatusUnprocessableEntity, "invalid-input")
}

// A records answer that fails once its status line is out is cut, not
// ended cleanly: the peer must not take a short list for the whole.
func TestRecordsCutWhenReadingFails(t *testing.T) {
	tn := newTestNode(t)
	hl := tn.member(orgs.Hotline, "NL")
	peer := tn.member(orgs.Peer, "DE")
	tn.postJSON("/v1/lists", tn.admin.Token, map[string]any{"name": "shared", "policy": map[string]any{"min_assessments": 1},
		"readers": map[string]any{"roles": []string{"peer"}}}).decode(t, http.StatusCreated, nil)
	tn.postJSON("/v1/hashes", hl.Token, map[string]any{"algo": "sha256", "value": sha256Hex()}).decode(t, http.StatusCreated, nil)
	tn.do(request{method: "POST", path: "/v1/lists/shared/releases", token: tn.admin.Token}).decode(t, http.StatusCreated, nil)
	// The version names a record the store no longer holds.
	if err := tn.n.DB.Bolt().Update(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte("records")).Cursor()
		k, _ := c.First()
		if k == nil {
			return errors.New("no record")
		}
		return c.Delete()
	}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", tn.url+"/v1/lists/shared/records?after=0&to=1", nil)
	req.Header.Set("Authorization", "Bearer "+peer.Token)
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil {
		t.Fatalf("the answer ended cleanly: %d", res.StatusCode)
	}
}
