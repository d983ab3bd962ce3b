package server

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/witness"
)

// addCheckpoint godoc
//
//	@Summary		Ask this node to witness a peer's checkpoint (C2SP tlog-witness)
//	@ID			addCheckpoint
//	@Description	Body: "old <size>", the consistency proof lines (base64), a blank line, the signed checkpoint. The checkpoint's signature by a peer's pinned log key authenticates the request. 200 answers the cosignature/v1 line; 409 (text/x.tlog.size) the size this witness last cosigned; 422 a proof that does not verify (the checkpoint is kept as evidence); 403 a bad signature; 404 an unknown log.
//	@Tags			witness
//	@Accept			plain
//	@Produce		plain
//	@Success		200	{string}	string
//	@Failure		400,403,404,409,413,422	{string}	string
//	@Security
//	@Router			/v1/witness/add-checkpoint [post]
func (s *Server) addCheckpoint(c *gin.Context) {
	if s.cfg.Witness == nil {
		c.Data(http.StatusNotFound, witness.ContentTypeText, []byte("this node does not witness\n"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, witness.MaxBodySize+1))
	if err != nil {
		c.Data(http.StatusBadRequest, witness.ContentTypeText, []byte("cannot read the body\n"))
		return
	}
	r := s.cfg.Witness.AddCheckpoint(body)
	switch {
	case r.Status >= 500:
		s.log.Error("witness", slog.Any("err", r.Err))
	case errors.Is(r.Err, witness.ErrInconsistent):
		s.log.Warn("witness refused an inconsistent checkpoint", slog.Any("err", r.Err))
	}
	c.Data(r.Status, r.ContentType, r.Body)
}

// witnessedCheckpoint godoc
//
//	@Summary	The last checkpoint of a peer's log this node cosigned
//	@ID		getWitnessedCheckpoint
//	@Tags		witness
//	@Produce	plain
//	@Param		origin	path		string	true	"hex SHA-256 of the log's origin"
//	@Success	200		{string}	string
//	@Failure	404		{string}	string
//	@Security
//	@Router		/v1/witness/{origin}/checkpoint [get]
func (s *Server) witnessedCheckpoint(c *gin.Context) {
	if s.cfg.Witness == nil {
		c.Data(http.StatusNotFound, witness.ContentTypeText, []byte("this node does not witness\n"))
		return
	}
	ps, err := s.hub.Peers()
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, p := range ps {
		if origin := "hashhub/" + p.ID; witness.OriginHash(origin) == c.Param("origin") {
			r := s.cfg.Witness.Checkpoint(origin)
			c.Data(r.Status, r.ContentType, r.Body)
			return
		}
	}
	c.Data(http.StatusNotFound, witness.ContentTypeText, []byte("unknown log\n"))
}

// EvidenceList is what the witness refused.
type EvidenceList struct {
	Evidence []store.Evidence `json:"evidence"`
} // @name EvidenceList

// witnessEvidence godoc
//
//	@Summary		Checkpoints this node's witness refused
//	@ID			getWitnessEvidence
//	@Description	Validly signed by the peer's log but inconsistent with what this node cosigned before: evidence of a forked or rolled-back log.
//	@Tags			witness
//	@Produce		json
//	@Security		Bearer
//	@Param			origin	query		string	true	"the log's origin, hashhub/<peer id>"
//	@Success		200		{object}	EvidenceList
//	@Failure		401,403	{object}	Problem
//	@Router			/v1/witness/evidence [get]
func (s *Server) witnessEvidence(c *gin.Context) {
	if s.cfg.Evidence == nil {
		c.JSON(http.StatusOK, EvidenceList{Evidence: []store.Evidence{}})
		return
	}
	ev, err := s.cfg.Evidence(c.Query("origin"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, EvidenceList{Evidence: ev})
}
