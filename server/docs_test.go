package server_test

import (
	"os"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/server"
)

// TestEveryProblemTypeIsDocumented keeps docs/errors.md complete.
func TestEveryProblemTypeIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range server.ProblemKinds() {
		slug := strings.TrimPrefix(typ, server.ProblemPrefix)
		if !strings.Contains(string(doc), "| `"+slug+"` |") {
			t.Errorf("docs/errors.md does not document %s", typ)
		}
	}
}
