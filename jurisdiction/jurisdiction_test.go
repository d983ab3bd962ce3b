package jurisdiction

import (
	"bufio"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/internal/needtool"
)

func TestValid(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"NL", true},
		{"GB", true},
		{"US", true},
		{"DE", true},
		{"AD", true},
		{"ZW", true},
		{"XK", false}, // user-assigned (Kosovo), not official
		{"UK", false}, // exceptionally reserved; GB is the code
		{"EU", false}, // exceptionally reserved
		{"ZZ", false}, // user-assigned
		{"AA", false}, // user-assigned
		{"nl", false}, // Valid does not normalise
		{"Nl", false},
		{"N1", false},
		{"", false},
		{"N", false},
		{"NLD", false}, // alpha-3
		{" NL", false},
		{"N\x00", false},
		{"\xff\xff", false},
		{"ÅL", false},
	}
	for _, tt := range tests {
		if got := Valid(tt.code); got != tt.want {
			t.Errorf("Valid(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"NL", "NL"},
		{"nl", "NL"},
		{"gB", "GB"},
		{" us\t", "US"},
		{"de\n", "DE"},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}

	for _, in := range []string{"uk", "EU", "ZZ", "N1", "", "NLD", "xk", "N L", "ſe", "ıt", "ＮＬ", strings.Repeat("x", 1000)} {
		got, err := Normalize(in)
		if err == nil {
			t.Errorf("Normalize(%q) = %q, want error", in, got)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Normalize(%q) error %q does not wrap ErrInvalid", in, err)
		}
		if len(err.Error()) > 120 {
			t.Errorf("Normalize error is %d bytes long", len(err.Error()))
		}
	}

	_, err := Normalize("nld")
	if got, want := err.Error(), `invalid jurisdiction: "nld" is not an ISO 3166-1 alpha-2 country code`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestTable(t *testing.T) {
	list := strings.Fields(assigned)
	if len(list) != 249 {
		t.Fatalf("table has %d codes, want 249", len(list))
	}
	if !slices.IsSorted(list) || len(slices.Compact(slices.Clone(list))) != len(list) {
		t.Fatal("table is not sorted and free of duplicates")
	}
	if strings.Join(list, " ") != assigned {
		t.Fatal("table is not separated by single spaces")
	}
	n := 0
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			if Valid(string([]rune{a, b})) {
				n++
			}
		}
	}
	if n != 249 {
		t.Fatalf("Valid accepts %d codes, want 249", n)
	}
}

// TestTableMatchesTZData cross-checks the table against the system's copy
// of the time zone database's ISO 3166 table, which lists exactly the
// officially assigned codes. It is skipped where tzdata is not installed.
func TestTableMatchesTZData(t *testing.T) {
	f, err := os.Open(needtool.File(t, "/usr/share/zoneinfo/iso3166.tab", "iso3166.tab"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tz []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		code, _, _ := strings.Cut(line, "\t")
		tz = append(tz, code)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(tz)
	if got := strings.Join(tz, " "); got != assigned {
		t.Errorf("table differs from tzdata's iso3166.tab:\n tz:  %s\n ours: %s", got, assigned)
	}
}

func BenchmarkValid(b *testing.B) {
	for b.Loop() {
		Valid("NL")
	}
}

// TestNormalizeSuggests: a reserved code in common use is refused with the
// assigned code of the same country.
func TestNormalizeSuggests(t *testing.T) {
	for in, want := range map[string]string{"UK": "did you mean GB?", "uk": "did you mean GB?", " el ": "did you mean GR?"} {
		_, err := Normalize(in)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Normalize(%q): %v, want %q", in, err, want)
		}
	}
	if _, err := Normalize("XK"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("Normalize(XK): %v", err)
	}
}
