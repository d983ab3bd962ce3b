package console

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/reports"
	"github.com/hashhub/hashhub/text"
)

// Explain maps a domain error to a status and a message fit to show the
// person, in one place (as server/problem.go does for the API). Messages of
// invalid input say what was wrong with it; anything unexpected is a 500
// whose detail goes to the log, not the page.
func Explain(err error) (status int, msg string) {
	switch {
	case errors.Is(err, hub.ErrForbidden):
		return http.StatusForbidden, "You may not do this: " + err.Error() + "."
	case errors.Is(err, orgs.ErrNotFound), errors.Is(err, entries.ErrNotFound), errors.Is(err, lists.ErrNotFound),
		errors.Is(err, reports.ErrNotFound), errors.Is(err, entries.ErrDisputeNotFound), errors.Is(err, reports.ErrNoticeGone):
		return http.StatusNotFound, "Not found: " + err.Error() + "."
	case errors.Is(err, orgs.ErrExists), errors.Is(err, lists.ErrExists), errors.Is(err, hub.ErrConflict),
		errors.Is(err, entries.ErrDisputeClosed), errors.Is(err, reports.ErrTransition):
		return http.StatusConflict, "Not done: " + err.Error() + "."
	case errors.Is(err, text.ErrInvalid), errors.Is(err, orgs.ErrInvalid), errors.Is(err, entries.ErrInvalid),
		errors.Is(err, lists.ErrInvalid), errors.Is(err, reports.ErrInvalid), errors.Is(err, hashes.ErrUnknownAlgorithm),
		errors.Is(err, hashes.ErrInvalidValue), errors.Is(err, hashes.ErrInvalidQuality), errors.Is(err, entries.ErrOwnDispute),
		errors.Is(err, entries.ErrNothingToRetract), errors.Is(err, reports.ErrHoldTooLong), errors.Is(err, reports.ErrHopLimit):
		return http.StatusUnprocessableEntity, "Please correct this: " + err.Error() + "."
	}
	return http.StatusInternalServerError, "Something went wrong on the node; it has been logged."
}

// Fail renders the error page for a domain error (see Explain), logging
// the unexpected ones.
func (cn *Console) Fail(c *gin.Context, s *Session, err error) {
	status, msg := Explain(err)
	if status == http.StatusInternalServerError {
		cn.log.Error("console", "path", c.Request.URL.Path, "err", err)
	}
	cn.Error(c, s, status, msg)
}
