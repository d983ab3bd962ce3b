package witness

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/translog"
)

// serve exposes w the way the node will: add-checkpoint under a
// submission prefix, the body read with MaxBodySize+1 as the limit.
func serve(t *testing.T, w *Witness) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /witness/add-checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodySize+1))
		if err != nil {
			http.Error(rw, "cannot read body", http.StatusBadRequest)
			return
		}
		resp := w.AddCheckpoint(body)
		rw.Header().Set("Content-Type", resp.ContentType)
		rw.WriteHeader(resp.Status)
		rw.Write(resp.Body)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestClientCosign(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w, st := newTestWitness(t, "w1", l)
	srv := serve(t, w)
	c, err := NewClient(srv.URL+"/witness/", w.VerifierKey(), srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cosign := func(c *Client, n int64) (string, error) {
		cp, err := translog.OpenCheckpoint(l.checkpoint(n), l.signer.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		return c.Cosign(ctx, cp, func(old int64) (tlog.TreeProof, error) { return translog.ConsistencyProof(l.st, old, n) })
	}
	for _, n := range []int64{1, 3, 3, 8, 20} {
		line, err := cosign(c, n)
		if err != nil {
			t.Fatalf("Cosign(%d): %v", n, err)
		}
		if _, err := VerifyCosignature(l.text(n), line, w.VerifierKey()); err != nil {
			t.Fatal(err)
		}
		wantLatest(t, st, testOrigin, n, l.root(n))
	}

	// A client that does not know the witness's state (a restarted node)
	// learns it from the 409 and retries once.
	fresh, err := NewClient(srv.URL+"/witness", w.VerifierKey(), srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cosign(fresh, 25); err != nil {
		t.Fatalf("fresh client: %v", err)
	}
	wantLatest(t, st, testOrigin, 25, l.root(25))

	// The witness has cosigned more than we now submit: nothing to prove.
	if _, err := cosign(fresh, 24); !errors.Is(err, ErrConflict) {
		t.Errorf("checkpoint behind the witness: %v, want ErrConflict", err)
	}
	if _, err := cosign(c, 24); !errors.Is(err, ErrConflict) {
		t.Errorf("stale client, checkpoint behind the witness: %v, want ErrConflict", err)
	}

	// A refusal maps back to its sentinel.
	b := newTestLog(t, testOrigin, "log", "b") // a fork under the same key
	cp, _ := translog.OpenCheckpoint(b.checkpoint(30), b.signer.VerifierKey())
	_, err = fresh.Cosign(ctx, cp, func(old int64) (tlog.TreeProof, error) { return translog.ConsistencyProof(b.st, old, 30) })
	var refused *RefusedError
	if !errors.Is(err, ErrInconsistent) || !errors.As(err, &refused) || refused.Status != 422 {
		t.Errorf("fork: %v, want a 422 RefusedError", err)
	}
	if len(st.Evidence()) != 1 {
		t.Errorf("fork not kept as evidence")
	}
}

func TestClientRefusesBadCosignature(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w, _ := newTestWitness(t, "w1", l)
	impostor, _ := newTestWitness(t, "w2", l)
	srv := serve(t, impostor)
	// The client expects w1's key; the server signs with w2's.
	c, err := NewClient(srv.URL+"/witness", w.VerifierKey(), srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := translog.OpenCheckpoint(l.checkpoint(3), l.signer.VerifierKey())
	if _, err := c.Cosign(context.Background(), cp, nil); !errors.Is(err, ErrBadCosignature) {
		t.Errorf("cosignature by another key: %v, want ErrBadCosignature", err)
	}

	// A witness whose line claims w1's name and key ID but does not verify.
	otherLine := mustAdd(t, mustFreshWitness(t, w), l.body(0, 4)) // over another checkpoint
	bad := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, otherLine)
	}))
	defer bad.Close()
	c2, _ := NewClient(bad.URL, w.VerifierKey(), bad.Client())
	if _, err := c2.Cosign(context.Background(), cp, nil); !errors.Is(err, ErrBadCosignature) {
		t.Errorf("cosignature over another checkpoint: %v, want ErrBadCosignature", err)
	}

	// A 409 without a size line is a protocol error, not a retry.
	garbled := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.WriteHeader(http.StatusConflict)
		io.WriteString(rw, "five\n")
	}))
	defer garbled.Close()
	c3, _ := NewClient(garbled.URL, w.VerifierKey(), garbled.Client())
	if _, err := c3.Cosign(context.Background(), cp, nil); err == nil {
		t.Error("garbled 409 accepted")
	}

	if _, err := NewClient("ftp://x", w.VerifierKey(), nil); err == nil {
		t.Error("NewClient accepted a non-http URL")
	}
	if _, err := NewClient("https://x", l.signer.VerifierKey(), nil); err == nil {
		t.Error("NewClient accepted a log key as a witness key")
	}
}
