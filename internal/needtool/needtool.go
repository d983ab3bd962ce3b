// Package needtool is how a test asks for a program from outside Go (curl,
// openssl, python3, docker-compose, npx, …). Every such test goes through it
// so they all behave the same way: on a developer's machine a missing tool
// skips the test and says exactly how to install it; on CI (CI set, as
// .ci/run does) a missing tool fails the test, because a skipped check there
// would look like a passed one.
package needtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// DepsScript installs every tool below on Debian and Ubuntu (as root);
// .ci/run runs it before the tests.
const DepsScript = "scripts/deps.sh"

// Debian packages of the tools the tests use. scripts/deps.sh installs the
// same set (TestDepsScriptInstallsEveryTool keeps the two in step).
var Debian = map[string]string{
	"curl":           "curl",
	"openssl":        "openssl",
	"python3":        "python3",
	"aiosmtpd":       "python3-aiosmtpd",
	"docker-compose": "docker-compose",
	"npx":            "npm",
	"iso3166.tab":    "tzdata",
	"nginx":          "nginx",
	"chromium":       "chromium",
}

// Missing skips the test outside CI, saying what is missing and how to get
// it (install, e.g. "`apt-get install curl` (Debian/Ubuntu)"), and fails it
// on CI.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing and CI must run this test. Install it: %s; or everything the tests use: `sudo bash %s`", what, install, DepsScript)
	}
	t.Skipf("skipped: %s is missing. Install it: %s; or everything the tests use: `sudo bash %s`. On CI (CI=1) this is a failure.", what, install, DepsScript)
}

// Command returns the path of the named program, or skips/fails as Missing
// says when it is not on PATH.
func Command(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, aptGet(name))
	}
	return p
}

// Aiosmtpd returns a python3 that can run aiosmtpd. Debian's
// python3-aiosmtpd serves the system python3, which need not be the first
// python3 on PATH (pyenv, a virtualenv), so /usr/bin/python3 is tried too.
func Aiosmtpd(t testing.TB) string {
	t.Helper()
	for _, cand := range []string{"python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(cand); err == nil && exec.Command(p, "-c", "import aiosmtpd").Run() == nil {
			return p
		}
	}
	Missing(t, "python3 with aiosmtpd", aptGet("aiosmtpd"))
	return ""
}

// File returns path when it exists, or skips/fails as Missing says; name is
// the key in Debian of the package that provides it.
func File(t testing.TB, path, name string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, path, aptGet(name))
	}
	return path
}

func aptGet(name string) string {
	pkg, ok := Debian[name]
	if !ok {
		pkg = name
	}
	return "`apt-get install " + pkg + "` (Debian/Ubuntu)"
}

// Nginx returns Debian's nginx, which the published-tree tests run as an
// ordinary user with a configuration of their own. Debian installs it in
// /usr/sbin, which is not on an ordinary user's PATH.
func Nginx(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	Missing(t, "nginx", aptGet("nginx"))
	return ""
}

// AxeCoreVersion is the axe-core the console's accessibility checks run
// (scripts/deps.sh installs the same version).
const AxeCoreVersion = "4.10.3"

// AxeCoreDir is where scripts/deps.sh installs axe-core:
// $HASHHUB_CACHE, else $XDG_CACHE_HOME/hashhub, else ~/.cache/hashhub,
// then axe-core-VERSION.
func AxeCoreDir() string {
	base := os.Getenv("HASHHUB_CACHE")
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			c = os.TempDir()
		}
		base = filepath.Join(c, "hashhub")
	}
	return filepath.Join(base, "axe-core-"+AxeCoreVersion)
}

// AxeCore returns the path of axe.min.js (HASHHUB_AXE_CORE names another
// copy), or skips/fails as Missing says.
func AxeCore(t testing.TB) string {
	t.Helper()
	p := os.Getenv("HASHHUB_AXE_CORE")
	if p == "" {
		p = filepath.Join(AxeCoreDir(), "node_modules", "axe-core", "axe.min.js")
	}
	if _, err := os.Stat(p); err != nil {
		Missing(t, "axe-core "+AxeCoreVersion+" ("+p+")", "`bash "+DepsScript+"` (npm install axe-core@"+AxeCoreVersion+" into "+AxeCoreDir()+")")
	}
	return p
}

// Chromium returns the path of Debian's chromium, or skips/fails as
// Missing says.
func Chromium(t testing.TB) string {
	t.Helper()
	return Command(t, "chromium")
}

// WeedVersion is the SeaweedFS module version whose weed serves S3 in the
// bucket tests; scripts/weed.sh builds the same.
const WeedVersion = "v0.0.0-20261109003541-7506e5f91cd6"

// WeedScript builds weed into WeedPath (scripts/deps.sh runs it).
const WeedScript = "scripts/weed.sh"

// WeedPath is where scripts/weed.sh puts weed: the cache directory of
// AxeCoreDir, then weed-<the version's commit>/weed.
func WeedPath() string {
	short := WeedVersion[strings.LastIndexByte(WeedVersion, '-')+1:]
	return filepath.Join(filepath.Dir(AxeCoreDir()), "weed-"+short, "weed")
}

// Weed returns SeaweedFS's weed (HASHHUB_WEED names another build), or
// skips/fails as Missing says.
func Weed(t testing.TB) string {
	t.Helper()
	p := os.Getenv("HASHHUB_WEED")
	if p == "" {
		p = WeedPath()
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		Missing(t, "SeaweedFS weed "+WeedVersion+" ("+p+")", "`bash "+WeedScript+"` (go mod download and go build ./weed, about 5 minutes)")
	}
	return p
}
