package records

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

func sample() *Record {
	return &Record{Format: Format, Origin: "hub-nl", Seq: 7, Kind: KindAssessment, Time: "2026-11-25T03:04:05.123456789Z",
		Org: "org_1", OrgJurisdiction: "NL", User: "usr_1", Verdict: "illegal", Category: "national",
		Jurisdictions: []string{"DE", "NL"}, Severity: "A",
		Keys: []string{"md5:00112233445566778899aabbccddeeff", "sha256:" + strings.Repeat("ab", 32)}}
}

func TestRoundTripAndSignature(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	s := Sign(sample(), key)
	want := `{"format":"hashhub.record.v1","origin":"hub-nl","seq":7,"kind":"assessment","time":"2026-11-25T03:04:05.123456789Z","org":"org_1","org_jurisdiction":"NL","user":"usr_1","verdict":"illegal","category":"national","jurisdictions":["DE","NL"],"severity":"A","keys":["md5:00112233445566778899aabbccddeeff","sha256:` + strings.Repeat("ab", 32) + `"]}`
	if string(s.Raw) != want {
		t.Fatalf("canonical bytes:\n%s\nwant\n%s", s.Raw, want)
	}
	line := s.Line()
	back, err := ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	r, err := back.Verify(pub)
	if err != nil || r.Seq != 7 || len(r.Keys) != 2 {
		t.Fatalf("verify: %+v %v", r, err)
	}
	otherPub, _, _ := ed25519.GenerateKey(nil)
	if _, err := back.Verify(otherPub); !errors.Is(err, ErrSignature) {
		t.Fatalf("another key: %v", err)
	}
	back.Raw = []byte(strings.Replace(string(back.Raw), `"severity":"A"`, `"severity":"B"`, 1))
	if _, err := back.Verify(pub); !errors.Is(err, ErrSignature) {
		t.Fatalf("changed record: %v", err)
	}
}

func TestRetraction(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	r := &Record{Format: Format, Origin: "hub-nl", Seq: 8, Kind: KindRetraction, Time: FormatTime(sample().TimeValue()),
		Org: "org_1", OrgJurisdiction: "NL", User: "usr_1", Reason: "mix-up", Keys: []string{"md5:00112233445566778899aabbccddeeff"}}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(Sign(r, key).Raw); err != nil {
		t.Fatal(err)
	}
}

func TestRefusals(t *testing.T) {
	good := string(sample().Encode())
	for name, raw := range map[string]string{
		"whitespace":        strings.Replace(good, `,"seq"`, `, "seq"`, 1),
		"unknown field":     strings.Replace(good, `"format"`, `"x":1,"format"`, 1),
		"other order":       strings.Replace(good, `"origin":"hub-nl","seq":7`, `"seq":7,"origin":"hub-nl"`, 1),
		"other format":      strings.Replace(good, Format, "hashhub.record.v2", 1),
		"bad origin":        strings.Replace(good, `"hub-nl"`, `"Hub NL"`, 1),
		"zero seq":          strings.Replace(good, `"seq":7`, `"seq":0`, 1),
		"local time":        strings.Replace(good, "05.123456789Z", "05.123456789+01:00", 1),
		"unknown kind":      strings.Replace(good, `"assessment"`, `"rumour"`, 1),
		"unsorted keys":     strings.Replace(good, `"md5:00112233445566778899aabbccddeeff","sha256:`+strings.Repeat("ab", 32)+`"`, `"sha256:`+strings.Repeat("ab", 32)+`","md5:00112233445566778899aabbccddeeff"`, 1),
		"upper-case hash":   strings.Replace(good, strings.Repeat("ab", 32), strings.Repeat("AB", 32), 1),
		"no keys":           good[:strings.Index(good, `"keys"`)] + `"keys":[]}`,
		"unordered jurs":    strings.Replace(good, `["DE","NL"]`, `["NL","DE"]`, 1),
		"reason on verdict": strings.Replace(good, `,"keys"`, `,"reason":"x","keys"`, 1),
		"trailing":          good + "{}",
		"not json":          "\x00\x01",
	} {
		if _, err := Parse([]byte(raw)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	for name, line := range map[string]string{
		"not base64":   `{"record":"!!","sig":"` + strings.Repeat("A", 86) + `=="}`,
		"short sig":    `{"record":"e30=","sig":"AAAA"}`,
		"extra field":  `{"record":"e30=","sig":"AAAA","x":1}`,
		"empty record": `{"record":"","sig":"` + strings.Repeat("A", 86) + `=="}`,
	} {
		if _, err := ParseLine([]byte(line)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample().Encode())
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := Parse(raw)
		if err != nil {
			return
		}
		// Whatever is accepted is canonical and valid.
		if string(r.Encode()) != string(raw) || r.Validate() != nil {
			t.Fatalf("accepted non-canonical %q", raw)
		}
	})
}

func FuzzParseLine(f *testing.F) {
	_, key, _ := ed25519.GenerateKey(nil)
	f.Add(Sign(sample(), key).Line())
	f.Add([]byte(`{"record":"e30=","sig":"AAAA"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		s, err := ParseLine(line)
		if err != nil {
			return
		}
		if len(s.Sig) != ed25519.SignatureSize || len(s.Raw) == 0 {
			t.Fatalf("accepted %q", line)
		}
		back, err := ParseLine(s.Line())
		if err != nil || string(back.Raw) != string(s.Raw) {
			t.Fatalf("line does not round-trip: %v", err)
		}
	})
}
