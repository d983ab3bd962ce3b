package server_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/server"
)

// newTestNodeWith is newTestNode with the node's server configured (body
// deadlines, rate limits) before it serves its first request.
func newTestNodeWith(t *testing.T, configure func(*server.Server)) *testNode {
	t.Helper()
	dir := t.TempDir()
	creds, err := node.Init(dir, "node-a", "NL")
	if err != nil {
		t.Fatalf("init node: %v", err)
	}
	n, err := node.Open(dir, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open node: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	configure(n.Server)
	srv := httptest.NewServer(n.Server)
	t.Cleanup(srv.Close)
	tn := &testNode{t: t, n: n, url: srv.URL}
	tn.admin = &principal{Role: orgs.Admin, Jurisdiction: "NL", ClientID: creds.ClientID, ClientSecret: creds.ClientSecret}
	tn.admin.Token = tn.token(creds.ClientID, creds.ClientSecret)
	var me server.Me
	tn.get("/v1/me", tn.admin.Token).decode(t, http.StatusOK, &me)
	tn.admin.Org, tn.admin.User = me.Org, me.User
	return tn
}

// A client that promises a body and then stalls, or trickles it slower
// than the minimum rate, is answered (408) or cut off once its deadline
// passes — on the token endpoint, before authentication and on an
// import — instead of holding the connection for as long as it likes.
// The client's own limit (30 s) is far beyond the node's (1 s + size at
// 1 KiB/s): the test tells "closed by the node" from "hangs".
func TestSlowBodyIsCutOff(t *testing.T) {
	tn := newTestNodeWith(t, func(s *server.Server) {
		s.SetBodyLimits(server.BodyLimits{Timeout: time.Second, MinRate: 1 << 10})
	})
	hl := tn.member(orgs.Hotline, "NL")
	host := strings.TrimPrefix(tn.url, "http://")
	cases := []struct {
		name, head string
		trickle    bool
		status     int // 0: the answer may come before the body is read; the connection must close
		want       string
	}{
		{"token endpoint", "POST /v1/oauth/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n", false,
			http.StatusRequestTimeout, `"error":"invalid_request"`},
		{"json before auth", "POST /v1/orgs HTTP/1.1\r\nContent-Type: application/json\r\n", false, 0, ""},
		{"json", "POST /v1/orgs HTTP/1.1\r\nContent-Type: application/json\r\nAuthorization: Bearer " + tn.admin.Token + "\r\n", false,
			http.StatusRequestTimeout, "urn:hashhub:problem:body-timeout"},
		{"import trickled", "POST /v1/hashes/import HTTP/1.1\r\nContent-Type: application/x-ndjson\r\nAuthorization: Bearer " + hl.Token + "\r\n", true,
			http.StatusRequestTimeout, "urn:hashhub:problem:body-timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(conn, "%sHost: %s\r\nContent-Length: 100000\r\n\r\n", tc.head, host)
			io.WriteString(conn, `{"name":"x`) // 10 of the 100,000 bytes promised
			stop := make(chan struct{})
			defer close(stop)
			if tc.trickle {
				// Bytes keep coming, one every 50 ms (20 B/s): too slow.
				go func() {
					for {
						select {
						case <-stop:
							return
						case <-time.After(50 * time.Millisecond):
							if _, err := conn.Write([]byte("x")); err != nil {
								return
							}
						}
					}
				}()
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer before the client's own limit: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.status != 0 && (resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want)) {
				t.Fatalf("answer %d %s, want %d with %s", resp.StatusCode, body, tc.status, tc.want)
			}
			// The node closes the connection: nothing more comes, and the
			// read ends (EOF or reset) rather than waiting for the client's
			// limit.
			if _, err := br.ReadByte(); err == nil || isTimeout(err) {
				t.Fatalf("connection still open after the answer: %v", err)
			}
		})
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
