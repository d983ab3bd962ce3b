package server

import (
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
	// Errors resolved before the first record (unknown list state, a
	// version too new) are answered as problems; then the records are
	// sent as they are read.
	started := false
	err := s.hub.StreamRecords(l.Name, after, to, func(n int) {
		c.Header("Content-Type", "application/x-ndjson")
		setCache(c, cachePrivateRecheck)
		c.Header("X-Hashhub-Records", strconv.Itoa(n))
		c.Status(http.StatusOK)
		started = true
	}, func(sr records.Signed) error {
		_, err := c.Writer.Write(append(sr.Line(), '\n'))
		return err
	})
	switch {
	case err == nil:
	case !started:
		s.failRelease(c, l.Name, err)
	default:
		// The status line is out: the answer is cut, so that the peer
		// sees a failed body rather than a complete-looking short list.
		s.log.Warn("write records", "list", l.Name, "err", err)
		panic(http.ErrAbortHandler)
	}
}
