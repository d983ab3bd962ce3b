package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/records"
)

// listRecords godoc
//
//	@Summary		The origin-signed records a list's versions rest on
//	@ID			listRecords
//	@Description	Assessment and retraction records, each as signed by the node where it was made (docs/federation.md), one per line as {"record": base64 bytes, "sig": base64 Ed25519 signature}, ordered by origin and sequence. after=N&to=M gives the records of versions N+1..M (after=0: everything up to M, to import with a snapshot). They name organisations and analysts, so only peers and administrators read them.
//	@Tags			federation
//	@Produce		application/x-ndjson
//	@Security		Bearer
//	@Param			name	path		string	true	"list name"
//	@Param			after	query		int		false	"the version held (default 0)"
//	@Param			to		query		int		false	"the version wanted (default latest)"
//	@Success		200		{string}	string
//	@Failure		401,403,404,422	{object}	Problem
//	@Router			/v1/lists/{name}/records [get]
func (s *Server) listRecords(c *gin.Context) {
	l, ok := s.readableList(c)
	if !ok {
		return
	}
	after, ok := s.uintQuery(c, "after", 0)
	if !ok {
		return
	}
	to, ok := s.uintQuery(c, "to", 0)
	if !ok {
		return
	}
	// Resolve errors (unknown list state, a version too new) before the
	// status line is written.
	var lines [][]byte
	err := s.hub.ListRecords(l.Name, after, to, func(sr records.Signed) error {
		lines = append(lines, sr.Line())
		return nil
	})
	if err != nil {
		s.failRelease(c, l.Name, err)
		return
	}
	c.Header("Content-Type", "application/x-ndjson")
	setCache(c, cachePrivateRecheck)
	c.Header("X-Hashhub-Records", strconv.Itoa(len(lines)))
	c.Status(http.StatusOK)
	for _, line := range lines {
		if _, err := c.Writer.Write(append(line, '\n')); err != nil {
			if !errors.Is(err, http.ErrHandlerTimeout) {
				s.log.Debug("write records", "list", l.Name, "err", err)
			}
			return
		}
	}
}
