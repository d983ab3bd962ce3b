package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/hashhub/hashhub/orgs"
)

// funcs are the template helpers.
var funcs = template.FuncMap{
	"defang": Defang,
	"time":   FormatTime,
	"date":   func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"ago":    Ago,
	"short":  Short,
	"role":   RoleName,
}

// Defang makes a URL unclickable and unfetchable wherever it is pasted:
// the scheme becomes hxxp/hxxps/fxp and every dot of the host becomes
// "[.]" (hxxps://example[.]org/path). The console shows URLs only this way,
// as text, never as links: an analyst must never open reported material by
// a slip of the hand, and no browser may prefetch or preview it.
func Defang(u string) string {
	rest := u
	scheme := ""
	if i := strings.Index(u, "://"); i > 0 && i < 12 {
		scheme, rest = strings.ToLower(u[:i]), u[i+3:]
		switch scheme {
		case "http":
			scheme = "hxxp"
		case "https":
			scheme = "hxxps"
		case "ftp":
			scheme = "fxp"
		}
	}
	host, path := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	host = strings.ReplaceAll(host, ".", "[.]")
	if scheme != "" {
		return scheme + "[://]" + host + path
	}
	return host + path
}

// FormatTime is how the console writes a time: UTC, to the minute.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// Ago writes how long ago t was, coarsely ("3 h ago").
func Ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return "in " + coarse(-d)
	case d < time.Minute:
		return "just now"
	}
	return coarse(d) + " ago"
}

func coarse(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// Short shortens a hash or id for a table cell (the full value belongs in
// a title or on the entry's page).
func Short(s string) string {
	if len(s) <= 16 {
		return s
	}
	return s[:12] + "…"
}

// RoleName is a role as people say it.
func RoleName(r orgs.Role) string {
	switch r {
	case orgs.Admin:
		return "administrator"
	case orgs.Hotline:
		return "hotline"
	case orgs.LawEnforcement:
		return "law enforcement"
	case orgs.Platform:
		return "platform"
	case orgs.HostingProvider:
		return "hosting provider"
	case orgs.Peer:
		return "peer node"
	}
	return string(r)
}
