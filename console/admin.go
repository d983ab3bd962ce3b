package console

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/orgs"
)

// The administrators' organisations and users pages: create an
// organisation, invite a person, disable a user. Each calls the same hub
// methods as the API with the admin's Actor, so each change is audited
// under the admin's name.

type orgsData struct {
	Orgs []orgs.Org
	// Kinds and the form's values, kept when the form is refused.
	Kinds             []orgs.Role
	Name, Kind, Juris string
	Error             string
}

// maxOrgsShown bounds the organisations page (a node has tens).
const maxOrgsShown = 1000

func (cn *Console) orgsPage(c *gin.Context, s *Session) {
	cn.renderOrgs(c, s, http.StatusOK, orgsData{})
}

func (cn *Console) renderOrgs(c *gin.Context, s *Session, status int, d orgsData) {
	os, err := cn.cfg.Hub.Orgs("", maxOrgsShown)
	if err != nil {
		cn.Fail(c, s, err)
		return
	}
	d.Orgs, d.Kinds = os, orgs.Roles
	cn.Render(c, s, status, "admin_orgs", d)
}

func (cn *Console) createOrg(c *gin.Context, s *Session) {
	f := c.Request.PostForm
	d := orgsData{Name: f.Get("name"), Kind: f.Get("kind"), Juris: strings.ToUpper(strings.TrimSpace(f.Get("jurisdiction")))}
	o, err := cn.cfg.Hub.CreateOrg(s.Actor(), orgs.Org{Name: d.Name, Kind: orgs.Role(d.Kind), Jurisdiction: d.Juris})
	if err != nil {
		status, msg := Explain(err)
		if status == http.StatusInternalServerError {
			cn.Fail(c, s, err)
			return
		}
		d.Error = msg
		cn.renderOrgs(c, s, status, d)
		return
	}
	cn.Flash(c, "Organisation "+o.Name+" created.")
	cn.Redirect(c, Prefix+"/admin/orgs/"+o.ID)
}

type orgData struct {
	Org   *orgs.Org
	Users []hub.PublicUser
	// Invited is set on the page that shows a new invite link, once.
	Invited    *hub.NewInvite
	InviteLink string
	Name       string
	Error      string
}

func (cn *Console) orgPage(c *gin.Context, s *Session) {
	cn.renderOrg(c, s, http.StatusOK, orgData{})
}

func (cn *Console) renderOrg(c *gin.Context, s *Session, status int, d orgData) {
	o, err := cn.cfg.Hub.Org(c.Param("org"))
	if err != nil {
		cn.Fail(c, s, err)
		return
	}
	us, err := cn.cfg.Hub.Users(o.ID)
	if err != nil {
		cn.Fail(c, s, err)
		return
	}
	d.Org, d.Users = o, us
	cn.Render(c, s, status, "admin_org", d)
}

// inviteUser creates a person and shows the one-time link on the answer
// page (it is not stored, so it cannot be shown again).
func (cn *Console) inviteUser(c *gin.Context, s *Session) {
	name := c.Request.PostForm.Get("name")
	inv, err := cn.cfg.People.Invite(s.Actor(), c.Param("org"), name)
	if err != nil {
		status, msg := Explain(err)
		if status == http.StatusInternalServerError || status == http.StatusNotFound {
			cn.Fail(c, s, err)
			return
		}
		cn.renderOrg(c, s, status, orgData{Name: name, Error: msg})
		return
	}
	scheme := "http"
	if cn.secure(c) {
		scheme = "https"
	}
	cn.renderOrg(c, s, http.StatusCreated, orgData{Invited: inv, InviteLink: scheme + "://" + c.Request.Host + InvitePath(inv.Token)})
}

func (cn *Console) disableUser(c *gin.Context, s *Session) {
	org, user := c.Param("org"), c.Param("user")
	if err := cn.cfg.Hub.DisableUser(s.Actor(), org, user); err != nil {
		status, msg := Explain(err)
		if status == http.StatusUnprocessableEntity {
			cn.renderOrg(c, s, status, orgData{Error: msg})
			return
		}
		cn.Fail(c, s, err)
		return
	}
	cn.Flash(c, "User disabled; their sessions have ended.")
	cn.Redirect(c, Prefix+"/admin/orgs/"+org)
}
