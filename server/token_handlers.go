package server

import (
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/auth"
	"github.com/hashhub/hashhub/hub"
)

// TokenResponse is RFC 6749 §5.1's successful answer.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type" example:"Bearer"`
	ExpiresIn   int    `json:"expires_in" example:"900"`
} // @name TokenResponse

// TokenError is RFC 6749 §5.2's error answer.
type TokenError struct {
	Error            string `json:"error" example:"invalid_client"`
	ErrorDescription string `json:"error_description,omitempty"`
} // @name TokenError

// token godoc
//
//	@Summary		Get an access token (OAuth 2.0 client credentials)
//	@ID			issueToken
//	@Description	RFC 6749 §4.4. Authenticate with HTTP Basic (client id and secret, form-url-encoded) or with client_id and client_secret form fields. The token is an EdDSA JWT valid for 15 minutes. Errors follow RFC 6749 §5.2, not problem+json, so OAuth client libraries understand them.
//	@Tags			auth
//	@Accept			x-www-form-urlencoded
//	@Produce		json
//	@Param			grant_type		formData	string	true	"client_credentials"
//	@Param			client_id		formData	string	false	"client id (if not sent with HTTP Basic)"
//	@Param			client_secret	formData	string	false	"client secret (if not sent with HTTP Basic)"
//	@Success		200				{object}	TokenResponse
//	@Failure		400				{object}	TokenError
//	@Failure		401				{object}	TokenError
//	@Security
//	@Router			/v1/oauth/token [post]
func (s *Server) token(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	oauthErr := func(status int, code, desc string) {
		if status == http.StatusUnauthorized {
			c.Header("WWW-Authenticate", `Basic realm="hashhub"`)
		}
		c.AbortWithStatusJSON(status, TokenError{Error: code, ErrorDescription: desc})
	}
	if !s.limitTokenAddr(c) {
		return
	}
	if mt := c.ContentType(); mt != "application/x-www-form-urlencoded" {
		oauthErr(http.StatusBadRequest, "invalid_request", "send an application/x-www-form-urlencoded body")
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBody)
	if err := c.Request.ParseForm(); err != nil {
		if isTooLarge(err) {
			oauthErr(http.StatusRequestEntityTooLarge, "invalid_request", "body too large")
			return
		}
		if errors.Is(err, ErrBodyTimeout) {
			c.Header("Connection", "close")
			oauthErr(http.StatusRequestTimeout, "invalid_request", "the body did not arrive in time")
			return
		}
		oauthErr(http.StatusBadRequest, "invalid_request", "cannot parse the form body")
		return
	}
	form := c.Request.PostForm
	for _, k := range []string{"grant_type", "client_id", "client_secret", "scope", "client_assertion", "client_assertion_type"} {
		if len(form[k]) > 1 {
			oauthErr(http.StatusBadRequest, "invalid_request", k+" given more than once")
			return
		}
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		if gt == "" {
			oauthErr(http.StatusBadRequest, "invalid_request", "grant_type is required")
		} else {
			oauthErr(http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		}
		return
	}
	if form.Get("client_assertion_type") != "" || form.Get("client_assertion") != "" {
		s.peerToken(c, form, oauthErr)
		return
	}
	id, secret, basic := c.Request.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: Basic credentials are form-url-encoded first.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			oauthErr(http.StatusBadRequest, "invalid_request", "malformed Basic credentials")
			return
		}
		if form.Get("client_id") != "" || form.Get("client_secret") != "" {
			oauthErr(http.StatusBadRequest, "invalid_request", "use one client authentication method, not both")
			return
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" || secret == "" || len(id) > 200 || len(secret) > 200 {
		oauthErr(http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if !s.limitTokenClient(c, id) {
		return
	}
	a, err := s.hub.Authenticate(id, secret)
	if err != nil {
		if errors.Is(err, hub.ErrBadCredentials) {
			oauthErr(http.StatusUnauthorized, "invalid_client", "client authentication failed")
			return
		}
		s.fail(c, err)
		return
	}
	tok, err := s.tokens.Issue(a.User, a.Org, string(a.Role), a.Jurisdiction)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(s.tokens.TTL().Seconds())})
}

// Me is who the token belongs to.
type Me struct {
	User         string `json:"user"`
	Org          string `json:"org"`
	Role         string `json:"role"`
	Jurisdiction string `json:"jurisdiction"`
} // @name Me

// me godoc
//
//	@Summary	Who am I
//	@ID		getMe
//	@Tags		auth
//	@Produce	json
//	@Security	Bearer
//	@Success	200	{object}	Me
//	@Failure	401	{object}	Problem
//	@Router		/v1/me [get]
func (s *Server) me(c *gin.Context) {
	a := actor(c)
	c.JSON(http.StatusOK, Me{User: a.User, Org: a.Org, Role: string(a.Role), Jurisdiction: a.Jurisdiction})
}

// peerToken authenticates a peer node by its JWT client assertion (RFC
// 7523 §2.2) and issues it an access token for its local organisation.
func (s *Server) peerToken(c *gin.Context, form url.Values, oauthErr func(int, string, string)) {
	if form.Get("client_assertion_type") != auth.AssertionType {
		oauthErr(http.StatusBadRequest, "invalid_request", "client_assertion_type must be "+auth.AssertionType)
		return
	}
	if _, _, basic := c.Request.BasicAuth(); basic || form.Get("client_secret") != "" {
		oauthErr(http.StatusBadRequest, "invalid_request", "use one client authentication method, not both")
		return
	}
	raw := form.Get("client_assertion")
	if raw == "" || len(raw) > 8<<10 {
		oauthErr(http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	peerID, err := auth.AssertionIssuer(raw)
	if err == nil && form.Get("client_id") != "" && form.Get("client_id") != peerID {
		err = errors.New("client_id differs from the assertion's issuer")
	}
	if err == nil && !s.limitTokenClient(c, peerID) {
		return
	}
	var a hub.Actor
	if err == nil {
		var key ed25519.PublicKey
		a, key, err = s.hub.PeerIdentity(peerID)
		if err == nil {
			err = s.tokens.VerifyAssertion(raw, peerID, key)
		}
	}
	if err != nil {
		s.log.Info("peer authentication refused", slog.String("peer", peerID), slog.Any("err", err))
		oauthErr(http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	tok, err := s.tokens.Issue(a.User, a.Org, string(a.Role), a.Jurisdiction)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(s.tokens.TTL().Seconds())})
}
