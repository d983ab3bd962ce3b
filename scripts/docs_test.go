package scripts

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsStayInRepository checks that README.md and docs/*.md point only
// at files that exist in this repository: a reader of the repository alone
// must find everything they reference.
func TestDocsStayInRepository(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(root, "README.md"))
	// Markdown link targets, and any relative path that climbs out of the
	// file's directory (`../x`), in links or in text.
	link := regexp.MustCompile(`\]\(([^)#\s]+)(?:#[^)]*)?\)`)
	climb := regexp.MustCompile(`(?:^|[\s(` + "`" + `'"])((?:\.\./)+[\w.-][\w./-]*)`)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var targets []string
		for _, m := range link.FindAllStringSubmatch(string(raw), -1) {
			if !strings.Contains(m[1], "://") && !strings.HasPrefix(m[1], "mailto:") {
				targets = append(targets, m[1])
			}
		}
		for _, m := range climb.FindAllStringSubmatch(string(raw), -1) {
			targets = append(targets, m[1])
		}
		name, _ := filepath.Rel(root, f)
		for _, target := range targets {
			p := filepath.Clean(filepath.Join(filepath.Dir(f), target))
			if rel, err := filepath.Rel(root, p); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s points outside the repository: %s", name, target)
				continue
			}
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s points at a file that does not exist: %s", name, target)
			}
		}
	}
}
