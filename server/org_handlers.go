package server

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/console"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/orgs"
)

// CreateOrgRequest creates an organisation.
type CreateOrgRequest struct {
	Name         string    `json:"name" example:"Hotline NL"`
	Kind         orgs.Role `json:"kind" example:"hotline" enums:"admin,hotline,law_enforcement,platform,hosting_provider,peer"`
	Jurisdiction string    `json:"jurisdiction" example:"NL"`
} // @name CreateOrgRequest

// createOrg godoc
//
//	@Summary	Create an organisation
//	@ID		createOrg
//	@Tags		organisations
//	@Accept		json
//	@Produce	json
//	@Security	Bearer
//	@Param		Idempotency-Key	header		string				false	"makes retries safe"
//	@Param		body			body		CreateOrgRequest	true	"organisation"
//	@Success	201				{object}	orgs.Org
//	@Failure	400,401,403,409,413,415,422	{object}	Problem
//	@Router		/v1/orgs [post]
func (s *Server) createOrg(c *gin.Context) {
	var req CreateOrgRequest
	if !s.decodeJSON(c, &req) {
		return
	}
	o, err := s.hub.CreateOrg(replayable(c, orgCreated), orgs.Org{Name: req.Name, Kind: req.Kind, Jurisdiction: req.Jurisdiction})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(orgCreated(o))
}

func orgCreated(o *orgs.Org) (int, any) { return http.StatusCreated, o }

// OrgPage is a page of organisations.
type OrgPage struct {
	Orgs       []orgs.Org `json:"orgs"`
	NextCursor string     `json:"next_cursor,omitempty"`
} // @name OrgPage

// listOrgs godoc
//
//	@Summary	List organisations
//	@ID		listOrgs
//	@Tags		organisations
//	@Produce	json
//	@Security	Bearer
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Param		limit	query		int		false	"page size (1–1000, default 100)"
//	@Success	200		{object}	OrgPage
//	@Failure	401,403,422	{object}	Problem
//	@Router		/v1/orgs [get]
func (s *Server) listOrgs(c *gin.Context) {
	limit, ok := s.page(c)
	if !ok {
		return
	}
	// One more than asked tells whether another page exists.
	os, err := s.hub.Orgs(c.Query("cursor"), limit+1)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := OrgPage{Orgs: os}
	if p.Orgs == nil {
		p.Orgs = []orgs.Org{}
	}
	if len(os) > limit {
		p.Orgs = os[:limit]
		p.NextCursor = os[limit-1].ID
	}
	c.JSON(http.StatusOK, p)
}

// getOrg godoc
//
//	@Summary	Read an organisation
//	@ID		getOrg
//	@Tags		organisations
//	@Produce	json
//	@Security	Bearer
//	@Param		org	path		string	true	"organisation id"
//	@Success	200	{object}	orgs.Org
//	@Failure	401,403,404	{object}	Problem
//	@Router		/v1/orgs/{org} [get]
func (s *Server) getOrg(c *gin.Context) {
	o, err := s.hub.Org(c.Param("org"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, o)
}

// CreateUserRequest creates a user.
type CreateUserRequest struct {
	Name string `json:"name" example:"Analyst One"`
} // @name CreateUserRequest

// createUser godoc
//
//	@Summary		Create a user with client credentials
//	@ID			createUser
//	@Description	The client secret is in this response only; the node keeps just its hash.
//	@Tags			organisations
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			org				path		string				true	"organisation id"
//	@Param			Idempotency-Key	header		string				false	"makes retries safe"
//	@Param			body			body		CreateUserRequest	true	"user"
//	@Success		201				{object}	hub.NewUser
//	@Failure		400,401,403,404,413,415,422	{object}	Problem
//	@Router			/v1/orgs/{org}/users [post]
func (s *Server) createUser(c *gin.Context) {
	var req CreateUserRequest
	if !s.decodeJSON(c, &req) {
		return
	}
	u, err := s.hub.CreateUser(replayableSecret(c, http.StatusCreated), c.Param("org"), req.Name)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, u)
}

// UserList is an organisation's users.
type UserList struct {
	Users []hub.PublicUser `json:"users"`
} // @name UserList

// listUsers godoc
//
//	@Summary	List an organisation's users
//	@ID		listUsers
//	@Tags		organisations
//	@Produce	json
//	@Security	Bearer
//	@Param		org	path		string	true	"organisation id"
//	@Success	200	{object}	UserList
//	@Failure	401,403,404	{object}	Problem
//	@Router		/v1/orgs/{org}/users [get]
func (s *Server) listUsers(c *gin.Context) {
	us, err := s.hub.Users(c.Param("org"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, UserList{Users: us})
}

// CreateInviteRequest invites a person.
type CreateInviteRequest struct {
	// Name is the person's display and sign-in name, unique on the node.
	Name string `json:"name" example:"Ann Analyst"`
} // @name CreateInviteRequest

// Invite is a one-time link for a person to set a password and a second
// factor.
type Invite struct {
	User hub.PublicUser `json:"user"`
	// Path is the invite link's path on this node (prefix the node's
	// public address); it works once, until expires.
	Path    string    `json:"path" example:"/console/invite/3q2-7w…"`
	Expires time.Time `json:"expires"`
} // @name Invite

// createInvite godoc
//
//	@Summary		Invite a person to the console
//	@ID			createInvite
//	@Description	Creates a person (a user who signs in to the web console with a password and TOTP, not a machine client) and a one-time invite link valid 24 hours. The link is in this response only; the node keeps just its hash.
//	@Tags			organisations
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			org				path		string				true	"organisation id"
//	@Param			Idempotency-Key	header		string				false	"makes retries safe"
//	@Param			body			body		CreateInviteRequest	true	"person"
//	@Success		201				{object}	Invite
//	@Failure		400,401,403,404,409,413,415,422	{object}	Problem
//	@Router			/v1/orgs/{org}/invites [post]
func (s *Server) createInvite(c *gin.Context) {
	var req CreateInviteRequest
	if !s.decodeJSON(c, &req) {
		return
	}
	if s.cfg.People == nil {
		writeProblem(c, pNoRoute.with("this node has no console"))
		return
	}
	inv, err := s.cfg.People.Invite(replayableSecret(c, http.StatusCreated), c.Param("org"), req.Name)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, Invite{User: inv.User, Path: console.InvitePath(inv.Token), Expires: inv.Expires})
}

// disableUser godoc
//
//	@Summary		Disable a user
//	@ID			disableUser
//	@Description	The user (a person or a machine client) can no longer sign in or get tokens, and their console sessions end at once. Disabling a disabled user changes nothing.
//	@Tags			organisations
//	@Produce		json
//	@Security		Bearer
//	@Param			org		path	string	true	"organisation id"
//	@Param			user	path	string	true	"user id"
//	@Success		204
//	@Failure		401,403,404,422	{object}	Problem
//	@Router			/v1/orgs/{org}/users/{user}/disable [post]
func (s *Server) disableUser(c *gin.Context) {
	if err := s.hub.DisableUser(actor(c), c.Param("org"), c.Param("user")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
