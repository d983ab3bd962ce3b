// Package server is hashhub's HTTP API: a gin router whose handlers parse,
// authorise, call the domain service and write the response. Errors are RFC
// 9457 problem documents mapped in one place (problem.go); every route and
// the roles allowed on it are registered in routes() below, top to bottom.
//
//	@title						hashhub API
//	@version					1
//	@description				Federated sharing of verified hash lists and reports between child-protection organisations. Only hashes, URLs and metadata cross this API; media is refused.
//	@BasePath					/
//	@securityDefinitions.apikey	Bearer
//	@in							header
//	@name						Authorization
//	@description				"Bearer " followed by an access token from POST /v1/oauth/token.
package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	swaggerFiles "github.com/swaggo/files"
	ginSwagger "github.com/swaggo/gin-swagger"

	"github.com/hashhub/hashhub/auth"
	"github.com/hashhub/hashhub/console"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/openapi"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/translog"
	"github.com/hashhub/hashhub/witness"
)

// Defaults, exported so flag help can show them.
const (
	DefaultMaxBody       = 1 << 20 // JSON bodies
	DefaultMaxImportBody = 4 << 30 // one import request
	DefaultMaxLine       = ingest.DefaultMaxLine
	DefaultPageLimit     = 100
	MaxPageLimit         = 1000
)

// Config is what the server needs from its node.
type Config struct {
	Hub       *hub.Service
	Signer    *release.Signer
	LogSigner *translog.Signer
	Rotations []release.SignedRotation
	Witness   *witness.Witness
	// Evidence lists refused checkpoints kept by the witness.
	Evidence func(origin string) ([]store.Evidence, error)
	// Reports is the report desk (reports, inboxes, notices); nil turns
	// those endpoints off.
	Reports       *hub.Reports
	Tokens        *auth.Tokens
	Logger        *slog.Logger
	MaxBody       int64
	MaxImportBody int64
	// PeerSync, if set, reports how pulling a peer's lists is going ("":
	// every peer).
	PeerSync func(peer string) []peers.SyncStatus
	// Body bounds how slowly request bodies may arrive (bodydeadline.go).
	Body BodyLimits
	// People is the console's sign-in desk; nil leaves the console off.
	People *hub.People
}

// Server holds the handlers' dependencies.
type Server struct {
	hub     *hub.Service
	tokens  *auth.Tokens
	log     *slog.Logger
	cfg     Config
	metrics *metrics
	engine  *gin.Engine
	rates   *rateLimiter // ratelimit.go
	// console is the web console at /console/ (nil when cfg.People is).
	console *console.Console

	idemMu       sync.Mutex
	idemInFlight map[string]bool
	// creatingRoutes are the routes that honour Idempotency-Key
	// ("POST /v1/orgs"), for tests.
	creatingRoutes []string

	// draining is closed when the node starts to shut down: long polls
	// answer at once instead of holding the shutdown for their wait.
	draining  chan struct{}
	drainOnce sync.Once
}

// New builds the HTTP handler for a node.
func New(cfg Config) *Server {
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxImportBody == 0 {
		cfg.MaxImportBody = DefaultMaxImportBody
	}
	cfg.Body = cfg.Body.withDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	gin.SetMode(gin.ReleaseMode)
	s := &Server{hub: cfg.Hub, tokens: cfg.Tokens, log: cfg.Logger, cfg: cfg,
		metrics: newMetrics(), idemInFlight: map[string]bool{}, draining: make(chan struct{})}
	s.rates = newRateLimiter(s.metrics.reg)
	if cfg.People != nil {
		cn, err := console.New(console.Config{Hub: cfg.Hub, People: cfg.People, Reports: cfg.Reports, PeerSync: cfg.PeerSync, Logger: cfg.Logger})
		if err != nil {
			// The templates are embedded: failing to parse them is a
			// programming error that every test would show.
			panic(err)
		}
		s.console = cn
	}
	s.engine = gin.New()
	s.engine.HandleMethodNotAllowed = true
	// An API answers the path it was given: no redirect to a path with or
	// without a trailing slash (a base64 hash value may end in '/').
	s.engine.RedirectTrailingSlash = false
	s.engine.ContextWithFallback = true
	// Route on the escaped path so a percent-encoded "/" inside a hash value
	// (PhotoDNA is base64) stays inside its path parameter.
	s.engine.UseRawPath = true
	s.engine.UnescapePathValues = true
	s.routes()
	return s
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// gin unescapes path parameters with url.QueryUnescape, which reads a
	// literal '+' as a space, but in a path '+' is itself (url.PathEscape
	// leaves it as is). Escape it so a base64 value (PhotoDNA) keeps it.
	if strings.Contains(r.URL.RawPath, "+") {
		u := *r.URL
		u.RawPath = strings.ReplaceAll(u.RawPath, "+", "%2B")
		r = r.WithContext(r.Context())
		r.URL = &u
	}
	watchBody(w, r, s.cfg.Body)
	s.engine.ServeHTTP(w, r)
}

// Drain ends the long polls in progress and makes new ones answer at once
// (with the latest version, as a poll that timed out does). The node calls
// it when shutdown starts, so that peers' polls do not hold the shutdown
// for their whole wait; writes in flight are not affected.
func (s *Server) Drain() { s.drainOnce.Do(func() { close(s.draining) }) }

// SetBodyLimits changes how slowly request bodies may arrive; call it
// before serving.
func (s *Server) SetBodyLimits(l BodyLimits) { s.cfg.Body = l.withDefaults() }

// Console is the web console (nil when the server has no people desk).
func (s *Server) Console() *console.Console { return s.console }

// SetConsoleTLSProxy says a TLS-terminating proxy serves the node: console
// cookies are marked Secure and sign-ins are throttled by the client
// address the proxy appends to X-Forwarded-For.
func (s *Server) SetConsoleTLSProxy(on bool) {
	if s.console != nil {
		s.console.SetTLSProxy(on)
	}
}

// Routes lists every registered route (method and path), for tests.
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }

// route options
type routeOpt struct {
	roles    []orgs.Role
	creating bool   // honours Idempotency-Key
	body     string // accepted content type family: "json", "form", "import" or "" (no body)
}

func roles(r ...orgs.Role) routeOpt { return routeOpt{roles: r} }

func (o routeOpt) creates() routeOpt         { o.creating = true; return o }
func (o routeOpt) accepts(b string) routeOpt { o.body = b; return o }

// analysts are the roles whose users assess material.
var analysts = []orgs.Role{orgs.Hotline, orgs.LawEnforcement}

// routes registers every endpoint with the roles allowed on it.
func (s *Server) routes() {
	r := s.engine
	r.Use(s.recoverer, s.observe, s.refuseMedia)
	r.NoRoute(func(c *gin.Context) {
		if s.console != nil && console.IsConsole(c.Request.URL.Path) {
			s.console.NotFound(c)
			return
		}
		writeProblem(c, pNoRoute.with("no endpoint at "+c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		if s.console != nil && console.IsConsole(c.Request.URL.Path) {
			s.console.NoMethod(c)
			return
		}
		writeProblem(c, pMethod.with(c.Request.Method+" is not allowed here"))
	})

	r.GET("/healthz", s.healthz)
	r.HEAD("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.HEAD("/readyz", s.readyz)
	r.GET("/docs", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/docs/index.html") })
	r.GET("/docs/*any", func(c *gin.Context) {
		if c.Param("any") == "/" {
			c.Redirect(http.StatusMovedPermanently, "/docs/index.html")
			return
		}
		swagger(c)
	})
	// The token endpoint caps its body itself, so that even a too-large
	// body gets an RFC 6749 §5.2 error rather than a problem document.
	r.POST("/v1/oauth/token", s.token)
	// The web console for people (console/routes.go has its page table).
	if s.console != nil {
		s.console.Mount(r)
	}

	v1 := r.Group("/v1")
	h := func(method, path string, o routeOpt, fn gin.HandlerFunc) {
		chain := []gin.HandlerFunc{s.authenticate, s.limitOrg, s.authorize(o.roles)}
		switch o.body {
		case "json":
			chain = append(chain, s.limitBody(s.cfg.MaxBody), requireContentType("application/json"))
		case "import":
			chain = append(chain, s.limitBody(s.cfg.MaxImportBody), requireContentType("application/x-ndjson", "text/csv"))
		}
		if o.creating {
			chain = append(chain, s.idempotent(o.body == "json"))
			s.creatingRoutes = append(s.creatingRoutes, method+" /v1"+path)
		}
		v1.Handle(method, path, append(chain, fn)...)
	}
	all := roles(orgs.Roles...)
	h("GET", "/me", all, s.me)

	h("POST", "/orgs", roles(orgs.Admin).accepts("json").creates(), s.createOrg)
	h("GET", "/orgs", roles(orgs.Admin), s.listOrgs)
	h("GET", "/orgs/:org", roles(orgs.Admin), s.getOrg)
	h("POST", "/orgs/:org/users", roles(orgs.Admin).accepts("json").creates(), s.createUser)
	h("GET", "/orgs/:org/users", roles(orgs.Admin), s.listUsers)
	h("POST", "/orgs/:org/users/:user/disable", roles(orgs.Admin), s.disableUser)
	h("POST", "/orgs/:org/invites", roles(orgs.Admin).accepts("json").creates(), s.createInvite)

	h("POST", "/hashes", roles(analysts...).accepts("json").creates(), s.submitHash)
	// An import is idempotent by itself (re-running it changes nothing
	// already recorded), so it keeps no replay record: its Idempotency-Key
	// only names the import in the audit log.
	h("POST", "/hashes/import", roles(analysts...).accepts("import"), s.importHashes)
	h("GET", "/hashes/:algo/:value", roles(orgs.Admin, orgs.Hotline, orgs.LawEnforcement), s.getEntry)
	h("GET", "/hashes/:algo/:value/history", roles(orgs.Admin, orgs.Hotline, orgs.LawEnforcement), s.entryHistory)
	h("POST", "/hashes/:algo/:value/assessments", roles(analysts...).accepts("json").creates(), s.assess)
	h("POST", "/hashes/:algo/:value/retract", roles(analysts...).accepts("json").creates(), s.retract)
	h("POST", "/hashes/:algo/:value/feedback", roles(orgs.Platform).accepts("json").creates(), s.feedback)

	h("GET", "/disputes", roles(orgs.Admin, orgs.Hotline, orgs.LawEnforcement), s.listDisputes)
	h("POST", "/disputes/:id/resolve", roles(analysts...).accepts("json").creates(), s.resolveDispute)
	h("GET", "/review", roles(orgs.Admin, orgs.Hotline, orgs.LawEnforcement), s.review)

	h("POST", "/lists", roles(orgs.Admin).accepts("json").creates(), s.createList)
	h("GET", "/lists", all, s.listLists)
	h("GET", "/lists/:name", all, s.getList)
	h("GET", "/lists/:name/entries", all, s.listEntries)

	h("GET", "/audit", roles(orgs.Admin), s.auditEvents)

	h("POST", "/peers", roles(orgs.Admin).accepts("json").creates(), s.addPeer)
	h("GET", "/peers", roles(orgs.Admin), s.listPeers)
	h("GET", "/peers/:id", roles(orgs.Admin), s.getPeer)
	h("PATCH", "/peers/:id", roles(orgs.Admin).accepts("json"), s.updatePeer)
	h("POST", "/peers/:id/:action", roles(orgs.Admin), s.pausePeer)
	h("DELETE", "/peers/:id", roles(orgs.Admin), s.removePeer)

	// Releases. Readers are checked per list (readableList); the log and
	// keys are public so that anyone can audit what the node published.
	h("POST", "/lists/:name/releases", roles(orgs.Admin).creates(), s.buildRelease)
	h("GET", "/lists/:name/releases/latest", all, s.latestRelease)
	h("GET", "/lists/:name/releases/:version/:file", all, s.manifestFile)
	h("GET", "/lists/:name/delta", all, s.delta)
	h("GET", "/lists/:name/snapshot", all, s.snapshot)
	h("GET", "/lists/:name/proof", all, s.entryProof)
	h("GET", "/lists/:name/records", roles(orgs.Admin, orgs.Peer), s.listRecords)
	h("GET", "/log/leaves/:index", all, s.logLeaf)
	r.GET("/v1/keys", s.keys)
	r.GET("/v1/keys/release.pem", s.releaseKeyPEM)
	r.GET("/v1/log/checkpoint", s.checkpoint)
	r.GET("/v1/log/proof/inclusion", s.inclusionProof)
	r.GET("/v1/log/proof/consistency", s.consistencyProof)

	// Witnessing (C2SP tlog-witness): the checkpoint's own signature is
	// the authentication, so these take no token; answers are the spec's,
	// not problem documents.
	r.POST("/v1/witness/add-checkpoint", s.addCheckpoint)
	r.GET("/v1/witness/:origin/checkpoint", s.witnessedCheckpoint)
	h("GET", "/witness/evidence", roles(orgs.Admin), s.witnessEvidence)

	s.reportRoutes(h)
}

var swagger = ginSwagger.WrapHandler(swaggerFiles.Handler, ginSwagger.URL("/docs/doc.json"))

var _ = openapi.SwaggerInfo // the generated spec registers itself with swag

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// healthz godoc
//
//	@Summary	Liveness: the process is up
//	@ID		getHealthz
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	map[string]string
//	@Security
//	@Router		/healthz [get]
func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// readyz godoc
//
//	@Summary		Readiness: the store answers
//	@Description	The answer names the node ({"status":"ready","node":"hub-nl"}), so a script waiting for the node it started can tell it from another process on the same port.
//	@ID			getReadyz
//	@Tags			operations
//	@Produce		json
//	@Success		200	{object}	map[string]string
//	@Failure		503	{object}	Problem
//	@Security
//	@Router			/readyz [get]
func (s *Server) readyz(c *gin.Context) {
	if err := s.hub.Ready(); err != nil {
		writeProblem(c, pUnavailable.with("store not ready"))
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "node": s.hub.NodeID()})
}

// readBody drains a small body for fingerprinting and puts it back.
func readBody(c *gin.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, err
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

// SweepIdempotency deletes stored request outcomes older than
// IdempotencyTTL; the node runs it periodically.
func (s *Server) SweepIdempotency() (int, error) {
	var n int
	err := s.hub.DB().Update(func(tx *store.Tx) (err error) {
		n, err = tx.SweepIdem(time.Now().Add(-IdempotencyTTL).Unix())
		return err
	})
	return n, err
}

// Metrics is the Prometheus endpoint. It is not on the API's router: its
// series name every provider, peer and route with their figures, so the
// node serves it on its own address (hashhub serve --metrics-addr,
// loopback by default) for the operator's scraper only.
func (s *Server) Metrics() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// Register adds Prometheus collectors (a node's peer sync) to /metrics.
func (s *Server) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := s.metrics.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
