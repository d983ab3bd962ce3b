package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/node"
)

// BenchmarkCreateWithIdempotencyKey is one creating POST with an
// Idempotency-Key on a real node (bbolt file, fsync on commit, HTTP on
// 127.0.0.1): the change and its replay record commit together.
func BenchmarkCreateWithIdempotencyKey(b *testing.B) {
	dir := b.TempDir()
	creds, err := node.Init(dir, "node-a", "NL")
	if err != nil {
		b.Fatal(err)
	}
	n, err := node.Open(dir, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	srv := httptest.NewServer(n.Server)
	defer srv.Close()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}}
	res, err := http.Post(srv.URL+"/v1/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	b.ResetTimer()
	for i := range b.N {
		body := fmt.Sprintf(`{"name":"Bench org %d","kind":"hotline","jurisdiction":"NL"}`, i)
		req, _ := http.NewRequest("POST", srv.URL+"/v1/orgs", bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", i))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}
