package witness

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/translog"
)

// FuzzAddCheckpoint feeds arbitrary bodies to a witness that has cosigned
// size 5 of a real log. Whatever the input, the witness must not panic,
// must answer with a status the spec allows, and may cosign only a
// checkpoint that the log's key signed, that lies on the log's real
// history at or beyond size 5, and whose cosignature verifies. The corpus
// holds checkpoints of a fork signed with the same key: cosigning one of
// them would be the worst bug a witness can have.
func FuzzAddCheckpoint(f *testing.F) {
	const maxSize = 40
	l := newTestLog(f, testOrigin, "log", "a")
	fork := newTestLog(f, testOrigin, "log", "b")
	impostor := newTestLog(f, testOrigin, "impostor", "a")
	l.grow(maxSize)
	roots := make([]tlog.Hash, maxSize+1)
	for i := range roots {
		roots[i] = l.root(int64(i))
	}
	vkey := l.signer.VerifierKey()
	logVerifier, err := note.NewVerifier(vkey)
	if err != nil {
		f.Fatal(err)
	}

	for _, s := range [][]byte{
		l.body(5, 5), l.body(5, 6), l.body(5, 9), l.body(5, 16), l.body(5, maxSize),
		l.body(0, 5), l.body(0, 9), l.body(4, 9),
		FormatAddCheckpoint(9, nil, l.checkpoint(5)),
		FormatAddCheckpoint(5, l.proof(4, 9), l.checkpoint(9)),
		FormatAddCheckpoint(0, nil, l.checkpoint(0)),
		fork.body(5, 5), fork.body(5, 9), fork.body(0, 9),
		FormatAddCheckpoint(5, l.proof(5, 9), fork.checkpoint(9)),
		impostor.body(0, 9),
		append(l.body(5, 7), "— other/witness AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"...),
		[]byte("old 5\n\n"), []byte("old 0\n"), []byte(""), []byte("old 18446744073709551616\n\n"),
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		st := NewMemStore()
		if _, err := st.CompareAndSwap(testOrigin, 0, 5, roots[5], nil); err != nil {
			t.Fatal(err)
		}
		w, err := New("hashhub/fuzz/witness", testKey("fuzz witness"),
			func(origin string) (string, bool) { return vkey, origin == testOrigin },
			st, func() time.Time { return testNow })
		if err != nil {
			t.Fatal(err)
		}
		r := w.AddCheckpoint(body)
		if r.ContentType == "" || len(r.Body) == 0 {
			t.Fatalf("status %d with content type %q, body %q", r.Status, r.ContentType, r.Body)
		}
		if (r.Status == 200) != (r.Err == nil) {
			t.Fatalf("status %d with err %v", r.Status, r.Err)
		}
		size, root, _, _, _ := st.Latest(testOrigin)
		switch r.Status {
		case 400, 403, 404, 413, 422:
		case 409:
			if r.ContentType != ContentTypeSize || string(r.Body) != "5\n" {
				t.Fatalf("409 %q %q, want %q \"5\\n\"", r.ContentType, r.Body, ContentTypeSize)
			}
		case 200:
			req, err := parseRequest(body)
			if err != nil {
				t.Fatalf("cosigned an unparsable body: %v", err)
			}
			cp, err := translog.OpenCheckpoint(req.note, vkey)
			if err != nil {
				t.Fatalf("cosigned a checkpoint the log did not sign: %v", err)
			}
			if cp.Size < 5 || cp.Size > maxSize || cp.Root != roots[cp.Size] {
				t.Fatalf("cosigned size %d root %s, not on the log's history from size 5", cp.Size, cp.Root)
			}
			if size != cp.Size || root != cp.Root {
				t.Fatalf("cosigned size %d but recorded %d", cp.Size, size)
			}
			text := fmt.Appendf(nil, "%s\n%d\n%s\n", cp.Origin, cp.Size, encodeHash(cp.Root))
			if _, err := VerifyCosignature(text, string(r.Body), w.VerifierKey()); err != nil {
				t.Fatalf("cosignature does not verify: %v", err)
			}
			return
		default:
			t.Fatalf("status %d is not one tlog-witness uses here", r.Status)
		}
		if size != 5 || root != roots[5] {
			t.Fatalf("refused with %d but the record moved to %d", r.Status, size)
		}
		// Evidence must be something the log signed: anything else would
		// let anyone fill the store.
		for _, e := range st.Evidence() {
			if _, err := note.Open(e.Note, note.VerifierList(logVerifier)); err != nil {
				t.Fatalf("evidence %q without a valid log signature: %v", e.Reason, err)
			}
		}
	})
}
