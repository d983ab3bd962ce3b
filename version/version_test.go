package version

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/hashhub/hashhub", Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "3a60f1c2b4e5d6f7a8b9c0d1e2f3a4b5c6d7e8f9"},
			{Key: "vcs.time", Value: "2026-12-06T21:40:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := format("hashhub", bi), "hashhub devel (commit 3a60f1c2b4e5, 2026-12-06T21:40:00Z, with local changes) go1.26.8"; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	bi = &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}}
	if got, want := format("hashctl", bi), "hashctl v1.2.0 go1.26.8"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// The test binary has build information of its own.
	if s := String("x"); !strings.HasPrefix(s, "x ") || !strings.HasSuffix(s, runtime.Version()) {
		t.Fatalf("String: %q", s)
	}
}
