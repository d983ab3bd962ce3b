package hashes

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// Test vectors: the digests of the empty string, so they are recognisable.
const (
	md5Empty    = "d41d8cd98f00b204e9800998ecf8427e"
	sha1Empty   = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
	sha256Empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	pdqSample   = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
)

// photoDNABytes is a deterministic 144-byte value chosen so that its base64
// spelling contains both '+' and '/' (and so differs in URL-safe form).
var photoDNABytes = func() []byte {
	b := make([]byte, photoDNASize)
	for i := range b {
		b[i] = byte(i*7 + 0xf8)
	}
	return b
}()

var (
	photoDNAStd = base64.StdEncoding.EncodeToString(photoDNABytes)
	photoDNAURL = base64.URLEncoding.EncodeToString(photoDNABytes)
)

func intp(i int) *int { return &i }

func TestPhotoDNAFixture(t *testing.T) {
	if len(photoDNAStd) != 192 || !strings.ContainsAny(photoDNAStd, "+/") || photoDNAStd == photoDNAURL {
		t.Fatalf("fixture does not exercise both alphabets: %q", photoDNAStd)
	}
}

func TestNames(t *testing.T) {
	want := []string{"md5", "pdq", "photodna", "sha1", "sha256"}
	got := Names()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
	got[0] = "mutated"
	if Names()[0] != "md5" {
		t.Fatal("Names returned the registry's own slice")
	}
}

func TestMatchKinds(t *testing.T) {
	want := map[string]MatchKind{"md5": Exact, "sha1": Exact, "sha256": Exact, "pdq": Hamming, "photodna": Exact}
	for name, kind := range want {
		a, err := Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if a.Name() != name || a.Match() != kind {
			t.Errorf("Lookup(%q) = %q/%q, want %q/%q", name, a.Name(), a.Match(), name, kind)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		algo    string
		value   string
		quality *int
		want    string // canonical value when err is nil
		err     error  // sentinel
		field   string // FieldError.Field when err != nil
		reason  string // substring of the reason
	}{
		// md5
		{name: "md5 valid", algo: "md5", value: md5Empty, want: md5Empty},
		{name: "md5 upper", algo: "md5", value: strings.ToUpper(md5Empty), want: md5Empty},
		{name: "md5 short", algo: "md5", value: md5Empty[:31], err: ErrInvalidValue, field: "value", reason: "md5 needs 32 hex characters, got 31"},
		{name: "md5 long", algo: "md5", value: md5Empty + "0", err: ErrInvalidValue, field: "value", reason: "got 33"},
		{name: "md5 non-hex", algo: "md5", value: "g" + md5Empty[1:], err: ErrInvalidValue, field: "value", reason: `character "g" at position 1`},
		{name: "md5 empty", algo: "md5", value: "", err: ErrInvalidValue, field: "value", reason: "value is empty"},
		{name: "md5 whitespace only", algo: "md5", value: " \t\n", err: ErrInvalidValue, field: "value", reason: "value is empty"},
		{name: "md5 surrounding whitespace", algo: "md5", value: "\t " + md5Empty + "\r\n", want: md5Empty},
		{name: "md5 inner space", algo: "md5", value: md5Empty[:10] + " " + md5Empty[11:], err: ErrInvalidValue, field: "value", reason: `character " " at position 11`},
		{name: "md5 0x", algo: "md5", value: "0x" + md5Empty, err: ErrInvalidValue, field: "value", reason: `drop the "0x" prefix`},
		{name: "md5 0X", algo: "md5", value: "0X" + md5Empty[2:], err: ErrInvalidValue, field: "value", reason: `drop the "0X" prefix`},
		{name: "md5 quality", algo: "md5", value: md5Empty, quality: intp(50), err: ErrInvalidQuality, field: "quality", reason: "quality applies only to pdq, not to md5"},

		// sha1
		{name: "sha1 valid", algo: "sha1", value: sha1Empty, want: sha1Empty},
		{name: "sha1 mixed case", algo: "sha1", value: "DA39a3EE5e6b4b0d3255bfef95601890afd80709", want: sha1Empty},
		{name: "sha1 given sha256", algo: "sha1", value: sha256Empty, err: ErrInvalidValue, field: "value", reason: "sha1 needs 40 hex characters, got 64"},
		{name: "sha1 unicode", algo: "sha1", value: "é" + sha1Empty[2:], err: ErrInvalidValue, field: "value", reason: `character "é" at position 1`},
		{name: "sha1 invalid utf8", algo: "sha1", value: "\xff" + sha1Empty[1:], err: ErrInvalidValue, field: "value", reason: `character "\xff" at position 1`},
		{name: "sha1 quality", algo: "sha1", value: sha1Empty, quality: intp(0), err: ErrInvalidQuality, field: "quality"},

		// sha256
		{name: "sha256 valid", algo: "sha256", value: sha256Empty, want: sha256Empty},
		{name: "sha256 upper", algo: "sha256", value: strings.ToUpper(sha256Empty), want: sha256Empty},
		// One upper-case digit, the last letter: lower-cased all the same.
		{name: "sha256 one upper", algo: "sha256", value: sha256Empty[:60] + "B" + sha256Empty[61:], want: sha256Empty},
		{name: "sha256 63", algo: "sha256", value: sha256Empty[:63], err: ErrInvalidValue, field: "value", reason: "sha256 needs 64 hex characters, got 63"},
		{name: "sha256 non-hex", algo: "sha256", value: sha256Empty[:40] + "z" + sha256Empty[41:], err: ErrInvalidValue, field: "value", reason: "position 41"},
		{name: "sha256 empty", algo: "sha256", value: "", err: ErrInvalidValue, field: "value"},
		{name: "sha256 huge", algo: "sha256", value: strings.Repeat("a", MaxValueLen+1), err: ErrInvalidValue, field: "value", reason: "longer than 1024 bytes"},
		{name: "sha256 huge whitespace", algo: "sha256", value: strings.Repeat(" ", MaxValueLen) + sha256Empty, err: ErrInvalidValue, field: "value", reason: "longer than 1024 bytes"},
		{name: "sha256 quality", algo: "sha256", value: sha256Empty, quality: intp(100), err: ErrInvalidQuality, field: "quality"},

		// pdq
		{name: "pdq valid", algo: "pdq", value: pdqSample, want: pdqSample},
		{name: "pdq upper", algo: "pdq", value: strings.ToUpper(pdqSample), want: pdqSample},
		{name: "pdq whitespace", algo: "pdq", value: "  " + pdqSample + "\n", want: pdqSample},
		{name: "pdq quality 0", algo: "pdq", value: pdqSample, quality: intp(0), want: pdqSample},
		{name: "pdq quality 100", algo: "pdq", value: pdqSample, quality: intp(100), want: pdqSample},
		{name: "pdq quality -1", algo: "pdq", value: pdqSample, quality: intp(-1), err: ErrInvalidQuality, field: "quality", reason: "from 0 to 100, got -1"},
		{name: "pdq quality 101", algo: "pdq", value: pdqSample, quality: intp(101), err: ErrInvalidQuality, field: "quality", reason: "got 101"},
		{name: "pdq short", algo: "pdq", value: pdqSample[:62], err: ErrInvalidValue, field: "value", reason: "pdq needs 64 hex characters, got 62"},
		{name: "pdq non-hex", algo: "pdq", value: "-" + pdqSample[1:], err: ErrInvalidValue, field: "value", reason: `"-" at position 1`},
		{name: "pdq zero", algo: "pdq", value: strings.Repeat("0", 64), err: ErrInvalidValue, field: "value", reason: "all zeros"},
		{name: "pdq bad value beats quality", algo: "pdq", value: "", quality: intp(500), err: ErrInvalidValue, field: "value"},

		// photodna
		{name: "photodna std", algo: "photodna", value: photoDNAStd, want: photoDNAStd},
		{name: "photodna url-safe", algo: "photodna", value: photoDNAURL, want: photoDNAStd},
		{name: "photodna whitespace", algo: "photodna", value: "\n " + photoDNAStd + " \n", want: photoDNAStd},
		{name: "photodna padded short", algo: "photodna", value: base64.StdEncoding.EncodeToString(photoDNABytes[:143]), err: ErrInvalidValue, field: "value", reason: "photodna needs 144 bytes, got 143"},
		{name: "photodna unpadded short", algo: "photodna", value: base64.RawURLEncoding.EncodeToString(photoDNABytes[:142]), err: ErrInvalidValue, field: "value", reason: "needs 144 bytes, got 142"},
		{name: "photodna long", algo: "photodna", value: base64.StdEncoding.EncodeToString(append(photoDNABytes[:144:144], 1, 2, 3)), err: ErrInvalidValue, field: "value", reason: "got 147"},
		{name: "photodna mixed alphabets", algo: "photodna", value: photoDNAStd[:100] + "-" + photoDNAStd[101:], err: ErrInvalidValue, field: "value", reason: "mixes standard"},
		{name: "photodna bad char", algo: "photodna", value: photoDNAStd[:10] + "*" + photoDNAStd[11:], err: ErrInvalidValue, field: "value", reason: `"*" at position 11`},
		{name: "photodna inner newline", algo: "photodna", value: photoDNAStd[:76] + "\n" + photoDNAStd[76:], err: ErrInvalidValue, field: "value", reason: `"\n" at position 77`},
		{name: "photodna bad padding", algo: "photodna", value: photoDNAStd + "==", err: ErrInvalidValue, field: "value", reason: "padding"},
		{name: "photodna padding in middle", algo: "photodna", value: photoDNAStd[:96] + "=" + photoDNAStd[97:], err: ErrInvalidValue, field: "value", reason: `"=" at position 97`},
		{name: "photodna impossible length", algo: "photodna", value: photoDNAStd[:189], err: ErrInvalidValue, field: "value", reason: "not valid base64"},
		{name: "photodna hex", algo: "photodna", value: sha256Empty, err: ErrInvalidValue, field: "value", reason: "got 48"},
		{name: "photodna empty", algo: "photodna", value: " ", err: ErrInvalidValue, field: "value", reason: "value is empty"},
		{name: "photodna quality", algo: "photodna", value: photoDNAStd, quality: intp(1), err: ErrInvalidQuality, field: "quality"},

		// algorithm names
		{name: "unknown algo", algo: "tlsh", value: "x", err: ErrUnknownAlgorithm, field: "algo", reason: `unknown algorithm "tlsh"; known: md5, pdq, photodna, sha1, sha256`},
		{name: "upper-case algo", algo: "SHA256", value: sha256Empty, err: ErrUnknownAlgorithm, field: "algo", reason: `names are lower-case; did you mean "sha256"?`},
		{name: "spaced algo", algo: " sha256", value: sha256Empty, err: ErrUnknownAlgorithm, field: "algo", reason: "no surrounding whitespace"},
		{name: "empty algo", algo: "", value: sha256Empty, err: ErrUnknownAlgorithm, field: "algo", reason: "algorithm is required"},
		{name: "long algo", algo: strings.Repeat("x", 1000), value: sha256Empty, err: ErrUnknownAlgorithm, field: "algo", reason: "longer than 32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse(tt.algo, tt.value, tt.quality)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if h.Algo != tt.algo || h.Value != tt.want {
					t.Fatalf("Parse = %q %q, want %q %q", h.Algo, h.Value, tt.algo, tt.want)
				}
				if (h.Quality == nil) != (tt.quality == nil) || (h.Quality != nil && *h.Quality != *tt.quality) {
					t.Fatalf("Quality = %v, want %v", h.Quality, tt.quality)
				}
				if h.Quality != nil && h.Quality == tt.quality {
					t.Fatal("Parse kept the caller's quality pointer")
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse = %+v, want error %v", h, tt.err)
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %q does not wrap %q", err, tt.err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %q is %T, want *FieldError", err, err)
			}
			if fe.Field != tt.field {
				t.Errorf("Field = %q, want %q", fe.Field, tt.field)
			}
			if !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", fe.Reason, tt.reason)
			}
			if got, want := err.Error(), fe.Field+": "+fe.Reason; got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
			if len(fe.Reason) > 300 {
				t.Errorf("Reason is %d bytes long; hostile input leaks into messages", len(fe.Reason))
			}
		})
	}
}

func TestFieldErrorMessage(t *testing.T) {
	_, err := Parse("sha256", sha256Empty[:63], nil)
	if got, want := err.Error(), "value: sha256 needs 64 hex characters, got 63"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestPhotoDNAEncodingsConverge(t *testing.T) {
	spellings := []string{
		photoDNAStd,
		photoDNAURL,
		base64.RawStdEncoding.EncodeToString(photoDNABytes),
		base64.RawURLEncoding.EncodeToString(photoDNABytes),
		" " + photoDNAURL + "\t",
	}
	for _, s := range spellings {
		h, err := Parse("photodna", s, nil)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if h.Value != photoDNAStd {
			t.Errorf("Parse(%q) = %q, want %q", s, h.Value, photoDNAStd)
		}
	}
}

func TestKeyRoundTrip(t *testing.T) {
	inputs := []struct{ algo, value string }{
		{"md5", md5Empty},
		{"sha1", strings.ToUpper(sha1Empty)},
		{"sha256", sha256Empty},
		{"pdq", pdqSample},
		{"photodna", photoDNAURL},
	}
	for _, in := range inputs {
		h, err := Parse(in.algo, in.value, nil)
		if err != nil {
			t.Fatalf("Parse(%q, %q): %v", in.algo, in.value, err)
		}
		key := h.Key()
		if key != in.algo+":"+h.Value {
			t.Errorf("Key() = %q", key)
		}
		back, err := ParseKey(key)
		if err != nil {
			t.Fatalf("ParseKey(%q): %v", key, err)
		}
		if back != h {
			t.Errorf("ParseKey(%q) = %+v, want %+v", key, back, h)
		}
	}

	q := 80
	h, err := Parse("pdq", pdqSample, &q)
	if err != nil {
		t.Fatal(err)
	}
	if h.Key() != "pdq:"+pdqSample {
		t.Errorf("quality leaked into key: %q", h.Key())
	}
}

func TestParseKeyErrors(t *testing.T) {
	tests := []struct {
		key   string
		err   error
		field string
	}{
		{"", ErrInvalidValue, "key"},
		{"sha256", ErrInvalidValue, "key"},
		{sha256Empty, ErrInvalidValue, "key"},
		{":" + sha256Empty, ErrUnknownAlgorithm, "algo"},
		{"SHA256:" + sha256Empty, ErrUnknownAlgorithm, "algo"},
		{"sha256:" + strings.ToUpper(sha256Empty), ErrInvalidValue, "value"},
		{"sha256: " + sha256Empty, ErrInvalidValue, "value"},
		{"sha256:" + sha256Empty[:63], ErrInvalidValue, "value"},
		{"photodna:" + photoDNAURL, ErrInvalidValue, "value"},
		{"md5:" + md5Empty + ":x", ErrInvalidValue, "value"},
		{"sha256:" + strings.Repeat("a", 5000), ErrInvalidValue, "key"},
	}
	for _, tt := range tests {
		_, err := ParseKey(tt.key)
		var fe *FieldError
		if !errors.Is(err, tt.err) || !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("ParseKey(%.80q) error = %v, want %v on field %q", tt.key, err, tt.err, tt.field)
		}
	}
}

func TestHammingDistance(t *testing.T) {
	flip := func(s string, i int) string { // flip the lowest bit of hex digit i
		b := []byte(s)
		d := fromHexChar(b[i]) ^ 1
		b[i] = "0123456789abcdef"[d]
		return string(b)
	}
	ones := strings.Repeat("f", 64)
	tests := []struct {
		a, b string
		want int
	}{
		{pdqSample, pdqSample, 0},
		{pdqSample, strings.ToUpper(pdqSample), 0},
		{pdqSample, flip(pdqSample, 0), 1},
		{pdqSample, flip(flip(pdqSample, 63), 17), 2},
		{strings.Repeat("0", 64), ones, 256},
		{strings.Repeat("0", 64), "8" + strings.Repeat("0", 63), 1},
		{strings.Repeat("a", 64), strings.Repeat("5", 64), 256},
	}
	for _, tt := range tests {
		got, err := HammingDistance(tt.a, tt.b)
		if err != nil || got != tt.want {
			t.Errorf("HammingDistance(%q, %q) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
		}
		if rev, _ := HammingDistance(tt.b, tt.a); rev != got {
			t.Errorf("HammingDistance not symmetric: %d vs %d", rev, got)
		}
	}

	for _, bad := range []string{"", pdqSample[:63], pdqSample + "0", " " + pdqSample[1:], "g" + pdqSample[1:]} {
		_, err := HammingDistance(pdqSample, bad)
		var fe *FieldError
		if !errors.Is(err, ErrInvalidValue) || !errors.As(err, &fe) || fe.Field != "value" {
			t.Errorf("HammingDistance(_, %q) error = %v, want a value FieldError", bad, err)
		}
		if _, err := HammingDistance(bad, pdqSample); err == nil {
			t.Errorf("HammingDistance(%q, _) accepted", bad)
		}
	}
}

// testAlgo is a minimal Algorithm for exercising Register.
type testAlgo struct {
	name  string
	match MatchKind
}

func (a testAlgo) Name() string                       { return a.name }
func (a testAlgo) Match() MatchKind                   { return a.match }
func (a testAlgo) Canonical(v string) (string, error) { return v, nil }

func TestRegisterPanics(t *testing.T) {
	for _, a := range []Algorithm{
		nil,
		testAlgo{name: "sha256", match: Exact},  // duplicate
		testAlgo{name: "", match: Exact},        // empty
		testAlgo{name: "TMK", match: Exact},     // not lower-case
		testAlgo{name: "t m k", match: Exact},   // not a name
		testAlgo{name: "tmk", match: "fuzzy"},   // unknown match kind
		testAlgo{name: strings.Repeat("a", 33)}, // too long
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%#v) did not panic", a)
				}
			}()
			Register(a)
		}()
	}
	if len(Names()) != 5 {
		t.Fatalf("a refused Register changed the registry: %q", Names())
	}
}

func TestParseAllocations(t *testing.T) {
	// The canonical case sits on the bulk-import hot path: it should not
	// allocate beyond the error-free result.
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Parse("sha256", sha256Empty, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("Parse of a canonical sha256 allocates %.0f times", allocs)
	}
}

func BenchmarkParseSHA256(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("sha256", sha256Empty, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHammingDistance(b *testing.B) {
	other := strings.ToUpper(pdqSample)
	for b.Loop() {
		if _, err := HammingDistance(pdqSample, other); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParse checks Parse's contract on arbitrary input: it never panics,
// every error is a *FieldError wrapping a sentinel, and every success is a
// canonical Hash of the documented shape that Parse and ParseKey map to
// itself.
func FuzzParse(f *testing.F) {
	for _, algo := range Names() {
		f.Add(algo, "", 0, false)
	}
	seeds := []struct {
		algo, value string
		q           int
		hasQ        bool
	}{
		{"md5", md5Empty, 0, false},
		{"md5", " " + strings.ToUpper(md5Empty) + "\n", 0, false},
		{"sha1", sha1Empty, 0, false},
		{"sha256", sha256Empty, 0, false},
		{"sha256", "0x" + sha256Empty, 0, false},
		{"sha256", sha256Empty, 5, true},
		{"pdq", pdqSample, 50, true},
		{"pdq", pdqSample, 101, true},
		{"pdq", strings.Repeat("0", 64), 0, false},
		{"pdq", "\u00a0" + strings.ToUpper(pdqSample), -1, true},
		{"photodna", photoDNAStd, 0, false},
		{"photodna", photoDNAURL, 0, false},
		{"photodna", base64.RawURLEncoding.EncodeToString(photoDNABytes), 0, false},
		{"photodna", photoDNAStd + "=", 0, false},
		{"photodna", photoDNAStd[:191] + "=", 0, false},
		{"SHA256", sha256Empty, 0, false},
		{"tlsh", "T1", 0, false},
	}
	for _, s := range seeds {
		f.Add(s.algo, s.value, s.q, s.hasQ)
	}

	f.Fuzz(func(t *testing.T, algo, value string, q int, hasQ bool) {
		var quality *int
		if hasQ {
			quality = &q
		}
		h, err := Parse(algo, value, quality)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %q is %T, want *FieldError", err, err)
			}
			switch {
			case fe.Field == "algo" && errors.Is(err, ErrUnknownAlgorithm),
				fe.Field == "value" && errors.Is(err, ErrInvalidValue),
				fe.Field == "quality" && errors.Is(err, ErrInvalidQuality):
			default:
				t.Fatalf("error %q has field %q and sentinel %v", err, fe.Field, fe.Err)
			}
			if fe.Reason == "" || len(fe.Reason) > 400 {
				t.Fatalf("reason is %d bytes: %q", len(fe.Reason), fe.Reason)
			}
			return
		}

		if h.Algo != algo {
			t.Fatalf("Algo = %q, want %q", h.Algo, algo)
		}
		checkShape(t, h)
		if hasQ != (h.Quality != nil) || (hasQ && *h.Quality != q) {
			t.Fatalf("Quality = %v, want %d (given: %v)", h.Quality, q, hasQ)
		}

		again, err := Parse(h.Algo, h.Value, h.Quality)
		if err != nil {
			t.Fatalf("Parse of canonical %+v: %v", h, err)
		}
		if again.Algo != h.Algo || again.Value != h.Value || (again.Quality == nil) != (h.Quality == nil) ||
			(h.Quality != nil && *again.Quality != *h.Quality) {
			t.Fatalf("Parse not idempotent: %+v then %+v", h, again)
		}

		fromKey, err := ParseKey(h.Key())
		if err != nil {
			t.Fatalf("ParseKey(%q): %v", h.Key(), err)
		}
		if fromKey != (Hash{Algo: h.Algo, Value: h.Value}) {
			t.Fatalf("ParseKey(%q) = %+v", h.Key(), fromKey)
		}
	})
}

// checkShape asserts that a successfully parsed Hash has the documented
// canonical form for its algorithm.
func checkShape(t *testing.T, h Hash) {
	t.Helper()
	hexLen := map[string]int{"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
	switch h.Algo {
	case "md5", "sha1", "sha256", "pdq":
		if len(h.Value) != hexLen[h.Algo] || strings.Trim(h.Value, "0123456789abcdef") != "" {
			t.Fatalf("%s value %q is not %d lower-case hex characters", h.Algo, h.Value, hexLen[h.Algo])
		}
		if h.Algo == "pdq" {
			if strings.Trim(h.Value, "0") == "" {
				t.Fatalf("all-zero pdq accepted")
			}
			if h.Quality != nil && (*h.Quality < 0 || *h.Quality > 100) {
				t.Fatalf("pdq quality %d accepted", *h.Quality)
			}
		} else if h.Quality != nil {
			t.Fatalf("quality accepted for %s", h.Algo)
		}
	case "photodna":
		raw, err := base64.StdEncoding.Strict().DecodeString(h.Value)
		if err != nil || len(raw) != 144 || len(h.Value) != 192 || base64.StdEncoding.EncodeToString(raw) != h.Value {
			t.Fatalf("photodna value %q is not canonical base64 of 144 bytes", h.Value)
		}
		if h.Quality != nil {
			t.Fatalf("quality accepted for photodna")
		}
	default:
		t.Fatalf("unexpected algorithm %q", h.Algo)
	}
}
