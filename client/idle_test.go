package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// trickle writes s one byte at a time, every, flushing each.
func trickle(w http.ResponseWriter, r *http.Request, s string, every time.Duration) {
	f := w.(http.Flusher)
	for i := range len(s) {
		if _, err := io.WriteString(w, s[i:i+1]); err != nil {
			return
		}
		f.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(every):
		}
	}
}

func idleClient(t *testing.T, f *fakeNode, idle time.Duration) *Client {
	t.Helper()
	c, err := New(Config{Server: f.URL, ClientID: "id", ClientSecret: "s3cret+/=", Tries: 1, IdleTimeout: idle})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A body trickled below MinProgress per idle timeout fails as stalled —
// streamed (a delta) or read whole (a manifest) — though bytes keep
// coming; a slow body that makes progress is read to its end, and so is
// one whose reader pauses longer than the idle timeout.
func TestIdleBody(t *testing.T) {
	chunk := strings.Repeat("x", MinProgress)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/delta"), strings.HasSuffix(r.URL.Path, "/manifest.json"):
			trickle(w, r, strings.Repeat("y", 200), 50*time.Millisecond)
		case strings.HasSuffix(r.URL.Path, "/records"):
			io.WriteString(w, strings.Repeat("r", 4*MinProgress))
		case strings.HasSuffix(r.URL.Path, "/snapshot"):
			// Eight chunks, each within the idle timeout: more time in
			// all than the idle timeout, but never idle.
			w.Header().Set("X-Hashhub-Version", "1")
			for range 8 {
				io.WriteString(w, chunk)
				w.(http.Flusher).Flush()
				time.Sleep(100 * time.Millisecond)
			}
		}
	})
	c := idleClient(t, f, 500*time.Millisecond)
	ctx := context.Background()

	rc, err := c.Delta(ctx, "l", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "GET /v1/lists/l/delta") {
		t.Fatalf("trickled delta: %d bytes, %v", len(b), err)
	}
	if len(b) == 0 || len(b) >= 200 {
		t.Errorf("read %d bytes of the trickled delta before it stalled", len(b))
	}

	_, err = c.Manifest(ctx, "l", 1)
	var ne *NetError
	if !errors.Is(err, ErrStalled) || !errors.As(err, &ne) || strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("trickled manifest: %v", err)
	}

	rc, _, err = c.Snapshot(ctx, "l", 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(rc)
	rc.Close()
	if err != nil || len(b) != 8*MinProgress {
		t.Fatalf("slow snapshot: %d bytes, %v", len(b), err)
	}

	// A caller that works longer than the idle timeout between reads of
	// a body that has arrived is not a stalled node.
	rc, err = c.Records(ctx, "l", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf := make([]byte, 100)
	for range 3 {
		if _, err := io.ReadFull(rc, buf); err != nil {
			t.Fatalf("records, slow caller: %v", err)
		}
		time.Sleep(700 * time.Millisecond)
	}
	if b, err = io.ReadAll(rc); err != nil || len(b) != 4*MinProgress-300 {
		t.Fatalf("records, slow caller: %d bytes, %v", len(b), err)
	}
}

// A long poll may take its wait; one not answered within its wait and the
// idle timeout is stalled.
func TestLongPollDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Query().Get("after") == "2" {
			select { // a peer that never answers
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		time.Sleep(time.Second) // the whole wait
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"list":"l","latest":1}`)
	})
	c := idleClient(t, f, 500*time.Millisecond)
	lr, err := c.WaitRelease(context.Background(), "l", 1, time.Second)
	if err != nil || lr.Latest != 1 {
		t.Fatalf("long poll answered after its wait: %+v, %v", lr, err)
	}
	_, err = c.WaitRelease(context.Background(), "l", 2, time.Second)
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "no answer within 1.5s") {
		t.Fatalf("unanswered long poll: %v", err)
	}
}
