package server

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/audit"
)

// AuditPage is a page of audit events.
type AuditPage struct {
	Events     []audit.Event `json:"events"`
	NextCursor string        `json:"next_cursor,omitempty"`
} // @name AuditPage

// auditEvents godoc
//
//	@Summary	Read the audit chain
//	@ID		listAuditEvents
//	@Tags		operations
//	@Produce	json
//	@Security	Bearer
//	@Param		cursor	query		string	false	"next_cursor of the previous page (an event sequence number)"
//	@Param		limit	query		int		false	"page size (1–1000, default 100)"
//	@Success	200		{object}	AuditPage
//	@Failure	401,403,422	{object}	Problem
//	@Router		/v1/audit [get]
func (s *Server) auditEvents(c *gin.Context) {
	limit, ok := s.page(c)
	if !ok {
		return
	}
	after, ok := s.cursor(c)
	if !ok {
		return
	}
	evs, err := s.hub.AuditEvents(after, limit+1)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := AuditPage{Events: evs}
	if len(evs) > limit {
		p.Events = evs[:limit]
		p.NextCursor = itoa(evs[limit-1].Seq)
	}
	c.JSON(http.StatusOK, p)
}
