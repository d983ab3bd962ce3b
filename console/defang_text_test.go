package console

import (
	"regexp"
	"testing"
)

func TestDefangText(t *testing.T) {
	for in, want := range map[string]string{
		"found at https://bad.example.org/gallery?id=7 yesterday": "found at hxxps[://]bad[.]example[.]org/gallery?id=7 yesterday",
		"see www.example.com/a and HTTP://X.ORG":                  "see www[.]example[.]com/a and hxxp[://]X[.]ORG",
		"www.a.org/https://evil.example/x":                        "www[.]a[.]org/https[://]evil.example/x",
		"no link here":                                            "no link here",
	} {
		if got := DefangText(in); got != want {
			t.Errorf("DefangText(%q) = %q, want %q", in, got, want)
		}
	}
}

// liveLink is what a viewer might turn into a link: a scheme separator
// (not the defanged "[://]") or a www. host.
var liveLink = regexp.MustCompile(`(?i)(^|[^\[])://|www\.`)

// FuzzDefangText: whatever a platform or an analyst writes in a note, the
// console shows no live link.
func FuzzDefangText(f *testing.F) {
	for _, s := range []string{"https://a.b/c", "www.x.y", "a www.b.c/https://d.e f", "ftp://x", "hTtPs://A.B", "://", "wwW."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if out := DefangText(s); liveLink.MatchString(out) {
			t.Errorf("DefangText(%q) = %q keeps a live link", s, out)
		}
	})
}
