package client

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/hashhub/hashhub/auth"
)

// PeerConfig configures a client with which one node calls another as a
// peer: it authenticates with a JWT client assertion (RFC 7523) signed by
// its node key, so no secret is shared between nodes.
type PeerConfig struct {
	// Server is the other node's base URL; NodeID its node id (the
	// assertion's audience).
	Server, NodeID string
	// SelfID is this node's id; Key its Ed25519 node key.
	SelfID string
	Key    ed25519.PrivateKey
	// Transport, UserAgent, Tries, Backoff, Timeout and IdleTimeout are
	// as in Config.
	Transport   http.RoundTripper
	UserAgent   string
	Tries       int
	Backoff     time.Duration
	Timeout     time.Duration
	IdleTimeout time.Duration
}

// NewPeer returns a client that calls cfg.Server as the peer cfg.SelfID.
func NewPeer(cfg PeerConfig) (*Client, error) {
	server, err := NormalizeServer(cfg.Server)
	if err != nil {
		return nil, err
	}
	if len(cfg.Key) != ed25519.PrivateKeySize || cfg.SelfID == "" || cfg.NodeID == "" {
		return nil, fmt.Errorf("a peer client needs this node's id and key and the other node's id")
	}
	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	tokenURL := server + TokenPath
	// A token request waits no longer than any other request: a peer
	// that stopped answering must not hold the caller (which cannot
	// cancel it) longer than its own timeout.
	tokenTimeout := DefaultTokenTimeout
	if cfg.Timeout > 0 {
		tokenTimeout = min(tokenTimeout, cfg.Timeout)
	}
	idle := idleTimeout(cfg.IdleTimeout)
	base = &baseTransport{next: base, userAgent: cfg.UserAgent, tokenURL: tokenURL, tokenTimeout: tokenTimeout, idle: idle}
	ts := &assertionSource{hc: &http.Client{Transport: base}, tokenURL: tokenURL, key: cfg.Key, self: cfg.SelfID, aud: cfg.NodeID}
	hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, ts), Base: base}}
	return newClient(server, hc, cfg.Tries, cfg.Backoff, cfg.Timeout, idle), nil
}

// assertionSource fetches access tokens with a fresh client assertion each
// time (an assertion is single-use: the node refuses a replayed jti).
type assertionSource struct {
	hc        *http.Client
	tokenURL  string
	key       ed25519.PrivateKey
	self, aud string
}

func (s *assertionSource) Token() (*oauth2.Token, error) {
	a, err := auth.NewAssertion(s.key, s.self, s.aud, time.Now())
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {auth.AssertionType}, "client_assertion": {a}}
	req, err := http.NewRequest(http.MethodPost, s.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, &AuthError{Status: resp.StatusCode, Code: e.Error, Description: e.Description}
	}
	var t struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return nil, fmt.Errorf("token endpoint %s: no access token in the answer", s.tokenURL)
	}
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType,
		Expiry: time.Now().Add(time.Duration(t.ExpiresIn) * time.Second)}, nil
}

// WaitRelease long-polls a list's latest release: it answers when a
// version newer than after exists, or after about wait with the latest as
// it is. A node that has not answered within wait and the idle timeout
// (without one: the client's timeout) is stalled: the error wraps
// ErrStalled.
func (c *Client) WaitRelease(ctx context.Context, list string, after uint64, wait time.Duration) (*LatestRelease, error) {
	q := url.Values{"after": {strconv.FormatUint(after, 10)}, "wait": {strconv.Itoa(int(wait / time.Second))}}
	within := c.timeout
	if c.idle > 0 {
		within = wait + c.idle
	}
	raw, err := c.getBytesWithin(ctx, within, listPath(list)+"/releases/latest", q, "application/json", maxSmallJSON)
	if err != nil {
		return nil, err
	}
	var out LatestRelease
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("the node's answer to a long poll of %q is not the JSON expected: %w", list, err)
	}
	return &out, nil
}

// Records streams the origin-signed records versions after+1..to of a list
// rest on (after = 0: all of them up to to), one line each (see
// records.ParseLine). The caller closes the body and bounds what it reads.
func (c *Client) Records(ctx context.Context, list string, after, to uint64) (io.ReadCloser, error) {
	q := url.Values{"after": {strconv.FormatUint(after, 10)}, "to": {strconv.FormatUint(to, 10)}}
	body, _, err := c.stream(ctx, listPath(list)+"/records", q, "application/x-ndjson")
	return body, err
}
