package release

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func sample() *Manifest {
	return &Manifest{Format: Format, Node: "hub-nl", List: "verified", Version: 2, Previous: strings.Repeat("ab", 32),
		Created: "2026-11-25T01:00:00Z", Expires: "2026-12-02T01:00:00Z", KeyID: strings.Repeat("cd", 32), Entries: 3,
		SetRoot: strings.Repeat("ef", 32), Delta: Delta{From: 1, Adds: 1, SHA256: strings.Repeat("01", 32), Bytes: 70}, LogIndex: 5}
}

func TestManifestCanonicalAndStrict(t *testing.T) {
	raw := sample().Encode()
	want := `{"format":"hashhub.release.v1","node":"hub-nl","list":"verified","version":2,"previous":"` + strings.Repeat("ab", 32) +
		`","created":"2026-11-25T01:00:00Z","expires":"2026-12-02T01:00:00Z","key_id":"` + strings.Repeat("cd", 32) +
		`","entries":3,"set_root":"` + strings.Repeat("ef", 32) + `","delta":{"from":1,"adds":1,"removes":0,"updates":0,"sha256":"` +
		strings.Repeat("01", 32) + `","bytes":70},"log_index":5}`
	if string(raw) != want {
		t.Fatalf("encoding:\n%s\nwant\n%s", raw, want)
	}
	if _, err := ParseManifest(raw); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"whitespace":    strings.Replace(want, `,"node"`, `, "node"`, 1),
		"field order":   strings.Replace(want, `{"format":"hashhub.release.v1","node":"hub-nl"`, `{"node":"hub-nl","format":"hashhub.release.v1"`, 1),
		"unknown field": strings.Replace(want, `"log_index":5}`, `"log_index":5,"extra":1}`, 1),
		"format":        strings.Replace(want, `hashhub.release.v1`, `hashhub.release.v2`, 1),
		"time":          strings.Replace(want, `2026-11-25T01:00:00Z`, `yesterday`, 1),
		"trailing":      want + "\n",
		"garbage":       "\x00\xff",
	} {
		if _, err := ParseManifest([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s accepted: %v", name, err)
		}
	}
}

func TestSignVerify(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, err := NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	msg := sample().Encode()
	sig, err := s.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(s.PublicKeyPEM())
	if err != nil || v.KeyID() != s.KeyID() {
		t.Fatalf("verifier: %v", err)
	}
	if err := v.Verify(msg, sig); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(append(msg, ' '), sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("changed message: %v", err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	os, _ := NewSigner(other)
	osig, _ := os.Sign(msg)
	if err := v.Verify(msg, osig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other key's signature: %v", err)
	}
	if err := v.Verify(msg, []byte("not base64!")); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("garbage signature: %v", err)
	}
	if _, err := NewVerifier([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")); err == nil {
		t.Fatal("garbage key accepted")
	}
}

func TestLines(t *testing.T) {
	q := 90
	c := Change{Op: OpAdd, Item: Item{Algo: "pdq", Value: strings.Repeat("f0", 32), Quality: &q, Severity: "A"}}
	line := c.Line()
	if string(line) != `{"op":"add","algo":"pdq","value":"`+strings.Repeat("f0", 32)+`","quality":90,"severity":"A"}` {
		t.Fatalf("line %s", line)
	}
	if got, err := ParseChange(line); err != nil || got.Key() != c.Key() {
		t.Fatalf("parse: %v", err)
	}
	rm := Change{Op: OpRemove, Item: Item{Algo: "md5", Value: strings.Repeat("00", 16)}}
	if _, err := ParseChange(rm.Line()); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"op":        `{"op":"upsert","algo":"md5","value":"` + strings.Repeat("00", 16) + `"}`,
		"case":      `{"op":"add","algo":"md5","value":"` + strings.Repeat("AA", 16) + `"}`,
		"order":     `{"algo":"md5","op":"add","value":"` + strings.Repeat("00", 16) + `"}`,
		"remove+":   `{"op":"remove","algo":"md5","value":"` + strings.Repeat("00", 16) + `","severity":"A"}`,
		"severity":  `{"op":"add","algo":"md5","value":"` + strings.Repeat("00", 16) + `","severity":"Z"}`,
		"unknown":   `{"op":"add","algo":"md5","value":"` + strings.Repeat("00", 16) + `","x":1}`,
		"algorithm": `{"op":"add","algo":"crc","value":"00"}`,
		"long":      strings.Repeat(" ", MaxLine+1),
	} {
		if _, err := ParseChange([]byte(bad)); !errors.Is(err, ErrBadLine) {
			t.Errorf("%s accepted: %v", name, err)
		}
	}
}

// A delta line spliced from an item's line is the line Change encodes,
// for every algorithm and every optional attribute.
func TestAppendChangeLine(t *testing.T) {
	q0, q100 := 0, 100
	values := map[string]string{
		"md5": strings.Repeat("0f", 16), "sha1": strings.Repeat("a1", 20), "sha256": strings.Repeat("9c", 32),
		"pdq": strings.Repeat("f0", 32), "photodna": strings.Repeat("+/9=", 36),
	}
	for algo, value := range values {
		for _, quality := range []*int{nil, &q0, &q100} {
			for _, severity := range []string{"", "A", "B", "C"} {
				it := Item{Algo: algo, Value: value, Quality: quality, Severity: severity}
				for _, op := range []string{OpAdd, OpUpdate} {
					c := Change{Op: op, Item: it}
					want := c.Line()
					if got := AppendChangeLine([]byte("x"), op, it.Line()); string(got) != "x"+string(want) {
						t.Fatalf("spliced %s, want %s", got[1:], want)
					}
				}
			}
		}
	}
}

// appendLine writes the bytes json.Marshal does, for the plain strings it
// encodes itself and the others it leaves to encoding/json; ParseItem,
// which compares a line with it, refuses a line that is one field away
// from canonical.
func TestItemAppendLine(t *testing.T) {
	q0, q100, qneg := 0, 100, -3
	for _, it := range []Item{
		{Algo: "md5", Value: strings.Repeat("0f", 16)},
		{Algo: "pdq", Value: strings.Repeat("f0", 32), Quality: &q0, Severity: "A"},
		{Algo: "pdq", Value: strings.Repeat("f0", 32), Quality: &q100},
		{Algo: "x", Value: "v", Quality: &qneg, Severity: "B"},
		{Algo: "photodna", Value: strings.Repeat("+/9=", 36), Severity: "C"},
		{Algo: "a<b", Value: "c&d", Severity: "e>f"},
		{Algo: `q"uote`, Value: `back\slash`},
		{Algo: "tab\t", Value: "é", Severity: "\u2028"},
	} {
		j, err := json.Marshal(&it)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := it.appendLine([]byte("x")), "x"+string(j); string(got) != want {
			t.Errorf("appendLine %s, want %s", got, want)
		}
	}
	value := strings.Repeat("0f", 16)
	for _, bad := range []string{
		`{"algo":"md5","value":"` + value + `","severity":""}`,
		`{"algo":"md5","value":"` + value + `","quality":007}`,
		`{"algo":"md5","value":"` + value + `"} `,
	} {
		if _, err := ParseItem([]byte(bad)); !errors.Is(err, ErrBadLine) {
			t.Errorf("ParseItem(%s): %v", bad, err)
		}
	}
	if _, err := ParseItem([]byte(`{"algo":"md5","value":"` + value + `"}`)); err != nil {
		t.Error(err)
	}
}

// LineKey reads the key of a canonical line, and of no other.
func TestLineKey(t *testing.T) {
	q := 7
	for _, it := range []Item{
		{Algo: "md5", Value: strings.Repeat("0f", 16)},
		{Algo: "pdq", Value: strings.Repeat("f0", 32), Quality: &q, Severity: "B"},
		{Algo: "photodna", Value: strings.Repeat("+/9=", 36)},
	} {
		if k, ok := LineKey(it.Line()); !ok || k != it.Key() {
			t.Errorf("LineKey(%s) = %q, %v", it.Line(), k, ok)
		}
	}
	for _, bad := range []string{``, `{}`, `{"algo":"md5"}`, `{"value":"00","algo":"md5"}`, `not json`} {
		if k, ok := LineKey([]byte(bad)); ok {
			t.Errorf("LineKey(%s) = %q", bad, k)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add(sample().Encode())
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseManifest(raw)
		if err == nil && string(m.Encode()) != string(raw) {
			t.Fatal("accepted a non-canonical manifest")
		}
	})
}

func FuzzParseChange(f *testing.F) {
	f.Add([]byte(`{"op":"add","algo":"md5","value":"00112233445566778899aabbccddeeff"}`))
	f.Add([]byte(`{"op":"remove","algo":"sha1","value":"da39a3ee5e6b4b0d3255bfef95601890afd80709"}`))
	f.Add([]byte(`{"op":"update","algo":"pdq","value":"` + strings.Repeat("f0", 32) + `","quality":90,"severity":"A"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseChange(raw)
		if err == nil && string(c.Line()) != string(raw) {
			t.Fatal("accepted a non-canonical line")
		}
		// The fast scanner splits a line as the JSON decoder does.
		if fc, ok := scanCanonical(raw, true); ok {
			var sc Change
			if strictDecode(raw, &sc) == nil {
				same := fc.Op == sc.Op && fc.Algo == sc.Algo && fc.Value == sc.Value && fc.Severity == sc.Severity &&
					(fc.Quality == nil) == (sc.Quality == nil) && (fc.Quality == nil || *fc.Quality == *sc.Quality)
				if !same {
					t.Fatalf("scanner %+v, decoder %+v", fc, sc)
				}
			}
		}
	})
}

// FuzzItemLine: Item.Line writes exactly what json.Marshal writes, on its
// direct path and off it (escaped characters, no quality, no severity).
func FuzzItemLine(f *testing.F) {
	f.Add("md5", "00112233445566778899aabbccddeeff", 0, false, "")
	f.Add("pdq", strings.Repeat("f0", 32), 90, true, "A")
	f.Add("sha256", "a<b>&\"\\\x01\u00e9", -3, true, "B\u2028")
	f.Fuzz(func(t *testing.T, algo, value string, q int, hasQ bool, sev string) {
		it := Item{Algo: algo, Value: value, Severity: sev}
		if hasQ {
			it.Quality = &q
		}
		want, err := json.Marshal(&it)
		if err != nil {
			t.Fatal(err)
		}
		if got := it.Line(); string(got) != string(want) {
			t.Fatalf("Line() = %s, json.Marshal = %s", got, want)
		}
	})
}

func TestRotation(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k3, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s1, _ := NewSigner(k1)
	s3, _ := NewSigner(k3)
	v1, _ := NewVerifier(s1.PublicKeyPEM())
	r12, err := SignRotation("hub-nl", k1, k2, time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	r23, _ := SignRotation("hub-nl", k2, k3, time.Unix(2, 0))
	chain, err := FollowChain(v1, []SignedRotation{*r23, *r12}, s3.KeyID())
	if err != nil || len(chain) != 3 || chain[2].KeyID() != s3.KeyID() {
		t.Fatalf("chain: %v %v", chain, err)
	}
	// A release signed by the newest key verifies with the end of the chain.
	msg := sample().Encode()
	sig, _ := s3.Sign(msg)
	if err := chain[2].Verify(msg, sig); err != nil {
		t.Fatal(err)
	}
	// A statement not signed by the trusted key leads nowhere.
	kx, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged, _ := SignRotation("hub-nl", kx, k3, time.Unix(3, 0))
	forged.Statement = strings.Replace(forged.Statement, mustKeyID(t, kx), s1.KeyID(), 1) // claims to succeed k1
	if _, err := FollowChain(v1, []SignedRotation{*forged}, s3.KeyID()); !errors.Is(err, ErrRotation) {
		t.Fatalf("forged rotation followed: %v", err)
	}
	// A missing link is refused.
	if _, err := FollowChain(v1, []SignedRotation{*r23}, s3.KeyID()); !errors.Is(err, ErrRotation) {
		t.Fatalf("gap in rotations: %v", err)
	}
	// A tampered statement is refused.
	bad := *r12
	bad.Statement = strings.Replace(bad.Statement, "hub-nl", "hub-xx", 1)
	if _, _, err := bad.Follow(v1); !errors.Is(err, ErrRotation) {
		t.Fatalf("tampered statement: %v", err)
	}
}

func mustKeyID(t *testing.T, k *ecdsa.PrivateKey) string {
	id, err := KeyID(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return id
}
