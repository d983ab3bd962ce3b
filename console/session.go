package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/orgs"
)

// Session is the signed-in person a page is rendered for.
type Session struct {
	// ID is the session id's hash (the id itself is only in the cookie).
	ID           string
	User         string
	UserName     string
	Org          string
	OrgName      string
	Role         orgs.Role
	Jurisdiction string
	// CSRF is the token every form of the session carries (field "csrf").
	CSRF    string
	Created time.Time
	// Expires is when the session ends if the person does nothing more.
	Expires time.Time
}

// Actor is who the session acts as: pages pass it to hub.Service methods.
func (s *Session) Actor() hub.Actor {
	return hub.Actor{User: s.User, Org: s.Org, Role: s.Role, Jurisdiction: s.Jurisdiction}
}

func fromInfo(si *hub.SessionInfo) *Session {
	return &Session{ID: si.IDHash, User: si.User, UserName: si.UserName, Org: si.Org, OrgName: si.OrgName,
		Role: si.Role, Jurisdiction: si.Jurisdiction, CSRF: si.CSRF, Created: si.Created, Expires: si.Expires}
}

// CSRFField is the form field that carries the CSRF token.
const CSRFField = "csrf"

// secure reports whether cookies must be Secure: the node serves TLS
// itself, or a TLS-terminating proxy serves it.
func (cn *Console) secure(c *gin.Context) bool { return c.Request.TLS != nil || cn.tlsProxy() }

// cookieName is the session cookie. Over TLS it takes the __Host- prefix,
// which browsers accept only from a secure origin, for path /, without a
// domain: no other host or path can set or shadow it.
func (cn *Console) cookieName(c *gin.Context) (name, path string) {
	if cn.secure(c) {
		return "__Host-hh_session", "/"
	}
	return "hh_session", Prefix + "/"
}

func (cn *Console) setSessionCookie(c *gin.Context, id string) {
	name, p := cn.cookieName(c)
	// A session cookie (no Max-Age): the server ends the session; the
	// browser forgets it when it closes.
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: id, Path: p, HttpOnly: true,
		Secure: cn.secure(c), SameSite: http.SameSiteStrictMode})
}

func (cn *Console) clearSessionCookie(c *gin.Context) {
	name, p := cn.cookieName(c)
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Path: p, MaxAge: -1, HttpOnly: true,
		Secure: cn.secure(c), SameSite: http.SameSiteStrictMode})
}

func (cn *Console) sessionID(c *gin.Context) string {
	name, _ := cn.cookieName(c)
	ck, err := c.Request.Cookie(name)
	if err != nil {
		return ""
	}
	return ck.Value
}

// session returns the request's live session.
func (cn *Console) session(c *gin.Context) (*Session, error) {
	id := cn.sessionID(c)
	if id == "" {
		return nil, hub.ErrNoSession
	}
	si, err := cn.cfg.People.Session(id)
	if err != nil {
		return nil, err
	}
	return fromInfo(si), nil
}

// optionalSession is the session when there is one (for error pages).
func (cn *Console) optionalSession(c *gin.Context) *Session {
	s, err := cn.session(c)
	if err != nil {
		return nil
	}
	return s
}

// checkCSRF compares the form's token with want in constant time.
func checkCSRF(c *gin.Context, want string) bool {
	got := c.Request.PostForm.Get(CSRFField)
	return want != "" && len(got) == len(want) && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// wrap runs a page's handler once the session, the role and (on POST) the
// form's CSRF token are checked.
func (cn *Console) wrap(p Page) gin.HandlerFunc {
	return func(c *gin.Context) {
		s, err := cn.session(c)
		if err != nil {
			if errors.Is(err, hub.ErrNoSession) {
				cn.clearSessionCookie(c)
				if c.Request.Method == http.MethodGet {
					c.Redirect(http.StatusSeeOther, Prefix+"/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
					return
				}
				cn.Error(c, nil, http.StatusUnauthorized, "Your session has ended. Sign in again; nothing was changed.")
				return
			}
			cn.log.Error("console: session", "err", err)
			cn.Error(c, nil, http.StatusInternalServerError, "Something went wrong on the node.")
			return
		}
		if !roleAllowed(p.Roles, s.Role) {
			cn.Error(c, s, http.StatusForbidden, "Your organisation's role may not open this page.")
			return
		}
		if c.Request.Method == http.MethodPost {
			cn.limitForm(c)
			if c.IsAborted() {
				return
			}
			if !checkCSRF(c, s.CSRF) {
				cn.Error(c, s, http.StatusForbidden, "This form has expired or did not come from the console. Nothing was changed; open the page again and resubmit.")
				return
			}
		}
		p.Handler(c, s)
	}
}

// preToken is the CSRF token of the forms shown before sign-in (sign-in,
// invite): a random value in a cookie that the form must repeat (double
// submit). SameSite=Strict keeps other sites from sending the cookie.
func (cn *Console) preToken(c *gin.Context) string {
	if v := c.GetString("hh_pre"); v != "" {
		return v
	}
	if ck, err := c.Request.Cookie("hh_pre"); err == nil && len(ck.Value) == 43 {
		return ck.Value
	}
	var b [32]byte
	rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	c.Set("hh_pre", v)
	http.SetCookie(c.Writer, &http.Cookie{Name: "hh_pre", Value: v, Path: Prefix + "/", HttpOnly: true,
		Secure: cn.secure(c), SameSite: http.SameSiteStrictMode})
	return v
}

// checkPreToken checks a pre-sign-in form's token against its cookie.
func checkPreToken(c *gin.Context) bool {
	ck, err := c.Request.Cookie("hh_pre")
	if err != nil || len(ck.Value) != 43 {
		return false
	}
	return checkCSRF(c, ck.Value)
}

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, Prefix+"/login") {
		return Prefix + "/"
	}
	return next
}
