package console

import (
	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/orgs"
)

// PageFunc handles a page for a signed-in person whose role may open it
// (and, on POST, whose form carried the session's CSRF token).
type PageFunc func(c *gin.Context, s *Session)

// Page is one row of the page table.
type Page struct {
	Method string // GET or POST
	// Path is under /console (e.g. "/review"; gin parameters allowed).
	Path  string
	Roles []orgs.Role
	// Nav is the page's label in the navigation; empty for pages reached
	// from other pages (and for every POST).
	Nav     string
	Handler PageFunc
}

// Role sets, as the API's routes() has them.
var (
	everyone = orgs.Roles
	admins   = []orgs.Role{orgs.Admin}
	// Analysts are the roles whose people assess material.
	Analysts = []orgs.Role{orgs.Hotline, orgs.LawEnforcement}
	// Overseers are analysts and admins: who may read entries and disputes.
	Overseers = []orgs.Role{orgs.Admin, orgs.Hotline, orgs.LawEnforcement}
	// lawEnforcement alone holds a report's takedown.
	lawEnforcement = []orgs.Role{orgs.LawEnforcement}
)

// table is every console page with the roles that may open it, top to
// bottom in navigation order. Sign-in, invite and static files are public
// and registered in Mount.
func (cn *Console) table() []Page {
	return []Page{
		{"GET", "/", everyone, "Home", cn.home},
		{"POST", "/logout", everyone, "", cn.logout},
		{"POST", "/logout-everywhere", everyone, "", cn.logoutEverywhere},

		// Review, entries and disputes (review.go).
		{"GET", "/review", Analysts, "Review", cn.review},
		{"POST", "/review/assess", Analysts, "", cn.assess},
		{"GET", "/entry", Overseers, "", cn.entry},
		{"GET", "/disputes", Overseers, "Disputes", cn.disputes},
		{"GET", "/disputes/:id", Overseers, "", cn.dispute},
		{"POST", "/disputes/:id/resolve", Analysts, "", cn.resolve},

		// Law enforcement: reports, holds, takedowns (reports.go, takedowns.go).
		{"GET", "/reports", Analysts, "Reports", cn.inbox},
		{"GET", "/reports/:id", Overseers, "", cn.report},
		{"POST", "/reports/:id/ack", Analysts, "", cn.ackReport},
		{"POST", "/reports/:id/hold", lawEnforcement, "", cn.holdReport},
		{"GET", "/takedowns", Overseers, "Takedowns", cn.takedowns},
		{"GET", "/overview", admins, "Overview", cn.overview},

		// Administration (admin.go).
		{"GET", "/admin/orgs", admins, "Organisations", cn.orgsPage},
		{"POST", "/admin/orgs", admins, "", cn.createOrg},
		{"GET", "/admin/orgs/:org", admins, "", cn.orgPage},
		{"POST", "/admin/orgs/:org/invite", admins, "", cn.inviteUser},
		{"POST", "/admin/orgs/:org/users/:user/disable", admins, "", cn.disableUser},
	}
}

// nav is the navigation for a session: the GET pages with a label that
// its role may open.
func (cn *Console) nav(s *Session, current string) []NavItem {
	var out []NavItem
	for _, p := range cn.pages {
		if p.Method != "GET" || p.Nav == "" || !roleAllowed(p.Roles, s.Role) {
			continue
		}
		full := Prefix + p.Path
		out = append(out, NavItem{Label: p.Nav, Path: full, Current: full == current})
	}
	return out
}
