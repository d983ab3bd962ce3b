// Package version says which build a hashhub binary is, from the build
// information the Go toolchain records in every binary: the module version
// (a tagged release installed with go install) and, for a build from a
// checkout, the commit, its time and whether the tree had changes.
package version

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// String is the version line of program, e.g.
// "hashhub v1.2.0 (commit 3a60f1c2b4e5, 2026-12-06T21:40:00Z) go1.26.8".
func String(program string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return program + " (no build information)"
	}
	return format(program, bi)
}

func format(program string, bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	var vcs []string
	if rev := settings["vcs.revision"]; rev != "" {
		vcs = append(vcs, "commit "+rev[:min(12, len(rev))])
	}
	if t := settings["vcs.time"]; t != "" {
		vcs = append(vcs, t)
	}
	if settings["vcs.modified"] == "true" {
		vcs = append(vcs, "with local changes")
	}
	out := program + " " + v
	if len(vcs) > 0 {
		out += fmt.Sprintf(" (%s)", strings.Join(vcs, ", "))
	}
	return out + " " + bi.GoVersion
}
