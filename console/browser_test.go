package console_test

import (
	"testing"

	"github.com/hashhub/hashhub/internal/consoletest"
	"github.com/hashhub/hashhub/orgs"
)

// One browser for the whole test binary.
func TestMain(m *testing.M) { consoletest.Main(m) }

// TestBrowserSignIn: a person invited through the invite flow signs in
// with password and TOTP and reaches the start page, which passes axe-core.
func TestBrowserSignIn(t *testing.T) {
	n := consoletest.StartNode(t)
	p := n.Person(orgs.Hotline, "NL")
	b := consoletest.NewBrowser(t, n)

	b.Go("/console/login")
	b.Axe()
	b.Screenshot("login")
	b.SignIn(n, p)
	if got := b.Text("h1"); got != "Welcome, "+p.Name {
		t.Errorf("start page heading %q", got)
	}
	b.Axe()
	b.Screenshot("home")
}
