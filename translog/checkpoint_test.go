package translog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const testOrigin = "hashhub/hub-nl"

// testKey derives a fixed Ed25519 key from a label, so failures reproduce.
func testKey(label string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("translog test key " + label))
	return ed25519.NewKeyFromSeed(seed[:])
}

func testSigner(t testing.TB, origin, label string) *Signer {
	t.Helper()
	s, err := NewSigner(origin, testKey(label))
	if err != nil {
		t.Fatalf("NewSigner(%q): %v", origin, err)
	}
	return s
}

// signText signs an arbitrary body with the signer's key, bypassing Sign's
// checks, to test that OpenCheckpoint refuses malformed bodies even when
// the signature is genuine.
func signText(t testing.TB, s *Signer, text string) []byte {
	t.Helper()
	b, err := note.Sign(&note.Note{Text: text}, s.signer)
	if err != nil {
		t.Fatalf("note.Sign(%q): %v", text, err)
	}
	return b
}

func TestNoteKeyRoundTrip(t *testing.T) {
	key := testKey("log")
	s := testSigner(t, testOrigin, "log")

	v, err := note.NewVerifier(s.VerifierKey())
	if err != nil {
		t.Fatalf("note.NewVerifier(%q): %v", s.VerifierKey(), err)
	}
	if v.Name() != testOrigin {
		t.Errorf("verifier name %q, want %q", v.Name(), testOrigin)
	}
	pub := key.Public().(ed25519.PublicKey)
	if v.KeyHash() != noteKeyHash(testOrigin, pub) || s.signer.KeyHash() != v.KeyHash() {
		t.Errorf("key hashes: verifier %08x, signer %08x, computed %08x", v.KeyHash(), s.signer.KeyHash(), noteKeyHash(testOrigin, pub))
	}
	want, err := note.NewEd25519VerifierKey(testOrigin, pub)
	if err != nil || s.VerifierKey() != want {
		t.Errorf("VerifierKey = %q, note.NewEd25519VerifierKey = %q, %v", s.VerifierKey(), want, err)
	}

	// note.GenerateKey fed the same seed must produce the same encoded keys
	// that noteSignerKey builds from an existing ed25519.PrivateKey.
	skey, vkey, err := note.GenerateKey(bytes.NewReader(key.Seed()), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if got := noteSignerKey(testOrigin, key.Seed(), pub); got != skey {
		t.Errorf("noteSignerKey = %q, note.GenerateKey = %q", got, skey)
	}
	if vkey != s.VerifierKey() {
		t.Errorf("VerifierKey = %q, note.GenerateKey = %q", s.VerifierKey(), vkey)
	}

	// And a note signed through Signer opens with note's own verifier.
	signed, err := s.Sign(5, tlog.Hash{1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(signed, note.VerifierList(v)); err != nil {
		t.Errorf("note.Open of a signed checkpoint: %v", err)
	}
}

func TestNewSignerRefuses(t *testing.T) {
	key := testKey("log")
	for _, origin := range []string{"", "hashhub/a b", "hashhub/a+b", "hashhub/a\nb", "hashhub/\tx", "\xff"} {
		if _, err := NewSigner(origin, key); err == nil {
			t.Errorf("NewSigner(%q) succeeded", origin)
		}
	}
	if _, err := NewSigner(testOrigin, key[:32]); err == nil {
		t.Error("NewSigner with a 32-byte key succeeded")
	}
	mixed := append(ed25519.PrivateKey{}, key...)
	copy(mixed[32:], testKey("other")[32:])
	if _, err := NewSigner(testOrigin, mixed); err == nil {
		t.Error("NewSigner with mismatched seed and public key succeeded")
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	s := testSigner(t, testOrigin, "log")
	root := sha256.Sum256([]byte("root"))
	signed, err := s.Sign(42, root)
	if err != nil {
		t.Fatal(err)
	}
	wantBody := testOrigin + "\n42\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n\n— " + testOrigin + " "
	if !strings.HasPrefix(string(signed), wantBody) {
		t.Fatalf("signed checkpoint %q does not start with %q", signed, wantBody)
	}
	cp, err := OpenCheckpoint(signed, s.VerifierKey())
	if err != nil {
		t.Fatalf("OpenCheckpoint: %v", err)
	}
	if cp.Origin != testOrigin || cp.Size != 42 || cp.Root != root || !bytes.Equal(cp.Note, signed) {
		t.Errorf("OpenCheckpoint = %+v", cp)
	}
	// The returned note is a copy of the caller's bytes.
	signed[0] ^= 1
	if cp.Note[0] == signed[0] {
		t.Error("Checkpoint.Note aliases the input")
	}

	empty, err := s.Sign(0, emptyRoot)
	if err != nil {
		t.Fatal(err)
	}
	if cp, err := OpenCheckpoint(empty, s.VerifierKey()); err != nil || cp.Size != 0 {
		t.Errorf("OpenCheckpoint(size 0) = %+v, %v", cp, err)
	}
	if _, err := s.Sign(0, root); err == nil {
		t.Error("Sign(0, non-empty root) succeeded")
	}
	if _, err := s.Sign(-1, root); err == nil {
		t.Error("Sign(-1) succeeded")
	}
}

// replaceSig rewrites the first signature line of a note to carry keyHash
// and the given raw signature bytes.
func replaceSig(t *testing.T, signed []byte, name string, keyHash uint32, sig []byte) []byte {
	t.Helper()
	text, _, ok := strings.Cut(string(signed), "\n\n")
	if !ok {
		t.Fatal("no signature block")
	}
	raw := binary.BigEndian.AppendUint32(nil, keyHash)
	raw = append(raw, sig...)
	return []byte(text + "\n\n— " + name + " " + base64.StdEncoding.EncodeToString(raw) + "\n")
}

func TestOpenCheckpointRefusesSignatures(t *testing.T) {
	s := testSigner(t, testOrigin, "log")
	root := sha256.Sum256([]byte("root"))
	good, err := s.Sign(7, root)
	if err != nil {
		t.Fatal(err)
	}

	// An impostor with the same log name but its own key.
	impostor := testSigner(t, testOrigin, "impostor")
	forged, err := impostor.Sign(7, root)
	if err != nil {
		t.Fatal(err)
	}
	otherLog := testSigner(t, "hashhub/other", "other")
	otherSigned, err := otherLog.Sign(7, root)
	if err != nil {
		t.Fatal(err)
	}

	text := formatCheckpoint(testOrigin, 7, root)
	impostorSig, err := impostor.signer.Sign([]byte(text))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		signed []byte
	}{
		{"same name, other key", forged},
		{"other log's key", otherSigned},
		// Same name and key ID as ours but not our signature: note.Open
		// reports an invalid signature rather than an unknown key.
		{"our key ID, impostor signature", replaceSig(t, good, testOrigin, s.signer.KeyHash(), impostorSig)},
		{"our key ID, truncated signature", replaceSig(t, good, testOrigin, s.signer.KeyHash(), []byte{1})},
		{"no signature lines", []byte(text + "\n")},
		{"unsigned body only", []byte(text)},
	} {
		if _, err := OpenCheckpoint(tc.signed, s.VerifierKey()); !errors.Is(err, ErrBadCheckpoint) {
			t.Errorf("%s: OpenCheckpoint = %v, want ErrBadCheckpoint", tc.name, err)
		}
	}

	// Opening with the wrong pinned key refuses a genuine checkpoint.
	if _, err := OpenCheckpoint(good, otherLog.VerifierKey()); !errors.Is(err, ErrBadCheckpoint) {
		t.Errorf("wrong pinned key: OpenCheckpoint = %v, want ErrBadCheckpoint", err)
	}
	// A log key with another name (same key material) refuses too: the
	// origin must name the pinned key's log.
	renamed := testSigner(t, "hashhub/renamed", "log")
	if _, err := OpenCheckpoint(good, renamed.VerifierKey()); !errors.Is(err, ErrBadCheckpoint) {
		t.Errorf("renamed key: OpenCheckpoint = %v, want ErrBadCheckpoint", err)
	}

	// A pinned key that does not parse is a configuration error, not the
	// peer's fault.
	if _, err := OpenCheckpoint(good, "not a key"); err == nil || errors.Is(err, ErrBadCheckpoint) {
		t.Errorf("bad pinned key: OpenCheckpoint = %v, want a non-ErrBadCheckpoint error", err)
	}
}

func TestOpenCheckpointToleratesCosignatures(t *testing.T) {
	s := testSigner(t, testOrigin, "log")
	witness := testSigner(t, "witness.example/w1", "witness")
	sameName := testSigner(t, testOrigin, "impostor") // another key with our name
	root := sha256.Sum256([]byte("root"))
	text := formatCheckpoint(testOrigin, 9, root)

	both, err := note.Sign(&note.Note{Text: text}, witness.signer, s.signer, sameName.signer)
	if err != nil {
		t.Fatal(err)
	}
	// A C2SP cosignature/v1 line: algorithm 0x04 keys sign a timestamped
	// message, so the line carries key ID, 8-byte timestamp and signature.
	cosig := make([]byte, 4+8+64)
	binary.BigEndian.PutUint32(cosig, 0xdeadbeef)
	withCosig := append(bytes.Clone(both), []byte("— witness.example/w2 "+base64.StdEncoding.EncodeToString(cosig)+"\n")...)
	// A duplicate line for our key after the real one is ignored by note.
	junk := append(binary.BigEndian.AppendUint32(nil, s.signer.KeyHash()), make([]byte, 64)...)
	dup := append(bytes.Clone(both), []byte("— "+testOrigin+" "+base64.StdEncoding.EncodeToString(junk)+"\n")...)

	for name, signed := range map[string][]byte{"witness+ours+same-name": both, "with cosignature/v1": withCosig, "duplicate": dup} {
		cp, err := OpenCheckpoint(signed, s.VerifierKey())
		if err != nil {
			t.Errorf("%s: OpenCheckpoint: %v", name, err)
			continue
		}
		if cp.Size != 9 || cp.Root != root || !bytes.Equal(cp.Note, signed) {
			t.Errorf("%s: OpenCheckpoint = %+v", name, cp)
		}
	}
}

func TestOpenCheckpointRefusesBodies(t *testing.T) {
	s := testSigner(t, testOrigin, "log")
	root := sha256.Sum256([]byte("root"))
	r64 := base64.StdEncoding.EncodeToString(root[:])
	good, err := s.Sign(7, root)
	if err != nil {
		t.Fatal(err)
	}

	// Tampering with a genuinely signed checkpoint breaks the signature.
	otherRoot := sha256.Sum256([]byte("other"))
	for name, tampered := range map[string][]byte{
		"size":   bytes.Replace(good, []byte("\n7\n"), []byte("\n8\n"), 1),
		"root":   bytes.Replace(good, []byte(r64), []byte(base64.StdEncoding.EncodeToString(otherRoot[:])), 1),
		"origin": bytes.Replace(good, []byte(testOrigin+"\n"), []byte("hashhub/hub-de\n"), 1),
	} {
		if bytes.Equal(tampered, good) {
			t.Fatalf("%s: tampering changed nothing", name)
		}
		if _, err := OpenCheckpoint(tampered, s.VerifierKey()); !errors.Is(err, ErrBadCheckpoint) {
			t.Errorf("tampered %s: OpenCheckpoint = %v, want ErrBadCheckpoint", name, err)
		}
	}

	// Malformed bodies with genuine signatures are refused by the parser.
	// 32 bytes leave 2 unused bits in the last base64 digit; setting one
	// spells the same hash non-canonically.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	nonCanonical := []byte(r64)
	nonCanonical[42] = alphabet[strings.IndexByte(alphabet, nonCanonical[42])^1]
	if b, err := base64.StdEncoding.DecodeString(string(nonCanonical)); err != nil || !bytes.Equal(b, root[:]) {
		t.Fatalf("non-canonical root %q does not decode leniently to the root: %v", nonCanonical, err)
	}
	emptyRoot64 := base64.StdEncoding.EncodeToString(emptyRoot[:])
	if base64.URLEncoding.EncodeToString(root[:]) == r64 {
		t.Fatal("test root spells the same in URL-safe base64; pick another")
	}
	for _, body := range []string{
		testOrigin + "\n7\n" + r64 + "\nextension line\n",
		testOrigin + "\n7\n" + r64 + "\n\n",
		testOrigin + "\n7\n",
		testOrigin + "\n07\n" + r64 + "\n",
		testOrigin + "\n+7\n" + r64 + "\n",
		testOrigin + "\n-7\n" + r64 + "\n",
		testOrigin + "\n 7\n" + r64 + "\n",
		testOrigin + "\n\n" + r64 + "\n",
		testOrigin + "\n9223372036854775808\n" + r64 + "\n",
		testOrigin + "\n99999999999999999999\n" + r64 + "\n",
		testOrigin + "\n7\n" + r64[:43] + "\n",
		testOrigin + "\n7\n" + string(nonCanonical) + "\n",
		testOrigin + "\n7\n" + base64.StdEncoding.EncodeToString(root[:31]) + "\n",
		testOrigin + "\n7\n" + base64.URLEncoding.EncodeToString(root[:]) + "\n",
		testOrigin + "\n0\n" + r64 + "\n",
		"hashhub/hub-de\n7\n" + r64 + "\n",
		"\n7\n" + r64 + "\n",
	} {
		if _, err := OpenCheckpoint(signText(t, s, body), s.VerifierKey()); !errors.Is(err, ErrBadCheckpoint) {
			t.Errorf("body %q: OpenCheckpoint = %v, want ErrBadCheckpoint", body, err)
		}
	}
	// The largest size is accepted, as is the empty tree.
	for _, body := range []string{
		testOrigin + "\n9223372036854775807\n" + r64 + "\n",
		testOrigin + "\n0\n" + emptyRoot64 + "\n",
	} {
		if _, err := OpenCheckpoint(signText(t, s, body), s.VerifierKey()); err != nil {
			t.Errorf("body %q: OpenCheckpoint = %v", body, err)
		}
	}

	// Garbage.
	huge := append(bytes.Clone(good), bytes.Repeat([]byte("— x AAAAAAAA\n"), MaxCheckpointSize/13+1)...)
	for name, b := range map[string][]byte{
		"nil":              nil,
		"empty":            {},
		"newlines":         []byte("\n\n\n"),
		"binary":           {0, 1, 2, 0xff, '\n', '\n'},
		"huge":             huge,
		"bad base64":       []byte(testOrigin + "\n7\n" + r64 + "\n\n— " + testOrigin + " !!!!\n"),
		"ascii dash":       bytes.Replace(good, []byte("— "), []byte("- "), 1),
		"no final newline": bytes.TrimSuffix(good, []byte("\n")),
	} {
		if _, err := OpenCheckpoint(b, s.VerifierKey()); !errors.Is(err, ErrBadCheckpoint) {
			t.Errorf("%s: OpenCheckpoint = %v, want ErrBadCheckpoint", name, err)
		}
	}
}

// checkpoints builds a log from data and returns signed-and-opened
// checkpoints for every size 0..n, plus the storage.
func checkpoints(t *testing.T, s *Signer, n int, data func(int) []byte) ([]*Checkpoint, *MemStorage) {
	t.Helper()
	st := NewMemStorage()
	cps := make([]*Checkpoint, 0, n+1)
	for size := 0; ; size++ {
		root, err := Root(st, int64(size))
		if err != nil {
			t.Fatal(err)
		}
		signed, err := s.Sign(int64(size), root)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := OpenCheckpoint(signed, s.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, cp)
		if size == n {
			return cps, st
		}
		if _, err := Append(st, data(size)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyConsistency(t *testing.T) {
	s := testSigner(t, testOrigin, "log")
	const n = 20
	a, sa := checkpoints(t, s, n, leafData)
	// b shares a's first 5 leaves and then diverges: the history a node
	// would show a second audience.
	b, sb := checkpoints(t, s, n, func(i int) []byte {
		if i < 5 {
			return leafData(i)
		}
		return append(leafData(i), " forked"...)
	})

	proof := func(st Storage, old, size int64) tlog.TreeProof {
		t.Helper()
		if old == 0 {
			return nil
		}
		p, err := ConsistencyProof(st, old, size)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	for old := int64(0); old <= n; old++ {
		for size := old; size <= n; size++ {
			if err := VerifyConsistency(a[old], a[size], proof(sa, old, size)); err != nil {
				t.Errorf("VerifyConsistency(%d, %d): %v", old, size, err)
			}
		}
	}
	// Sizes up to the fork point agree across the two histories.
	for old := int64(1); old <= 5; old++ {
		if err := VerifyConsistency(a[old], b[n], proof(sb, old, n)); err != nil {
			t.Errorf("shared prefix %d: %v", old, err)
		}
	}

	for _, tc := range []struct {
		name       string
		old, newer *Checkpoint
		proof      tlog.TreeProof
		want       error
	}{
		{"rollback", a[10], a[5], proof(sa, 5, 10), ErrRollback},
		{"rollback to empty", a[10], a[0], nil, ErrRollback},
		{"fork at same size", a[10], b[10], nil, ErrInconsistent},
		{"fork, bigger tree, its own proof", a[10], b[15], proof(sb, 10, 15), ErrInconsistent},
		{"fork, bigger tree, honest log's proof", a[10], b[15], proof(sa, 10, 15), ErrInconsistent},
		{"same size, non-empty proof", a[10], a[10], proof(sa, 9, 10), ErrInconsistent},
		{"missing proof", a[10], a[15], nil, ErrInconsistent},
		{"truncated proof", a[10], a[15], proof(sa, 10, 15)[1:], ErrInconsistent},
		{"extended proof", a[10], a[15], append(proof(sa, 10, 15), tlog.Hash{}), ErrInconsistent},
		{"proof for other sizes", a[10], a[15], proof(sa, 9, 15), ErrInconsistent},
		{"other log", a[10], &Checkpoint{Origin: "hashhub/other", Size: a[15].Size, Root: a[15].Root}, proof(sa, 10, 15), ErrInconsistent},
	} {
		if err := VerifyConsistency(tc.old, tc.newer, tc.proof); !errors.Is(err, tc.want) {
			t.Errorf("%s: VerifyConsistency = %v, want %v", tc.name, err, tc.want)
		}
	}

	// A garbled proof at every position is refused.
	good := proof(sa, 7, 19)
	for i := range good {
		bad := append(tlog.TreeProof(nil), good...)
		bad[i][0] ^= 1
		if err := VerifyConsistency(a[7], a[19], bad); !errors.Is(err, ErrInconsistent) {
			t.Errorf("garbled hash %d: VerifyConsistency = %v, want ErrInconsistent", i, err)
		}
	}
	if err := VerifyConsistency(nil, a[1], nil); err == nil {
		t.Error("VerifyConsistency(nil, ...) succeeded")
	}
}

func TestVerifyInclusionRefuses(t *testing.T) {
	s := testSigner(t, testOrigin, "log")
	cps, st := checkpoints(t, s, 12, leafData)
	cp := cps[12]
	p, err := InclusionProof(st, 3, 12)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyInclusion(cp, 3, leafData(3), p); err != nil {
		t.Fatalf("VerifyInclusion: %v", err)
	}
	garbled := append(tlog.RecordProof(nil), p...)
	garbled[0][5] ^= 1
	for _, tc := range []struct {
		name  string
		cp    *Checkpoint
		i     int64
		data  []byte
		proof tlog.RecordProof
	}{
		{"other data", cp, 3, leafData(4), p},
		{"other index", cp, 4, leafData(3), p},
		{"negative index", cp, -1, leafData(3), p},
		{"index past size", cp, 12, leafData(3), p},
		{"older checkpoint", cps[11], 3, leafData(3), p},
		{"empty checkpoint", cps[0], 0, leafData(0), nil},
		{"garbled proof", cp, 3, leafData(3), garbled},
		{"truncated proof", cp, 3, leafData(3), p[1:]},
		{"extended proof", cp, 3, leafData(3), append(p, tlog.Hash{})},
		{"no proof", cp, 3, leafData(3), nil},
	} {
		if err := VerifyInclusion(tc.cp, tc.i, tc.data, tc.proof); !errors.Is(err, ErrNotIncluded) {
			t.Errorf("%s: VerifyInclusion = %v, want ErrNotIncluded", tc.name, err)
		}
	}
	if err := VerifyInclusion(nil, 0, nil, nil); err == nil {
		t.Error("VerifyInclusion(nil) succeeded")
	}
}

func FuzzOpenCheckpoint(f *testing.F) {
	s := testSigner(f, testOrigin, "log")
	witness := testSigner(f, "witness.example/w1", "witness")
	root := sha256.Sum256([]byte("root"))
	for _, size := range []int64{0, 1, 7, 1 << 40} {
		r := root
		if size == 0 {
			r = emptyRoot
		}
		signed, err := s.Sign(size, r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(signed)
		f.Add([]byte(formatCheckpoint(testOrigin, size, r)))
	}
	cosigned, err := note.Sign(&note.Note{Text: formatCheckpoint(testOrigin, 3, root)}, s.signer, witness.signer)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cosigned)
	f.Add([]byte(""))
	f.Add([]byte("\n\n— x AAAA\n"))

	vkey := s.VerifierKey()
	f.Fuzz(func(t *testing.T, b []byte) {
		// As a whole signed note: must not panic, and anything accepted must
		// really carry our signature over a canonical body.
		if cp, err := OpenCheckpoint(b, vkey); err == nil {
			checkOpened(t, cp, b)
		} else if !errors.Is(err, ErrBadCheckpoint) {
			t.Fatalf("OpenCheckpoint error %v does not wrap ErrBadCheckpoint", err)
		}
		// As a body we sign ourselves, which drives the fuzzer through the
		// parser behind the signature check.
		if len(b) > MaxCheckpointSize {
			return
		}
		signed, err := note.Sign(&note.Note{Text: string(b)}, s.signer)
		if err != nil {
			return
		}
		cp, err := OpenCheckpoint(signed, vkey)
		if err != nil {
			if !errors.Is(err, ErrBadCheckpoint) {
				t.Fatalf("OpenCheckpoint error %v does not wrap ErrBadCheckpoint", err)
			}
			return
		}
		checkOpened(t, cp, signed)
		if got := formatCheckpoint(cp.Origin, cp.Size, cp.Root); got != string(b) {
			t.Fatalf("accepted body %q re-formats as %q", b, got)
		}
	})
}

// checkOpened checks the invariants of an accepted checkpoint.
func checkOpened(t *testing.T, cp *Checkpoint, signed []byte) {
	t.Helper()
	if cp.Origin != testOrigin || cp.Size < 0 || !bytes.Equal(cp.Note, signed) {
		t.Fatalf("accepted %q as %+v", signed, cp)
	}
	if cp.Size == 0 && cp.Root != emptyRoot {
		t.Fatalf("accepted size 0 with root %s", cp.Root)
	}
	if !strings.HasPrefix(string(signed), formatCheckpoint(cp.Origin, cp.Size, cp.Root)+"\n") {
		t.Fatalf("accepted %q whose body is not canonical", signed)
	}
}
