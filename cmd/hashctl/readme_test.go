package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEListsEveryCommand keeps the README's hashctl section in step
// with the commands hashctl has: each command's words appear on one line
// of it.
func TestREADMEListsEveryCommand(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, "\n## hashctl\n")
	if start < 0 {
		t.Fatal("README.md has no hashctl section")
	}
	section := doc[start+1:]
	if end := strings.Index(section[1:], "\n## "); end >= 0 {
		section = section[:end+1]
	}
	lines := strings.Split(section, "\n")
	for _, c := range commands {
		words := strings.Fields(c.name)
		found := false
		for _, l := range lines {
			i := wordIndex(l, "`"+words[0])
			if i >= 0 && (len(words) == 1 || strings.Contains(l[i:], words[1])) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("README.md's hashctl section does not list %q", c.name)
		}
	}
}

// wordIndex is strings.Index for w as a whole word: "`hash" is not found
// in "`hashes submit`".
func wordIndex(l, w string) int {
	for off := 0; ; {
		i := strings.Index(l[off:], w)
		if i < 0 {
			return -1
		}
		end := off + i + len(w)
		if end == len(l) || !strings.ContainsRune("abcdefghijklmnopqrstuvwxyz-", rune(l[end])) {
			return off + i
		}
		off = end
	}
}
