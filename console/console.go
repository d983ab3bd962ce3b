// Package console is the node's web console for the people who oversee the
// lists: analysts, law enforcement and administrators. Pages are rendered on
// the server with html/template from templates/*.html; the stylesheet (and
// any script) is embedded in the binary and served from /console/static/,
// so the console needs no build step and loads nothing from another host.
//
// Every page is registered in one table (routes.go) with the roles that may
// open it; the wrapper checks the session, the role and, on POST, the CSRF
// token before the page's handler runs. Handlers call the same hub.Service
// methods as the API with the session's Actor, so the console has the API's
// authorisation and audit, not a second copy of them.
package console

import (
	"bytes"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/orgs"
)

// Prefix is where the console is mounted.
const Prefix = "/console"

// MaxForm bounds a console form's body: forms carry a few short fields.
const MaxForm = 64 << 10

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the console needs from its node.
type Config struct {
	Hub    *hub.Service
	People *hub.People
	// Reports is the report desk (nil: the law-enforcement pages say the
	// desk is off).
	Reports *hub.Reports
	Logger  *slog.Logger
	// TLSProxy says a TLS-terminating proxy serves the node: cookies are
	// Secure, and a client's address is the last X-Forwarded-For hop.
	TLSProxy bool
}

// Console serves the pages.
type Console struct {
	cfg   Config
	log   *slog.Logger
	pages []Page
	tmpl  map[string]*template.Template

	mu sync.RWMutex // guards cfg.Reports, cfg.TLSProxy (set after New)
}

// New parses the templates and builds the page table.
func New(cfg Config) (*Console, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cn := &Console{cfg: cfg, log: cfg.Logger}
	if err := cn.parseTemplates(); err != nil {
		return nil, err
	}
	cn.pages = cn.table()
	return cn, nil
}

// SetReports turns the report desk's pages on.
func (cn *Console) SetReports(r *hub.Reports) {
	cn.mu.Lock()
	cn.cfg.Reports = r
	cn.mu.Unlock()
}

// Reports is the report desk, nil when it is off.
func (cn *Console) Reports() *hub.Reports {
	cn.mu.RLock()
	defer cn.mu.RUnlock()
	return cn.cfg.Reports
}

// SetTLSProxy says whether a TLS-terminating proxy serves the node.
func (cn *Console) SetTLSProxy(on bool) {
	cn.mu.Lock()
	cn.cfg.TLSProxy = on
	cn.mu.Unlock()
}

func (cn *Console) tlsProxy() bool {
	cn.mu.RLock()
	defer cn.mu.RUnlock()
	return cn.cfg.TLSProxy
}

// Hub is the domain service pages call.
func (cn *Console) Hub() *hub.Service { return cn.cfg.Hub }

// People is the sign-in desk.
func (cn *Console) People() *hub.People { return cn.cfg.People }

// Pages is the page table, for tests that walk it.
func (cn *Console) Pages() []Page { return cn.pages }

// parseTemplates builds one template set per page file: the layout, the
// shared partials (files starting with "_") and the page, which defines the
// blocks "title" and "content".
func (cn *Console) parseTemplates() error {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	base := template.New("layout.html").Funcs(funcs)
	shared := []string{"templates/layout.html"}
	for _, f := range files {
		if strings.HasPrefix(path.Base(f), "_") {
			shared = append(shared, f)
		}
	}
	if base, err = base.ParseFS(templateFS, shared...); err != nil {
		return err
	}
	cn.tmpl = map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return fmt.Errorf("template %s: %w", f, err)
		}
		cn.tmpl[name] = t
	}
	return nil
}

// Mount registers the console's routes on r at /console.
func (cn *Console) Mount(r gin.IRouter) {
	g := r.Group(Prefix, cn.headers)
	g.GET("/static/*file", cn.static)
	g.GET("/login", cn.loginPage)
	g.POST("/login", cn.limitForm, cn.login)
	g.GET("/invite/:token", cn.invitePage)
	g.POST("/invite/:token", cn.limitForm, cn.acceptInvite)
	for _, p := range cn.pages {
		g.Handle(p.Method, p.Path, cn.wrap(p))
	}
}

// IsConsole reports whether a request path is the console's (the server
// answers unknown console paths with a page rather than a problem
// document).
func IsConsole(p string) bool { return p == Prefix || strings.HasPrefix(p, Prefix+"/") }

// NotFound answers an unknown console path.
func (cn *Console) NotFound(c *gin.Context) {
	cn.headers(c)
	if c.Request.URL.Path == Prefix {
		c.Redirect(http.StatusSeeOther, Prefix+"/")
		return
	}
	cn.Error(c, cn.optionalSession(c), http.StatusNotFound, "There is no page at this address.")
}

// headers are the security headers of every console response: nothing
// from another host, no framing, no referrer (a console address can name an
// entry or a report), no caching of pages that show case data.
func (cn *Console) headers(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
	if cn.secure(c) {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if !strings.HasPrefix(c.Request.URL.Path, Prefix+"/static/") {
		h.Set("Cache-Control", "no-store")
	}
	c.Next()
}

// static serves the embedded assets.
func (cn *Console) static(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("file"), "/")
	b, err := staticFS.ReadFile("static/" + path.Clean(name))
	if err != nil || strings.Contains(name, "..") {
		cn.Error(c, nil, http.StatusNotFound, "There is no such file.")
		return
	}
	ct := "application/octet-stream"
	switch path.Ext(name) {
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, ct, b)
}

// limitForm bounds a form body and refuses anything but a URL-encoded
// form, before it is parsed.
func (cn *Console) limitForm(c *gin.Context) {
	if c.Request.ContentLength > MaxForm {
		cn.Error(c, nil, http.StatusRequestEntityTooLarge, "The form is too large.")
		c.Abort()
		return
	}
	if ct := c.ContentType(); ct != "application/x-www-form-urlencoded" {
		cn.Error(c, nil, http.StatusUnsupportedMediaType, "The console accepts only plain forms.")
		c.Abort()
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxForm)
	if err := c.Request.ParseForm(); err != nil {
		cn.Error(c, nil, http.StatusRequestEntityTooLarge, "The form is too large or malformed.")
		c.Abort()
		return
	}
	c.Next()
}

// clientAddr is the address sign-ins are throttled by.
func (cn *Console) clientAddr(c *gin.Context) string {
	if cn.tlsProxy() {
		if xff := c.GetHeader("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if a := strings.TrimSpace(parts[len(parts)-1]); net.ParseIP(a) != nil {
				return a
			}
		}
	}
	host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	if err != nil {
		return c.Request.RemoteAddr
	}
	return host
}

// View is what the layout and every page template get.
type View struct {
	// S is the session; nil on the sign-in and invite pages.
	S *Session
	// CSRF is the token the page's forms carry ({{template "csrf" .}}).
	CSRF string
	// Nav lists the pages the session's role may open.
	Nav   []NavItem
	Flash string
	Node  string
	// Data is the page's own data.
	Data any
}

// NavItem is one link of the navigation.
type NavItem struct {
	Label, Path string
	Current     bool
}

// Render writes a page: the layout around the template page.html with data
// as .Data. It renders into a buffer first, so a template error is a clean
// 500 rather than half a page.
func (cn *Console) Render(c *gin.Context, s *Session, status int, page string, data any) {
	t, ok := cn.tmpl[page]
	if !ok {
		cn.log.Error("console: no template", "page", page)
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	v := View{S: s, Data: data, Node: cn.cfg.Hub.NodeID(), Flash: cn.takeFlash(c)}
	if s != nil {
		v.CSRF = s.CSRF
		v.Nav = cn.nav(s, c.Request.URL.Path)
	} else {
		v.CSRF = cn.preToken(c)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		cn.log.Error("console: render", "page", page, "err", err)
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// Error renders the error page with a message (s may be nil).
func (cn *Console) Error(c *gin.Context, s *Session, status int, msg string) {
	cn.Render(c, s, status, "error", struct {
		Status  int
		Title   string
		Message string
	}{status, http.StatusText(status), msg})
}

// Flash keeps a one-line message for the next page the browser opens (after
// a POST that redirects).
func (cn *Console) Flash(c *gin.Context, msg string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: "hh_flash", Value: base64.RawURLEncoding.EncodeToString([]byte(msg)),
		Path: Prefix + "/", HttpOnly: true, Secure: cn.secure(c), SameSite: http.SameSiteStrictMode, MaxAge: 60})
}

func (cn *Console) takeFlash(c *gin.Context) string {
	ck, err := c.Request.Cookie("hh_flash")
	if err != nil {
		return ""
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: "hh_flash", Path: Prefix + "/", MaxAge: -1, HttpOnly: true,
		Secure: cn.secure(c), SameSite: http.SameSiteStrictMode})
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || len(b) > 500 {
		return ""
	}
	return string(b)
}

// Redirect answers a POST with 303 See Other to a console path.
func (cn *Console) Redirect(c *gin.Context, to string) {
	c.Redirect(http.StatusSeeOther, to)
}

// roleAllowed reports whether role is in roles.
func roleAllowed(roles []orgs.Role, role orgs.Role) bool {
	for _, r := range roles {
		if r == role {
			return true
		}
	}
	return false
}
