package client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/translog"
)

// Release reads are bounded: an answer larger than its limit is refused
// without being read whole.
func TestReleaseReadLimits(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/manifest.json"):
			io.WriteString(w, strings.Repeat("x", MaxManifest+1))
		case strings.HasSuffix(r.URL.Path, "/manifest.sig"):
			io.WriteString(w, strings.Repeat("A", MaxSignature+1))
		case r.URL.Path == "/v1/log/checkpoint":
			io.WriteString(w, strings.Repeat("c", MaxCheckpoint+1))
		}
	})
	c := f.client(t)
	ctx := context.Background()
	if _, err := c.Manifest(ctx, "l", 1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("manifest: %v", err)
	}
	if _, err := c.ManifestSignature(ctx, "l", 1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("signature: %v", err)
	}
	if _, err := c.Checkpoint(ctx); !errors.Is(err, ErrTooLarge) {
		t.Errorf("checkpoint: %v", err)
	}
}

// Proofs are decoded strictly and must answer the question asked.
func TestProofs(t *testing.T) {
	h := base64.StdEncoding.EncodeToString(make([]byte, 32))
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		q := r.URL.Query()
		switch q.Get("size") + q.Get("new") {
		case "5":
			fmt.Fprintf(w, `{"index":%s,"size":5,"proof":[%q,%q]}`, q.Get("index"), h, h)
		case "6":
			fmt.Fprintf(w, `{"index":1,"size":7,"proof":[]}`)
		case "7":
			fmt.Fprintf(w, `{"index":1,"size":7,"proof":[%s]}`, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("%q,", h), MaxProofHashes+1), ","))
		case "8":
			fmt.Fprintf(w, `{"old":2,"new":8,"proof":["not base64"]}`)
		case "9":
			fmt.Fprintf(w, `{"old":%s,"new":9,"proof":[%q]}`, q.Get("old"), h)
		}
	})
	c := f.client(t)
	ctx := context.Background()
	if p, err := c.InclusionProof(ctx, 3, 5); err != nil || len(p) != 2 {
		t.Errorf("inclusion: %v %v", p, err)
	}
	if _, err := c.InclusionProof(ctx, 1, 6); err == nil || !strings.Contains(err.Error(), "answered for leaf 1 in size 7") {
		t.Errorf("wrong size: %v", err)
	}
	if _, err := c.InclusionProof(ctx, 1, 7); !errors.Is(err, translog.ErrBadProof) {
		t.Errorf("long proof: %v", err)
	}
	if _, err := c.ConsistencyProof(ctx, 2, 8); !errors.Is(err, translog.ErrBadProof) {
		t.Errorf("bad hash: %v", err)
	}
	if p, err := c.ConsistencyProof(ctx, 4, 9); err != nil || len(p) != 1 {
		t.Errorf("consistency: %v %v", p, err)
	}
}

// Delta and snapshot are streamed; a 410 is a Problem the caller can act
// on, and a snapshot without its version header is refused.
func TestStreams(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/delta") && r.URL.Query().Get("from") == "1":
			problem(w, http.StatusGone, "version-gone", "deltas before version 5 are not kept")
		case strings.HasSuffix(r.URL.Path, "/delta"):
			io.WriteString(w, "line\n")
		case r.URL.Query().Get("version") == "3":
			w.Header().Set("X-Hashhub-Version", "3")
			io.WriteString(w, "snap\n")
		default:
			io.WriteString(w, "snap\n")
		}
	})
	c := f.client(t)
	ctx := context.Background()
	rc, err := c.Delta(ctx, "l", 4, 5)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "line\n" {
		t.Errorf("delta %q", b)
	}
	var p *Problem
	if _, err := c.Delta(ctx, "l", 1, 2); !errors.As(err, &p) || p.Status != http.StatusGone {
		t.Errorf("gone: %v", err)
	}
	rc, v, err := c.Snapshot(ctx, "l", 3)
	if err != nil || v != 3 {
		t.Fatalf("snapshot: %v %d", err, v)
	}
	rc.Close()
	if _, _, err := c.Snapshot(ctx, "l", 0); err == nil || !strings.Contains(err.Error(), "X-Hashhub-Version") {
		t.Errorf("snapshot without version: %v", err)
	}
	if s := f.seen(); s[0].path != "/v1/lists/l/delta" {
		t.Errorf("path %q", s[0].path)
	}
}
