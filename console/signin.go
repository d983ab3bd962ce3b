package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/people"
)

type loginData struct {
	Name  string
	Next  string
	Error string
}

// loginPage shows the sign-in form (or goes home when already signed in).
func (cn *Console) loginPage(c *gin.Context) {
	if s := cn.optionalSession(c); s != nil {
		c.Redirect(http.StatusSeeOther, Prefix+"/")
		return
	}
	cn.Render(c, nil, http.StatusOK, "login", loginData{Next: safeNext(c.Query("next"))})
}

// login checks name, password and code and opens a session.
func (cn *Console) login(c *gin.Context) {
	f := c.Request.PostForm
	d := loginData{Name: f.Get("name"), Next: safeNext(f.Get("next"))}
	if len(d.Name) > hub.MaxSignInName {
		d.Name = ""
	}
	if !checkPreToken(c) {
		d.Error = "This form has expired. Nothing was sent; please sign in again."
		cn.Render(c, nil, http.StatusForbidden, "login", d)
		return
	}
	id, _, err := cn.cfg.People.SignIn(f.Get("name"), f.Get("password"), f.Get("code"), cn.clientAddr(c))
	var th *hub.ThrottledError
	switch {
	case errors.As(err, &th):
		d.Error = th.Error() + "."
		c.Header("Retry-After", retryAfter(th))
		cn.Render(c, nil, http.StatusTooManyRequests, "login", d)
		return
	case errors.Is(err, hub.ErrBadSignIn):
		d.Error = "Wrong name, password or code. (A code works once; wait for the next one.)"
		cn.Render(c, nil, http.StatusUnauthorized, "login", d)
		return
	case err != nil:
		cn.log.Error("console: sign-in", "err", err)
		cn.Error(c, nil, http.StatusInternalServerError, "Something went wrong on the node.")
		return
	}
	cn.setSessionCookie(c, id)
	c.Redirect(http.StatusSeeOther, d.Next)
}

func retryAfter(th *hub.ThrottledError) string {
	s := int(th.Wait.Seconds() + 0.999)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}

func (cn *Console) logout(c *gin.Context, s *Session)           { cn.endSessions(c, false) }
func (cn *Console) logoutEverywhere(c *gin.Context, s *Session) { cn.endSessions(c, true) }

func (cn *Console) endSessions(c *gin.Context, everywhere bool) {
	if err := cn.cfg.People.Logout(cn.sessionID(c), everywhere); err != nil && !errors.Is(err, hub.ErrNoSession) {
		cn.log.Error("console: logout", "err", err)
	}
	cn.clearSessionCookie(c)
	if everywhere {
		cn.Flash(c, "You are signed out on every device.")
	} else {
		cn.Flash(c, "You are signed out.")
	}
	c.Redirect(http.StatusSeeOther, Prefix+"/login")
}

// InvitePath is the path of the invite page for a token.
func InvitePath(token string) string { return Prefix + "/invite/" + token }

type inviteData struct {
	Token    string
	Invite   *hub.PendingInvite
	URI      string
	Error    string
	MinLen   int
	Enrolled bool
}

// invitePage shows an invite: who is invited, the second-factor secret to
// enrol, and the form to set a password.
func (cn *Console) invitePage(c *gin.Context) {
	tok := c.Param("token")
	in, err := cn.cfg.People.InviteInfo(tok)
	if err != nil {
		cn.inviteError(c, err)
		return
	}
	cn.Render(c, nil, http.StatusOK, "invite", inviteData{Token: tok, Invite: in,
		URI: people.URI("hashhub "+cn.cfg.Hub.NodeID(), in.Name, in.TOTPSecret), MinLen: people.MinPasswordLen})
}

func (cn *Console) inviteError(c *gin.Context, err error) {
	if errors.Is(err, hub.ErrBadInvite) {
		cn.Error(c, nil, http.StatusNotFound, "This invite link is unknown, already used or expired. Ask your administrator for a new one.")
		return
	}
	cn.log.Error("console: invite", "err", err)
	cn.Error(c, nil, http.StatusInternalServerError, "Something went wrong on the node.")
}

// acceptInvite sets the password and enrols the second factor.
func (cn *Console) acceptInvite(c *gin.Context) {
	tok := c.Param("token")
	in, err := cn.cfg.People.InviteInfo(tok)
	if err != nil {
		cn.inviteError(c, err)
		return
	}
	d := inviteData{Token: tok, Invite: in, URI: people.URI("hashhub "+cn.cfg.Hub.NodeID(), in.Name, in.TOTPSecret),
		MinLen: people.MinPasswordLen}
	f := c.Request.PostForm
	switch {
	case !checkPreToken(c):
		d.Error = "This form has expired. Nothing was saved; please fill it in again."
	case f.Get("password") != f.Get("password2"):
		d.Error = "The two passwords differ."
	}
	if d.Error == "" {
		err = cn.cfg.People.AcceptInvite(tok, f.Get("password"), strings.TrimSpace(f.Get("code")))
		var pe *people.PasswordError
		switch {
		case err == nil:
			cn.Flash(c, "Your password and second factor are set. Sign in with them.")
			c.Redirect(http.StatusSeeOther, Prefix+"/login")
			return
		case errors.As(err, &pe):
			d.Error = "Choose another password: " + pe.Reason + "."
		case errors.Is(err, people.ErrBadCode):
			d.Error = "The code is wrong or too old. Check the authenticator's clock and type the current code."
		default:
			cn.inviteError(c, err)
			return
		}
	}
	status := http.StatusBadRequest
	if !checkPreToken(c) {
		status = http.StatusForbidden
	}
	cn.Render(c, nil, status, "invite", d)
}
