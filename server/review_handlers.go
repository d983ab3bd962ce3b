package server

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hub"
)

// DisputePage is a page of disputes.
type DisputePage struct {
	Disputes   []entries.Dispute `json:"disputes"`
	NextCursor string            `json:"next_cursor,omitempty"`
} // @name DisputePage

// listDisputes godoc
//
//	@Summary	List disputes, oldest first
//	@ID		listDisputes
//	@Tags		review
//	@Produce	json
//	@Security	Bearer
//	@Param		status	query		string	false	"open, upheld or overturned"
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Param		limit	query		int		false	"page size (1–1000, default 100)"
//	@Success	200		{object}	DisputePage
//	@Failure	401,403,422	{object}	Problem
//	@Router		/v1/disputes [get]
func (s *Server) listDisputes(c *gin.Context) {
	limit, ok := s.page(c)
	if !ok {
		return
	}
	st := c.Query("status")
	switch st {
	case "", entries.DisputeOpen, entries.DisputeUpheld, entries.DisputeOverturned:
	default:
		p := pInvalid.with("status: one of open, upheld, overturned")
		p.Field = "status"
		writeProblem(c, p)
		return
	}
	ds, err := s.hub.Disputes(st, c.Query("cursor"), limit+1)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := DisputePage{Disputes: ds}
	if len(ds) > limit {
		p.Disputes = ds[:limit]
		p.NextCursor = ds[limit-1].ID
	}
	c.JSON(http.StatusOK, p)
}

// ResolveRequest resolves a dispute.
type ResolveRequest struct {
	Outcome string `json:"outcome" example:"upheld" enums:"upheld,overturned"`
	Reason  string `json:"reason" example:"re-assessed: category A"`
} // @name ResolveRequest

// resolveDispute godoc
//
//	@Summary		Resolve a dispute
//	@ID			resolveDispute
//	@Description	Only an analyst of an organisation other than the disputing one. upheld: the entry stays (a disputed not_illegal assessment is set aside). overturned: a not_illegal assessment is recorded and the entry leaves every list.
//	@Tags			review
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			id		path		string			true	"dispute id"
//	@Param			Idempotency-Key	header		string			false	"makes retries safe"
//	@Param			body	body		ResolveRequest	true	"decision"
//	@Success		200		{object}	entries.Dispute
//	@Failure		400,401,403,404,409,413,415,422	{object}	Problem
//	@Router			/v1/disputes/{id}/resolve [post]
func (s *Server) resolveDispute(c *gin.Context) {
	var req ResolveRequest
	if !s.decodeJSON(c, &req) {
		return
	}
	d, err := s.hub.ResolveDispute(replayable(c, resolved), c.Param("id"), req.Outcome, req.Reason)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(resolved(d))
}

func resolved(d *entries.Dispute) (int, any) { return http.StatusOK, d }

// review godoc
//
//	@Summary		The caller's review queue
//	@ID			listReviewQueue
//	@Description	Open disputes the caller's organisation may resolve, and the entries some list still needs that the caller's organisation has not assessed (an entry it assessed never comes back, even once retracted): first those one more assessment would publish (publishes), then the rest, oldest first within each. Entries carry the submitter's claim, never other verdicts. Pass next_cursor to continue.
//	@Tags			review
//	@Produce		json
//	@Security		Bearer
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Param			limit	query		int		false	"page size (1–1000, default 100)"
//	@Success		200		{object}	hub.Review
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/review [get]
func (s *Server) review(c *gin.Context) {
	limit, ok := s.page(c)
	if !ok {
		return
	}
	after, ok := s.cursor(c)
	if !ok {
		return
	}
	r, err := s.hub.Review(actor(c), after, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

// The swag annotations above name hub types; this keeps the import.
var _ = hub.Review{}
