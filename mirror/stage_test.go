package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/hashhub/hashhub/release"
)

// snapBody serves its source's answers, but the snapshot body body
// returns when body is set.
type snapBody struct {
	Source
	body func() io.Reader
}

func (s *snapBody) Snapshot(ctx context.Context, list string, v uint64) (io.ReadCloser, uint64, error) {
	rc, got, err := s.Source.Snapshot(ctx, list, v)
	if err != nil || s.body == nil {
		return rc, got, err
	}
	rc.Close()
	return io.NopCloser(s.body()), got, nil
}

// firstLines is the first n lines of b.
func firstLines(b []byte, n int) []byte {
	end := 0
	for range n {
		end += bytes.IndexByte(b[end:], '\n') + 1
	}
	return b[:end]
}

// staged says whether m has a stage, and how many lines it holds.
func staged(t *testing.T, m *Mirror) (uint64, bool) {
	t.Helper()
	var n uint64
	var ok bool
	if err := m.db.View(func(tx *bolt.Tx) error {
		if s := tx.Bucket(bStage); s != nil {
			n, ok = getU64(s, string(sLines)), true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n, ok
}

func listOf(prefix string, n int) []release.Change {
	var cs []release.Change
	for i := range n {
		cs = append(cs, add(item("sha256", fmt.Sprint(prefix, i), "B")))
	}
	return cs
}

// A snapshot is staged while it downloads, before it is verified, so the
// stage is trusted for nothing: a download cut after some batches keeps
// them for the next pull to resume from; a refused one drops them; and
// staged lines that are not the verified snapshot's (an earlier download
// of another body, cut before it could be refused) are found at the
// swap, by their bucket digests, and dropped, never swapped in.
func TestStageWhileChecking(t *testing.T) {
	p := newFakePub(t)
	p.publish(listOf("k", 60), pubOpts{})
	want := snapshotOf(t, p)
	q := newFakePub(t)
	q.publish(listOf("other", 60), pubOpts{})
	other := snapshotOf(t, q)
	cut := func(b []byte) func() io.Reader {
		return func() io.Reader { return io.MultiReader(bytes.NewReader(b), errReader{}) }
	}
	fresh := func() (*Mirror, *snapBody) {
		m, _ := newMirror(t, p)
		m.Batch = 5
		return m, &snapBody{Source: p}
	}
	ctx := context.Background()
	empty := func(m *Mirror, when string) {
		t.Helper()
		if st, _ := m.State(); st.Version != 0 || st.Entries != 0 {
			t.Fatalf("%s: the mirror holds version %d, %d entries", when, st.Version, st.Entries)
		}
	}

	t.Run("cut, then resumed", func(t *testing.T) {
		m, src := fresh()
		src.body = cut(firstLines(want, 30))
		if _, err := m.Pull(ctx, src, p.now(), nil); err == nil || isRefusal(err) {
			t.Fatalf("cut download: %v", err)
		}
		empty(m, "cut")
		if n, ok := staged(t, m); !ok || n < 5 || n > 30 {
			t.Fatalf("after the cut the stage holds %d lines (%v)", n, ok)
		}
		src.body = nil
		var msgs []string
		if _, err := m.Pull(ctx, src, p.now(), func(s string) { msgs = append(msgs, s) }); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(msgs, "\n"), "resuming the snapshot load at line") {
			t.Errorf("the pull did not resume: %q", msgs)
		}
		if got := export(t, m, ExportNDJSON); got != string(want) {
			t.Errorf("resumed load:\n%s\nwant\n%s", got, want)
		}
		if _, ok := staged(t, m); ok {
			t.Error("a stage is left after the swap")
		}
	})

	t.Run("refused, the stage dropped", func(t *testing.T) {
		m, src := fresh()
		head := firstLines(want, 30)
		// The 30th line again: out of order, refused after batches were
		// staged.
		last := head[bytes.LastIndexByte(head[:len(head)-1], '\n')+1:]
		src.body = func() io.Reader { return bytes.NewReader(append(bytes.Clone(head), last...)) }
		if _, err := m.Pull(ctx, src, p.now(), nil); !errors.Is(err, ErrBadLine) {
			t.Fatalf("refused snapshot: %v", err)
		}
		empty(m, "refused")
		if n, ok := staged(t, m); ok {
			t.Fatalf("a refused snapshot left a stage of %d lines", n)
		}
	})

	t.Run("staged lines of another body", func(t *testing.T) {
		m, src := fresh()
		// An importer (a node's, for a peer's list) is given nothing of a
		// load whose stage is found wrong.
		imported := 0
		m.Importer = func(*AppliedStep) error { imported++; return nil }
		// Lines that pass every check a line has, of another list: only
		// the count and set root at the end would refuse them.
		src.body = cut(firstLines(other, 30))
		if _, err := m.Pull(ctx, src, p.now(), nil); err == nil || isRefusal(err) {
			t.Fatalf("cut download: %v", err)
		}
		if n, ok := staged(t, m); !ok || n < 5 {
			t.Fatalf("after the cut the stage holds %d lines (%v)", n, ok)
		}
		src.body = nil
		if _, err := m.Pull(ctx, src, p.now(), nil); !errors.Is(err, ErrStageMismatch) {
			t.Fatalf("resumed over another body's lines: %v", err)
		}
		if imported != 0 {
			t.Fatalf("the importer was given a load whose stage was wrong")
		}
		empty(m, "mismatched stage")
		if _, ok := staged(t, m); ok {
			t.Fatal("the mismatched stage was kept")
		}
		if _, err := m.Pull(ctx, src, p.now(), nil); err != nil {
			t.Fatal(err)
		}
		if got := export(t, m, ExportNDJSON); got != string(want) {
			t.Errorf("after the stage was dropped:\n%s\nwant\n%s", got, want)
		}
		if imported != 1 {
			t.Errorf("the importer was given %d loads, want 1", imported)
		}
		if _, err := m.Verify(p.now()); err != nil {
			t.Error(err)
		}
	})
}
