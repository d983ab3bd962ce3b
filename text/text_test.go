package text

import (
	"errors"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	for _, ok := range []string{"Hotline NL", "Meldpunt Kinderporno", "Ökologie & Recht (DE)", "日本 ホットライン", "a\uFFFDb"} {
		if err := Name("name", ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for bad, reason := range map[string]string{
		"Hot\x00line":          "NUL",
		"Hot\x07line":          "U+0007",
		"Hot\nline":            "U+000A",
		"Hot\u0085line":        "U+0085",
		"Hotline \u202eLN":     "U+202E",
		"Hotline \u202aNL":     "U+202A",
		"Hotline \u2066NL":     "U+2066",
		"Hotline \u2069NL":     "U+2069",
		"Hotline \u200fNL":     "U+200F",
		"Hot\xffline":          "UTF-8 (byte 3)",
		"Hotline \xe2\x80":     "UTF-8",
		"Hotline \xed\xa0\x80": "UTF-8", // a surrogate
	} {
		err := Name("name", bad)
		var te *Error
		if !errors.As(err, &te) || te.Field != "name" || !strings.Contains(te.Reason, reason) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want a name error naming %s", bad, err, reason)
		}
	}
}

func TestNote(t *testing.T) {
	for _, ok := range []string{"", "seen twice\nsecond line\ttab", "\u202e is allowed in a note"} {
		if err := Note("note", ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"a\x00b", "a\xc3", "\xff"} {
		if err := Note("note", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
