package witness

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/translog"
)

func TestFirstAddCheckpoint(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w, st := newTestWitness(t, "w1", l)

	line := mustAdd(t, w, l.body(0, 5))
	if !strings.HasPrefix(line, "— "+w.Name()+" ") || !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
		t.Fatalf("response %q is not one signature line by %s", line, w.Name())
	}
	wantLatest(t, st, testOrigin, 5, l.root(5))

	ts, err := VerifyCosignature(l.text(5), line, w.VerifierKey())
	if err != nil {
		t.Fatalf("VerifyCosignature: %v", err)
	}
	if !ts.Equal(testNow) {
		t.Errorf("cosignature time %v, want %v", ts, testNow)
	}

	// The cosignature also verifies through note.Open, as tlog-witness
	// suggests clients do: append the response to the checkpoint.
	v, err := NewCosignatureVerifier(w.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	cosigned := append(l.checkpoint(5), line...)
	n, err := note.Open(cosigned, note.VerifierList(v))
	if err != nil {
		t.Fatalf("note.Open with the cosignature verifier: %v", err)
	}
	if len(n.Sigs) != 1 || n.Sigs[0].Name != w.Name() || len(n.UnverifiedSigs) != 1 {
		t.Errorf("note.Open: sigs %v, unverified %v; want the cosignature verified, the log's ignored", n.Sigs, n.UnverifiedSigs)
	}
	// And the log's checkpoint still opens with the log key alone.
	if _, err := translog.OpenCheckpoint(cosigned, l.signer.VerifierKey()); err != nil {
		t.Errorf("OpenCheckpoint of the cosigned note: %v", err)
	}
}

// TestCosignatureMessageLayout recomputes the signed message by hand from
// tlog-cosignature, independently of the package's helpers.
func TestCosignatureMessageLayout(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w, _ := newTestWitness(t, "w1", l)
	line := mustAdd(t, w, l.body(0, 3))

	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(line, "— "+w.Name()+" "), "\n"))
	if err != nil || len(raw) != 4+8+64 {
		t.Fatalf("signature is %d bytes (%v), want 76", len(raw), err)
	}
	pub := testKey("witness w1").Public().(ed25519.PublicKey)
	h := sha256.Sum256(append([]byte(w.Name()+"\n\x04"), pub...))
	if !bytes.Equal(raw[:4], h[:4]) {
		t.Errorf("key ID %x, want %x", raw[:4], h[:4])
	}
	if got := raw[4:12]; !bytes.Equal(got, []byte{0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00}) { // 1700000000
		t.Errorf("timestamp bytes %x, want big-endian 1700000000", got)
	}
	msg := "cosignature/v1\ntime 1700000000\n" + string(l.text(3))
	if !ed25519.Verify(pub, []byte(msg), raw[12:]) {
		t.Errorf("signature does not cover %q", msg)
	}
	wantVKey := fmt.Sprintf("%s+%x+%s", w.Name(), h[:4], base64.StdEncoding.EncodeToString(append([]byte{4}, pub...)))
	if w.VerifierKey() != wantVKey {
		t.Errorf("VerifierKey %q, want %q", w.VerifierKey(), wantVKey)
	}
	// x/mod's note knows only type 0x01; that is why CosignatureVerifier
	// exists. Should that change, this test says so.
	if _, err := note.NewVerifier(w.VerifierKey()); err == nil {
		t.Log("note.NewVerifier now accepts cosignature/v1 keys; CosignatureVerifier may be redundant")
	}
}

func TestSequentialGrowth(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w, st := newTestWitness(t, "w1", l)
	old := int64(0)
	for _, n := range []int64{1, 2, 3, 4, 5, 8, 8, 13, 16, 17, 31, 32, 33, 64, 100, 1000} {
		line := mustAdd(t, w, l.body(old, n))
		if _, err := VerifyCosignature(l.text(n), line, w.VerifierKey()); err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		wantLatest(t, st, testOrigin, n, l.root(n))
		old = n
	}
	if ev := st.Evidence(); len(ev) != 0 {
		t.Errorf("evidence kept for a well-behaved log: %v", ev)
	}
}

func TestEmptyTree(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w, st := newTestWitness(t, "w1", l)
	mustAdd(t, w, l.body(0, 0))
	wantLatest(t, st, testOrigin, 0, l.root(0))
	mustAdd(t, w, l.body(0, 4))
	wantLatest(t, st, testOrigin, 4, l.root(4))

	// A size-0 checkpoint must carry the empty tree's root: 422, and the
	// log signed nonsense, so it is kept.
	w2, st2 := newTestWitness(t, "w2", l)
	bad, err := note.Sign(&note.Note{Text: testOrigin + "\n0\n" + encodeHash(tlog.Hash{7}) + "\n"}, noteSigner(t, testOrigin, "log"))
	if err != nil {
		t.Fatal(err)
	}
	r := w2.AddCheckpoint(FormatAddCheckpoint(0, nil, bad))
	wantStatus(t, r, 422)
	if !errors.Is(r.Err, ErrInconsistent) || len(st2.Evidence()) != 1 {
		t.Errorf("err %v, evidence %d; want ErrInconsistent and the checkpoint kept", r.Err, len(st2.Evidence()))
	}
	// The same with an old size: 400 and 409 come first, as the spec
	// lists them.
	wantStatus(t, w2.AddCheckpoint(FormatAddCheckpoint(1, nil, bad)), 400)
}

// noteSigner is a plain Ed25519 note signer with a test key, to sign texts
// translog.Signer refuses to.
func noteSigner(t testing.TB, name, label string) note.Signer {
	t.Helper()
	key := testKey(label)
	skey, _, err := note.GenerateKey(bytes.NewReader(key.Seed()), name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConflict(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w, st := newTestWitness(t, "w1", l)

	// Never cosigned: the recorded size is 0.
	r := w.AddCheckpoint(l.body(3, 5))
	wantStatus(t, r, 409)
	if r.ContentType != "text/x.tlog.size" || string(r.Body) != "0\n" || !errors.Is(r.Err, ErrConflict) {
		t.Fatalf("409: %q %q %v, want text/x.tlog.size \"0\\n\"", r.ContentType, r.Body, r.Err)
	}

	mustAdd(t, w, l.body(0, 5))
	for _, old := range []int64{0, 3, 4, 6} {
		r := w.AddCheckpoint(l.body(old, 10))
		wantStatus(t, r, 409)
		if r.ContentType != ContentTypeSize || string(r.Body) != "5\n" {
			t.Errorf("old %d: 409 %q %q, want %q \"5\\n\"", old, r.ContentType, r.Body, ContentTypeSize)
		}
	}
	// An old checkpoint replayed: 409 too (old 3 ≠ 5), and nothing moves.
	wantStatus(t, w.AddCheckpoint(l.body(3, 3)), 409)
	// Old above the checkpoint size is a 400 before anything else.
	wantStatus(t, w.AddCheckpoint(FormatAddCheckpoint(5, nil, l.checkpoint(3))), 400)
	wantLatest(t, st, testOrigin, 5, l.root(5))
	if ev := st.Evidence(); len(ev) != 0 {
		t.Errorf("conflicts kept as evidence: %v", ev)
	}
}

func TestBadProof(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w, st := newTestWitness(t, "w1", l)
	mustAdd(t, w, l.body(0, 5))

	good := l.proof(5, 13)
	flipped := append(tlog.TreeProof(nil), good...)
	flipped[1][0] ^= 1
	cases := map[string]struct {
		old   int64
		proof tlog.TreeProof
	}{
		"flipped bit":    {5, flipped},
		"short":          {5, good[:len(good)-1]},
		"long":           {5, append(append(tlog.TreeProof(nil), good...), tlog.Hash{})},
		"reversed":       {5, reversed(good)},
		"other sizes'":   {5, l.proof(4, 13)},
		"empty":          {5, nil},
		"same size, one": {5, tlog.TreeProof{{1}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			n := int64(13)
			if name == "same size, one" {
				n = 5
			}
			r := w.AddCheckpoint(FormatAddCheckpoint(c.old, c.proof, l.checkpoint(n)))
			wantStatus(t, r, 422)
			if !errors.Is(r.Err, ErrInconsistent) {
				t.Errorf("err %v, want ErrInconsistent", r.Err)
			}
		})
	}
	wantLatest(t, st, testOrigin, 5, l.root(5))
	ev := st.Evidence()
	if len(ev) != 2 { // the size-13 and the size-5 checkpoint, each once
		t.Fatalf("%d pieces of evidence, want 2: %v", len(ev), ev)
	}
	if _, err := translog.OpenCheckpoint(ev[0].Note, l.signer.VerifierKey()); err != nil || ev[0].Origin != testOrigin || !strings.Contains(ev[0].Reason, "consistency proof") {
		t.Errorf("evidence %q %q: %v", ev[0].Origin, ev[0].Reason, err)
	}

	// A proof when the old size is 0 is refused even on a first submission.
	w2, st2 := newTestWitness(t, "w2", l)
	wantStatus(t, w2.AddCheckpoint(FormatAddCheckpoint(0, good, l.checkpoint(13))), 422)
	if len(st2.Evidence()) != 1 {
		t.Errorf("old-0 proof: evidence not kept")
	}
}

func reversed(p tlog.TreeProof) tlog.TreeProof {
	out := make(tlog.TreeProof, len(p))
	for i, h := range p {
		out[len(p)-1-i] = h
	}
	return out
}

func TestUnknownLog(t *testing.T) {
	known := newTestLog(t, testOrigin, "log", "a")
	other := newTestLog(t, "hashhub/hub-de", "other", "a")
	w, st := newTestWitness(t, "w1", known)
	r := w.AddCheckpoint(other.body(0, 3))
	wantStatus(t, r, 404)
	if !errors.Is(r.Err, ErrUnknownLog) {
		t.Errorf("err %v, want ErrUnknownLog", r.Err)
	}
	if _, _, _, ok, _ := st.Latest("hashhub/hub-de"); ok {
		t.Error("unknown log recorded")
	}
}

func TestBadSignature(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	impostor := newTestLog(t, testOrigin, "impostor", "a") // same origin, other key
	w, st := newTestWitness(t, "w1", l)

	good := l.checkpoint(5)
	split := bytes.LastIndex(good, []byte("\n\n")) + 2
	sigLine := string(good[split:])
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimSuffix(sigLine[len("— "+testOrigin+" "):], "\n"))
	raw[10] ^= 1 // same key ID, broken signature
	broken := append(bytes.Clone(good[:split]), "— "+testOrigin+" "+base64.StdEncoding.EncodeToString(raw)+"\n"...)
	tampered := bytes.Replace(bytes.Clone(good), []byte("\n5\n"), []byte("\n6\n"), 1)
	// A valid log signature followed by a broken one of the same key: the
	// broken one is ignored as a duplicate only if it comes second.
	brokenFirst := append(bytes.Clone(broken), sigLine...)

	for name, cp := range map[string][]byte{
		"other key":                  impostor.checkpoint(5),
		"broken signature":           broken,
		"tampered body":              tampered,
		"broken before good":         brokenFirst,
		"witness cosignature only":   append(bytes.Clone(good[:split]), mustAdd(t, mustWitness(t, l), l.body(0, 5))...),
		"log key named another name": mustSignAs(t, string(good[:split-1]), "hashhub/other", "log"),
	} {
		t.Run(name, func(t *testing.T) {
			r := w.AddCheckpoint(FormatAddCheckpoint(0, nil, cp))
			wantStatus(t, r, 403)
			if !errors.Is(r.Err, ErrBadSignature) {
				t.Errorf("err %v, want ErrBadSignature", r.Err)
			}
		})
	}
	if _, _, _, ok, _ := st.Latest(testOrigin); ok || len(st.Evidence()) != 0 {
		t.Error("a checkpoint without a valid log signature changed the store")
	}
	// Extra unknown signatures are fine.
	withJunk := append(bytes.Clone(good), "— somebody/else AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"...)
	mustAdd(t, w, FormatAddCheckpoint(0, nil, withJunk))
	_, _, stored, _, _ := st.Latest(testOrigin)
	if bytes.Contains(stored, []byte("somebody/else")) {
		t.Errorf("stored note keeps an unverified signature:\n%s", stored)
	}
}

func mustWitness(t testing.TB, l *testLog) *Witness {
	w, _ := newTestWitness(t, "helper", l)
	return w
}

// mustSignAs signs text with the test key label under a key name.
func mustSignAs(t testing.TB, text, name, label string) []byte {
	t.Helper()
	b, err := note.Sign(&note.Note{Text: text}, noteSigner(t, name, label))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFork(t *testing.T) {
	// Two histories under one key: the log shows history a to the witness,
	// then tries history b.
	a := newTestLog(t, testOrigin, "log", "a")
	b := newTestLog(t, testOrigin, "log", "b")
	w, st := newTestWitness(t, "w1", a)
	mustAdd(t, w, a.body(0, 5))

	// Same size, other root.
	r := w.AddCheckpoint(b.body(5, 5))
	wantStatus(t, r, 422)
	// Larger, with b's own (valid for b) proof from 5.
	wantStatus(t, w.AddCheckpoint(b.body(5, 9)), 422)
	// Same size, other root, claiming another old size: the spec's answer
	// is 409, but two signed roots for size 5 prove the fork, so keep it.
	wantStatus(t, w.AddCheckpoint(b.body(0, 5)), 409)

	wantLatest(t, st, testOrigin, 5, a.root(5))
	ev := st.Evidence()
	if len(ev) != 2 {
		t.Fatalf("%d pieces of evidence, want 2 (b at 5, b at 9): %+v", len(ev), ev)
	}
	if !strings.Contains(ev[0].Reason, "fork") || !bytes.Equal(ev[0].Note, b.checkpoint(5)) {
		t.Errorf("evidence 0: %q\n%s", ev[0].Reason, ev[0].Note)
	}
	// The honest history continues.
	mustAdd(t, w, a.body(5, 9))
}

func TestMalformedBodies(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w, st := newTestWitness(t, "w1", l)
	cp := string(l.checkpoint(5))
	h := encodeHash(tlog.Hash{1}) + "\n"
	for name, body := range map[string]string{
		"empty":                "",
		"no old line":          "\n" + cp,
		"Old":                  "Old 0\n\n" + cp,
		"two spaces":           "old  0\n\n" + cp,
		"leading zero":         "old 00\n\n" + cp,
		"signed":               "old +0\n\n" + cp,
		"negative":             "old -1\n\n" + cp,
		"hex":                  "old 0x1\n\n" + cp,
		"overflow":             "old 9223372036854775808\n\n" + cp,
		"20 digits":            "old 10000000000000000000\n\n" + cp,
		"crlf":                 "old 0\r\n\r\n" + cp,
		"no newline":           "old 0",
		"no blank line":        "old 0\n" + cp,
		"no checkpoint":        "old 0\n\n",
		"64 proof lines":       "old 5\n" + strings.Repeat(h, 64) + "\n" + cp,
		"short proof line":     "old 5\n" + h[1:] + "\n" + cp,
		"long proof line":      "old 5\nA" + h + "\n" + cp,
		"proof not base64":     "old 5\n" + strings.Repeat("!", 44) + "\n\n" + cp,
		"proof padding bits":   "old 5\n" + h[:42] + "B=\n\n" + cp,
		"checkpoint unsigned":  "old 0\n\n" + testOrigin + "\n5\n" + encodeHash(l.root(5)) + "\n",
		"checkpoint no origin": "old 0\n\n\n" + cp,
		"extension line":       "old 0\n\n" + string(mustSignAs(t, testOrigin+"\n5\n"+encodeHash(l.root(5))+"\next\n", testOrigin, "log")),
		"size leading zero":    "old 0\n\n" + string(mustSignAs(t, testOrigin+"\n05\n"+encodeHash(l.root(5))+"\n", testOrigin, "log")),
		"control character":    "old 0\n\n" + strings.Replace(cp, "\n5\n", "\n5\x00\n", 1),
		"invalid utf-8":        "old 0\n\n" + cp + "\xff",
	} {
		t.Run(name, func(t *testing.T) {
			r := w.AddCheckpoint([]byte(body))
			wantStatus(t, r, 400)
			if !errors.Is(r.Err, ErrMalformed) {
				t.Errorf("err %v, want ErrMalformed", r.Err)
			}
		})
	}
	// 63 proof lines is the limit and still parses (then fails to verify).
	wantStatus(t, w.AddCheckpoint([]byte("old 0\n"+strings.Repeat(h, 63)+"\n"+cp)), 422)

	big := make([]byte, MaxBodySize+1)
	r := w.AddCheckpoint(big)
	wantStatus(t, r, 413)
	if !errors.Is(r.Err, ErrTooLarge) {
		t.Errorf("err %v, want ErrTooLarge", r.Err)
	}
	if _, _, _, ok, _ := st.Latest(testOrigin); ok {
		t.Error("a malformed request changed the store")
	}
}

func TestMaxBodySizeFitsLargestRequest(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w, _ := newTestWitness(t, "w1", l)
	// The largest checkpoint OpenCheckpoint takes, padded with unknown
	// signature lines, behind the largest old size and 63 proof lines.
	cp := l.checkpoint(5)
	// note.Open reads at most 100 signatures, so pad with long ones.
	pad := "— pad " + base64.StdEncoding.EncodeToString(make([]byte, 1000)) + "\n"
	for len(cp)+len(pad) <= translog.MaxCheckpointSize {
		cp = append(cp, pad...)
	}
	body := FormatAddCheckpoint(1<<63-1, make(tlog.TreeProof, MaxProofLines), cp)
	if len(body) > MaxBodySize {
		t.Fatalf("largest valid-looking body is %d bytes, MaxBodySize %d", len(body), MaxBodySize)
	}
	// It parses; old > size is then a 400 for that reason, not for size.
	if r := w.AddCheckpoint(body); !errors.Is(r.Err, ErrOldSize) {
		t.Errorf("err %v, want ErrOldSize", r.Err)
	}
}

// barrierStore holds every Latest call until n of them have arrived, so
// that n concurrent requests all read the same old size before any of them
// writes: only CompareAndSwap can then keep two of them from succeeding.
type barrierStore struct {
	*MemStore
	mu      sync.Mutex
	waiting int
	release chan struct{}
}

func (b *barrierStore) Latest(origin string) (int64, tlog.Hash, []byte, bool, error) {
	b.mu.Lock()
	b.waiting--
	if b.waiting == 0 {
		close(b.release)
	}
	b.mu.Unlock()
	<-b.release
	return b.MemStore.Latest(origin)
}

func TestConcurrentSubmissions(t *testing.T) {
	const n = 32
	l := newTestLog(t, testOrigin, "log", "a")
	st := &barrierStore{MemStore: NewMemStore(), waiting: n, release: make(chan struct{})}
	cp4 := l.checkpoint(4)
	if _, err := st.CompareAndSwap(testOrigin, 0, 4, l.root(4), cp4); err != nil {
		t.Fatal(err)
	}
	w, err := New("hashhub/w1/witness", testKey("w1"), func(string) (string, bool) { return l.signer.VerifierKey(), true }, st, nil)
	if err != nil {
		t.Fatal(err)
	}

	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = l.body(4, int64(5+i))
	}
	var wg sync.WaitGroup
	results := make([]Response, n)
	start := make(chan struct{})
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = w.AddCheckpoint(bodies[i])
		}()
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, r := range results {
		switch r.Status {
		case 200:
			if winner >= 0 {
				t.Fatalf("requests %d and %d both cosigned from old size 4", winner, i)
			}
			winner = i
		case 409:
		default:
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if winner < 0 {
		t.Fatal("no request succeeded")
	}
	size := int64(5 + winner)
	wantLatest(t, st, testOrigin, size, l.root(size))
	for i, r := range results {
		if r.Status == 409 && string(r.Body) != fmt.Sprintf("%d\n", size) {
			t.Errorf("request %d: 409 body %q, want the winner's size %d", i, r.Body, size)
		}
	}
}

func TestMonitoringCheckpoint(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w, _ := newTestWitness(t, "w1", l)
	wantStatus(t, w.Checkpoint(testOrigin), 404)
	line := mustAdd(t, w, l.body(0, 7))

	r := w.Checkpoint(testOrigin)
	wantStatus(t, r, 200)
	want := append(l.checkpoint(7), line...)
	if !bytes.Equal(r.Body, want) {
		t.Errorf("monitoring checkpoint:\n%s\nwant:\n%s", r.Body, want)
	}
	sum := sha256.Sum256([]byte(testOrigin))
	if OriginHash(testOrigin) != hex.EncodeToString(sum[:]) {
		t.Errorf("OriginHash = %s", OriginHash(testOrigin))
	}
}

func TestNewRefuses(t *testing.T) {
	logs := func(string) (string, bool) { return "", false }
	key := testKey("w")
	bad := bytes.Clone(key)
	bad[40] ^= 1
	for name, c := range map[string]struct {
		name string
		key  ed25519.PrivateKey
		st   Store
	}{
		"empty name":      {"", key, NewMemStore()},
		"name with space": {"a b", key, NewMemStore()},
		"name with plus":  {"a+b", key, NewMemStore()},
		"short key":       {"w", key[:32], NewMemStore()},
		"mismatched key":  {"w", bad, NewMemStore()},
		"no store":        {"w", key, nil},
	} {
		if _, err := New(c.name, c.key, logs, c.st, nil); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestMisconfiguredLogKey(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	other := newTestLog(t, "hashhub/other", "log", "a")
	for name, vkey := range map[string]string{
		"garbage":               "not a key",
		"named for another log": other.signer.VerifierKey(),
	} {
		w, err := New("hashhub/w/witness", testKey("w"), func(string) (string, bool) { return vkey, true }, NewMemStore(), nil)
		if err != nil {
			t.Fatal(err)
		}
		r := w.AddCheckpoint(l.body(0, 3))
		wantStatus(t, r, 500)
		if !errors.Is(r.Err, ErrInternal) || strings.Contains(string(r.Body), "key") {
			t.Errorf("%s: err %v, body %q; want ErrInternal and a body without detail", name, r.Err, r.Body)
		}
	}
}

// failingStore fails the operation named by fail.
type failingStore struct {
	*MemStore
	fail string
}

var errDisk = errors.New("disk on fire")

func (f failingStore) Latest(o string) (int64, tlog.Hash, []byte, bool, error) {
	if f.fail == "latest" {
		return 0, tlog.Hash{}, nil, false, errDisk
	}
	return f.MemStore.Latest(o)
}

func (f failingStore) CompareAndSwap(o string, old, n int64, r tlog.Hash, b []byte) (bool, error) {
	if f.fail == "cas" {
		return false, errDisk
	}
	return f.MemStore.CompareAndSwap(o, old, n, r, b)
}

func (f failingStore) KeepEvidence(o string, b []byte, r string) error {
	if f.fail == "evidence" {
		return errDisk
	}
	return f.MemStore.KeepEvidence(o, b, r)
}

func TestStoreErrors(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	for _, fail := range []string{"latest", "cas", "evidence"} {
		st := failingStore{NewMemStore(), fail}
		w, err := New("hashhub/w/witness", testKey("w"), func(string) (string, bool) { return l.signer.VerifierKey(), true }, st, func() time.Time { return testNow })
		if err != nil {
			t.Fatal(err)
		}
		body := l.body(0, 3)
		if fail == "evidence" {
			body = FormatAddCheckpoint(0, l.proof(1, 3), l.checkpoint(3)) // a 422 that keeps evidence
		}
		r := w.AddCheckpoint(body)
		wantStatus(t, r, 500)
		if !errors.Is(r.Err, errDisk) || !errors.Is(r.Err, ErrInternal) {
			t.Errorf("%s: err %v, want it to wrap the store's error and ErrInternal", fail, r.Err)
		}
	}
}

func TestClockBefore1970(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	st := NewMemStore()
	w, err := New("hashhub/w/witness", testKey("w"), func(string) (string, bool) { return l.signer.VerifierKey(), true }, st, func() time.Time { return time.Unix(0, 0) })
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, w.AddCheckpoint(l.body(0, 3)), 500)
	if _, _, _, ok, _ := st.Latest(testOrigin); ok {
		t.Error("recorded a checkpoint it did not cosign")
	}
}
