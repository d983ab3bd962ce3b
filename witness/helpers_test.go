package witness

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/translog"
)

const testOrigin = "hashhub/hub-nl"

// testNow is the witness clock in tests, so cosignatures are reproducible.
var testNow = time.Unix(1_700_000_000, 0).UTC()

// testKey derives a fixed Ed25519 key from a label, so failures reproduce.
func testKey(label string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("witness test key " + label))
	return ed25519.NewKeyFromSeed(seed[:])
}

// testLog is a real transparency log: translog storage, leaves appended
// with translog.Append, checkpoints signed by translog.Signer.
type testLog struct {
	t      testing.TB
	st     *translog.MemStorage
	signer *translog.Signer
	// history distinguishes the leaves of forks that share one key.
	history string
}

func newTestLog(t testing.TB, origin, keyLabel, history string) *testLog {
	t.Helper()
	s, err := translog.NewSigner(origin, testKey(keyLabel))
	if err != nil {
		t.Fatalf("translog.NewSigner: %v", err)
	}
	return &testLog{t: t, st: translog.NewMemStorage(), signer: s, history: history}
}

// grow appends leaves until the log has n.
func (l *testLog) grow(n int64) {
	l.t.Helper()
	size, _ := l.st.TreeSize()
	for i := size; i < n; i++ {
		if _, err := translog.Append(l.st, fmt.Appendf(nil, "manifest %s %d", l.history, i)); err != nil {
			l.t.Fatalf("translog.Append: %v", err)
		}
	}
}

func (l *testLog) root(n int64) tlog.Hash {
	l.t.Helper()
	r, err := translog.Root(l.st, n)
	if err != nil {
		l.t.Fatalf("translog.Root(%d): %v", n, err)
	}
	return r
}

// checkpoint returns the log's signed checkpoint at size n, growing the
// log as needed.
func (l *testLog) checkpoint(n int64) []byte {
	l.t.Helper()
	l.grow(n)
	signed, err := l.signer.Sign(n, l.root(n))
	if err != nil {
		l.t.Fatalf("Sign(%d): %v", n, err)
	}
	return signed
}

// proof returns the consistency proof from old to n (empty for old 0).
func (l *testLog) proof(old, n int64) tlog.TreeProof {
	l.t.Helper()
	l.grow(n)
	if old == 0 {
		return nil
	}
	p, err := translog.ConsistencyProof(l.st, old, n)
	if err != nil {
		l.t.Fatalf("ConsistencyProof(%d, %d): %v", old, n, err)
	}
	return p
}

// body is a valid add-checkpoint request from old to n.
func (l *testLog) body(old, n int64) []byte {
	l.t.Helper()
	cp := l.checkpoint(n)
	return FormatAddCheckpoint(old, l.proof(old, n), cp)
}

// text is the checkpoint body at size n, what cosignatures cover.
func (l *testLog) text(n int64) []byte {
	l.t.Helper()
	cp, err := translog.OpenCheckpoint(l.checkpoint(n), l.signer.VerifierKey())
	if err != nil {
		l.t.Fatal(err)
	}
	return []byte(fmt.Sprintf("%s\n%d\n%s\n", cp.Origin, cp.Size, encodeHash(cp.Root)))
}

func encodeHash(h tlog.Hash) string {
	return translog.EncodeProof([]tlog.Hash{h})[0]
}

// newTestWitness returns a witness named label that witnesses the given
// logs, over a fresh MemStore, with the fixed test clock.
func newTestWitness(t testing.TB, label string, logs ...*testLog) (*Witness, *MemStore) {
	t.Helper()
	keys := map[string]string{}
	for _, l := range logs {
		keys[l.signer.Origin()] = l.signer.VerifierKey()
	}
	st := NewMemStore()
	w, err := New("hashhub/"+label+"/witness", testKey("witness "+label),
		func(origin string) (string, bool) { k, ok := keys[origin]; return k, ok },
		st, func() time.Time { return testNow })
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return w, st
}

// mustAdd submits body and fails the test unless the witness cosigns.
func mustAdd(t testing.TB, w *Witness, body []byte) string {
	t.Helper()
	r := w.AddCheckpoint(body)
	if r.Status != 200 {
		t.Fatalf("AddCheckpoint: %d %s (%v)", r.Status, r.Body, r.Err)
	}
	return string(r.Body)
}

// wantStatus fails the test unless r has the status.
func wantStatus(t testing.TB, r Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d %q (err %v), want %d", r.Status, r.Body, r.Err, status)
	}
	if r.ContentType == "" {
		t.Errorf("status %d without a content type", r.Status)
	}
}

// wantLatest checks the witness's record for origin.
func wantLatest(t testing.TB, st Store, origin string, size int64, root tlog.Hash) {
	t.Helper()
	got, gotRoot, _, ok, err := st.Latest(origin)
	if err != nil || !ok || got != size || gotRoot != root {
		t.Fatalf("Latest(%q) = %d %s ok=%v err=%v, want %d %s", origin, got, gotRoot, ok, err, size, root)
	}
}
