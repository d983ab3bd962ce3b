package release

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/hashes"
)

// TestMaxItemLine: the longest real canonical line of every registered
// algorithm fits MaxItemLine, and the longest one meets it exactly (the
// bound a client refuses a snapshot past is not looser than it must be).
func TestMaxItemLine(t *testing.T) {
	values := map[string]string{
		"md5":      strings.Repeat("a", 32),
		"sha1":     strings.Repeat("b", 40),
		"sha256":   strings.Repeat("c", 64),
		"pdq":      strings.Repeat("d", 64),
		"photodna": base64.StdEncoding.EncodeToString(make([]byte, 144)),
	}
	longest := 0
	for _, name := range hashes.Names() {
		v, ok := values[name]
		if !ok {
			t.Fatalf("no test value for algorithm %q", name)
		}
		var q *int
		if name == "pdq" {
			n := 100
			q = &n
		}
		h, err := hashes.Parse(name, v, q)
		if err != nil {
			t.Fatal(err)
		}
		if got := hashes.MaxCanonicalLen(name); got != len(h.Value) {
			t.Errorf("MaxCanonicalLen(%q) = %d, a canonical value has %d", name, got, len(h.Value))
		}
		line := (&Item{Algo: h.Algo, Value: h.Value, Quality: h.Quality, Severity: "A"}).Line()
		if _, err := ParseItem(line); err != nil {
			t.Fatal(err)
		}
		if len(line) > MaxItemLine() {
			t.Errorf("%s line of %d bytes > MaxItemLine %d", name, len(line), MaxItemLine())
		}
		longest = max(longest, len(line))
	}
	if hashes.MaxCanonicalLen("nope") != 0 {
		t.Errorf("an unknown algorithm has a length")
	}
	// photodna has no quality: the bound allows for one anyway.
	if MaxItemLine() < longest || MaxItemLine() > longest+len(`,"quality":100`) {
		t.Errorf("MaxItemLine %d, longest real line %d", MaxItemLine(), longest)
	}
}
