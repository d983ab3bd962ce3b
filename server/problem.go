package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/text"
	"github.com/hashhub/hashhub/translog"
)

// Problem is an RFC 9457 problem detail. Type is stable per kind of error
// (docs/errors.md lists them); Detail is safe to show a user.
type Problem struct {
	Type   string `json:"type" example:"urn:hashhub:problem:invalid-input"`
	Title  string `json:"title" example:"Invalid input"`
	Status int    `json:"status" example:"422"`
	Detail string `json:"detail,omitempty" example:"value: sha256 needs 64 hex characters, got 63"`
	// Field names the request field at fault, when there is one.
	Field string `json:"field,omitempty" example:"value"`
	// Errors lists per-line problems of an import.
	Errors []*ingest.LineError `json:"errors,omitempty"`
	// Snapshot is where a client too far behind starts again (410).
	Snapshot string `json:"snapshot,omitempty"`
} // @name Problem

// ProblemPrefix starts every problem type.
const ProblemPrefix = "urn:hashhub:problem:"

// problemKind is one stable kind of error.
type problemKind struct {
	slug   string
	title  string
	status int
}

// The kinds of error the API returns. Adding one here documents it.
var (
	pInvalid        = problemKind{"invalid-input", "Invalid input", http.StatusUnprocessableEntity}
	pUnknownAlgo    = problemKind{"unknown-algorithm", "Unknown hash algorithm", http.StatusUnprocessableEntity}
	pMalformed      = problemKind{"malformed-request", "Malformed request body", http.StatusBadRequest}
	pBadText        = problemKind{"invalid-text", "Text with characters not allowed", http.StatusBadRequest}
	pNotText        = problemKind{"not-text", "Body is not text", http.StatusBadRequest}
	pBadHeader      = problemKind{"bad-csv-header", "Bad CSV header", http.StatusBadRequest}
	pImportRejected = problemKind{"import-rejected", "Every line of the import was rejected", http.StatusUnprocessableEntity}
	pTooLarge       = problemKind{"body-too-large", "Request body too large", http.StatusRequestEntityTooLarge}
	pMedia          = problemKind{"media-refused", "Media is never accepted", http.StatusUnsupportedMediaType}
	pContentType    = problemKind{"unsupported-content-type", "Unsupported content type", http.StatusUnsupportedMediaType}
	pUnauthorized   = problemKind{"unauthorized", "Authentication required", http.StatusUnauthorized}
	pInvalidToken   = problemKind{"invalid-token", "Invalid access token", http.StatusUnauthorized}
	pForbidden      = problemKind{"forbidden", "Not allowed", http.StatusForbidden}
	pOwnDispute     = problemKind{"own-dispute", "Cannot resolve a dispute of one's own organisation", http.StatusForbidden}
	pNotFound       = problemKind{"not-found", "Not found", http.StatusNotFound}
	pExists         = problemKind{"already-exists", "Already exists", http.StatusConflict}
	pNothingRetract = problemKind{"nothing-to-retract", "Nothing to retract", http.StatusConflict}
	pDisputeClosed  = problemKind{"dispute-closed", "Dispute already resolved", http.StatusConflict}
	pIdemReused     = problemKind{"idempotency-key-reused", "Idempotency key reused with a different request", http.StatusUnprocessableEntity}
	pIdemInFlight   = problemKind{"idempotency-key-in-flight", "A request with this idempotency key is in progress", http.StatusConflict}
	pIdemWithheld   = problemKind{"idempotency-replay-withheld", "Already done; the answer is not replayed", http.StatusConflict}
	pGone           = problemKind{"version-gone", "Version no longer kept", http.StatusGone}
	pTooNew         = problemKind{"version-not-found", "No such version", http.StatusNotFound}
	pNoRelease      = problemKind{"no-release", "The list has no release yet", http.StatusNotFound}
	pLogRange       = problemKind{"log-range", "Outside the log", http.StatusUnprocessableEntity}
	pNoRoute        = problemKind{"no-route", "No such endpoint", http.StatusNotFound}
	pMethod         = problemKind{"method-not-allowed", "Method not allowed", http.StatusMethodNotAllowed}
	pUnavailable    = problemKind{"unavailable", "Not ready", http.StatusServiceUnavailable}
	pInternal       = problemKind{"internal", "Internal error", http.StatusInternalServerError}
)

// ProblemKinds lists every kind, for documentation and tests.
func ProblemKinds() []string {
	var out []string
	for _, k := range []problemKind{pInvalid, pUnknownAlgo, pMalformed, pBadText, pNotText, pBadHeader, pImportRejected,
		pTooLarge, pMedia, pContentType, pUnauthorized, pInvalidToken, pForbidden, pOwnDispute, pNotFound,
		pExists, pNothingRetract, pDisputeClosed, pIdemReused, pIdemInFlight, pIdemWithheld, pGone, pTooNew, pNoRelease, pLogRange, pNoRoute, pMethod, pUnavailable, pInternal} {
		out = append(out, ProblemPrefix+k.slug)
	}
	for _, k := range slices.Concat(reportKinds, limitKinds) {
		out = append(out, ProblemPrefix+k.slug)
	}
	return out
}

func (k problemKind) with(detail string) *Problem {
	return &Problem{Type: ProblemPrefix + k.slug, Title: k.title, Status: k.status, Detail: detail}
}

// writeProblem sends p and stops the handler chain.
func writeProblem(c *gin.Context, p *Problem) {
	if p.Status == http.StatusUnauthorized {
		hdr := `Bearer realm="hashhub"`
		if p.Type == ProblemPrefix+pInvalidToken.slug {
			hdr += `, error="invalid_token"`
		}
		c.Header("WWW-Authenticate", hdr)
	}
	c.Header("Cache-Control", "no-store")
	c.Abort()
	c.Render(p.Status, problemRender{p})
}

type problemRender struct{ p *Problem }

func (r problemRender) Render(w http.ResponseWriter) error {
	r.WriteContentType(w)
	return jsonEncode(w, r.p)
}

func (r problemRender) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/problem+json")
}

// fail maps a domain error to its problem in one place. Messages of 4xx
// errors are the domain's own (safe, naming the field and reason); a 5xx
// sends a constant message and logs the cause.
func (s *Server) fail(c *gin.Context, err error) {
	writeProblem(c, s.problemFor(c, err))
}

func (s *Server) problemFor(c *gin.Context, err error) *Problem {
	var te *text.Error
	if errors.As(err, &te) {
		p := pBadText.with(te.Error())
		p.Field = te.Field
		return p
	}
	if p := reportProblem(err); p != nil {
		return p
	}
	var hf *hashes.FieldError
	if errors.As(err, &hf) {
		k := pInvalid
		if errors.Is(err, hashes.ErrUnknownAlgorithm) {
			k = pUnknownAlgo
		}
		p := k.with(hf.Error())
		p.Field = hf.Field
		return p
	}
	var ef *entries.FieldError
	var of *orgs.FieldError
	var lf *lists.FieldError
	var pf *peers.FieldError
	switch {
	case errors.As(err, &pf):
		p := pInvalid.with(pf.Error())
		p.Field = pf.Field
		return p
	case errors.As(err, &ef):
		p := pInvalid.with(ef.Error())
		p.Field = ef.Field
		return p
	case errors.As(err, &of):
		p := pInvalid.with(of.Error())
		p.Field = of.Field
		return p
	case errors.As(err, &lf):
		p := pInvalid.with(lf.Error())
		p.Field = lf.Field
		return p
	case errors.Is(err, entries.ErrNotFound), errors.Is(err, orgs.ErrNotFound),
		errors.Is(err, lists.ErrNotFound), errors.Is(err, entries.ErrDisputeNotFound), errors.Is(err, peers.ErrNotFound):
		return pNotFound.with(err.Error())
	case errors.Is(err, orgs.ErrExists), errors.Is(err, lists.ErrExists), errors.Is(err, peers.ErrExists):
		return pExists.with(err.Error())
	case errors.Is(err, entries.ErrNothingToRetract):
		return pNothingRetract.with(err.Error())
	case errors.Is(err, entries.ErrDisputeClosed):
		return pDisputeClosed.with(err.Error())
	case errors.Is(err, entries.ErrOwnDispute):
		return pOwnDispute.with(err.Error())
	case errors.Is(err, hub.ErrVersionGone):
		return pGone.with(err.Error())
	case errors.Is(err, hub.ErrVersionTooNew):
		return pTooNew.with(err.Error())
	case errors.Is(err, hub.ErrNotInList):
		return pNotFound.with(err.Error())
	case errors.Is(err, hub.ErrNotReleaseState):
		return pNoRelease.with(err.Error())
	case errors.Is(err, hub.ErrLogRange), errors.Is(err, translog.ErrOutOfRange):
		return pLogRange.with(err.Error())
	case errors.Is(err, hub.ErrForbidden):
		return pForbidden.with(err.Error())
	case errors.Is(err, ingest.ErrNotText):
		return pNotText.with(err.Error())
	case errors.Is(err, ingest.ErrBadHeader):
		return pBadHeader.with(err.Error())
	case isTooLarge(err):
		return pTooLarge.with("the request body exceeds the limit of this endpoint")
	case errors.Is(err, ErrBodyTimeout):
		c.Header("Connection", "close")
		return pBodyTimeout.with(fmt.Sprintf("the body must start within %s and keep arriving at %d bytes/s or more", s.cfg.Body.Timeout, s.cfg.Body.MinRate))
	case errors.Is(err, context.Canceled):
		// The client hung up; not a server error. Nobody reads this answer.
		return &Problem{Type: ProblemPrefix + "client-closed", Title: "Client closed request", Status: 499}
	}
	s.log.Error("request failed", slog.String("path", c.FullPath()), slog.Any("err", err))
	return pInternal.with("the node could not complete the request; it has been logged")
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
