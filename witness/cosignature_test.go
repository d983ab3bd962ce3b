package witness

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/hashhub/hashhub/translog"
)

// TestVerifierKeyInterop parses a cosignature/v1 verifier key published by
// another implementation (a public witness's key, as listed in
// transparency-dev/formats' tests): it checks our key ID computation.
func TestVerifierKeyInterop(t *testing.T) {
	const vkey = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
	v, err := NewCosignatureVerifier(vkey)
	if err != nil {
		t.Fatalf("NewCosignatureVerifier(%q): %v", vkey, err)
	}
	if v.Name() != "remora.n621.de" || v.KeyHash() != 0xda77ade7 {
		t.Errorf("name %q, key ID %08x", v.Name(), v.KeyHash())
	}
}

func TestNewCosignatureVerifierRefuses(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w, _ := newTestWitness(t, "w1", l)
	good := w.VerifierKey()
	name, rest, _ := strings.Cut(good, "+")
	id, key, _ := strings.Cut(rest, "+")
	for desc, vkey := range map[string]string{
		"plain Ed25519 log key": l.signer.VerifierKey(),
		"wrong key ID":          name + "+00000000+" + key,
		"renamed":               "hashhub/other+" + id + "+" + key,
		"short ID":              name + "+" + id[1:] + "+" + key,
		"no key":                name + "+" + id,
		"bad base64":            name + "+" + id + "+" + key[1:],
		"empty":                 "",
		"name with space":       "a b+" + id + "+" + key,
	} {
		if _, err := NewCosignatureVerifier(vkey); err == nil {
			t.Errorf("%s: accepted %q", desc, vkey)
		}
	}
}

func TestVerifyCosignatureRefuses(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w1, _ := newTestWitness(t, "w1", l)
	w2, _ := newTestWitness(t, "w2", l)
	line := mustAdd(t, w1, l.body(0, 5))
	text := l.text(5)

	if _, err := VerifyCosignature(text, strings.TrimSuffix(line, "\n"), w1.VerifierKey()); err != nil {
		t.Errorf("line without newline: %v", err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(line, "— "+w1.Name()+" "), "\n"))
	withRaw := func(f func([]byte)) string {
		b := bytes.Clone(raw)
		f(b)
		return "— " + w1.Name() + " " + base64.StdEncoding.EncodeToString(b) + "\n"
	}
	for desc, c := range map[string]struct {
		text []byte
		line string
		vkey string
	}{
		"other witness's key":  {text, line, w2.VerifierKey()},
		"other checkpoint":     {l.text(6), line, w1.VerifierKey()},
		"timestamp changed":    {text, withRaw(func(b []byte) { b[11]++ }), w1.VerifierKey()},
		"signature changed":    {text, withRaw(func(b []byte) { b[20] ^= 1 }), w1.VerifierKey()},
		"key ID changed":       {text, withRaw(func(b []byte) { b[0] ^= 1 }), w1.VerifierKey()},
		"timestamp ≥ 2^63":     {text, withRaw(func(b []byte) { b[4] |= 0x80 }), w1.VerifierKey()},
		"truncated":            {text, withRaw(func(b []byte) {})[:60], w1.VerifierKey()},
		"no dash":              {text, strings.TrimPrefix(line, "— "), w1.VerifierKey()},
		"two lines":            {text, line + line, w1.VerifierKey()},
		"body without newline": {text[:len(text)-1], line, w1.VerifierKey()},
		"plain log key":        {text, line, l.signer.VerifierKey()},
	} {
		if _, err := VerifyCosignature(c.text, c.line, c.vkey); err == nil {
			t.Errorf("%s: verified", desc)
		}
	}
	// A log signature is not a cosignature, even by the same name and key.
	logLine := string(l.checkpoint(5)[len(text)+1:])
	if _, err := VerifyCosignature(text, logLine, w1.VerifierKey()); !errors.Is(err, ErrBadCosignature) {
		t.Errorf("log signature line accepted as a cosignature: %v", err)
	}
}

func TestAppendCosignatures(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	w1, _ := newTestWitness(t, "w1", l)
	w2, _ := newTestWitness(t, "w2", l)
	cp := l.checkpoint(5)
	c1 := mustAdd(t, w1, l.body(0, 5))
	c2 := mustAdd(t, w2, l.body(0, 5))

	out, err := AppendCosignatures(cp, []string{c1, strings.TrimSuffix(c2, "\n"), c1})
	if err != nil {
		t.Fatal(err)
	}
	if want := string(cp) + c1 + c2; string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	if _, err := translog.OpenCheckpoint(out, l.signer.VerifierKey()); err != nil {
		t.Errorf("log signature no longer verifies: %v", err)
	}
	v1, _ := NewCosignatureVerifier(w1.VerifierKey())
	v2, _ := NewCosignatureVerifier(w2.VerifierKey())
	if n, err := note.Open(out, note.VerifierList(v1, v2)); err != nil || len(n.Sigs) != 2 {
		t.Errorf("note.Open: %v", err)
	}
	// Appending again what is there changes nothing.
	again, err := AppendCosignatures(out, []string{c2, c1})
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("re-append: %v\n%s", err, again)
	}

	// A second, different cosignature by w1 (a later timestamp) is refused.
	w1b, err := New(w1.Name(), testKey("witness w1"), w1.logs, NewMemStore(), func() time.Time { return testNow.Add(time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	c1b := mustAdd(t, w1b, l.body(0, 5))
	if _, err := AppendCosignatures(out, []string{c1b}); !errors.Is(err, ErrBadCosignature) {
		t.Errorf("second cosignature by one key: %v", err)
	}
	// Other witnesses' lines may be long (ML-DSA-44 is ~3.3 KB); they are
	// kept as they are.
	pq := "— pq.example/w " + base64.StdEncoding.EncodeToString(make([]byte, 4+8+2420)) + "\n"
	if out, err := AppendCosignatures(append(bytes.Clone(cp), pq...), []string{c1}); err != nil || !bytes.HasSuffix(out, []byte(pq+c1)) {
		t.Errorf("next to a long signature line: %v", err)
	}
	for desc, c := range map[string]struct {
		note  []byte
		lines []string
	}{
		"not a note":     {[]byte(testOrigin + "\n5\n"), []string{c1}},
		"two lines":      {cp, []string{c1 + c2}},
		"malformed line": {cp, []string{"— w1 !!!"}},
		"no dash":        {cp, []string{"w1 AAAAAAAA"}},
		"too big":        {cp, manyLines(200)},
	} {
		if _, err := AppendCosignatures(c.note, c.lines); err == nil {
			t.Errorf("%s: accepted", desc)
		}
	}
}

// manyLines returns n distinct well-formed signature lines of ~110 bytes.
func manyLines(n int) []string {
	out := make([]string, n)
	for i := range out {
		sig := make([]byte, cosigSize)
		sig[0], sig[1] = byte(i), byte(i>>8)
		out[i] = "— junk/witness " + base64.StdEncoding.EncodeToString(sig)
	}
	return out
}
