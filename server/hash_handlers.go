package server

import (
	"fmt"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/ingest"
)

// SubmitRequest submits one hash with the submitter's assessment.
type SubmitRequest struct {
	Algo          string   `json:"algo" example:"sha256"`
	Value         string   `json:"value" example:"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`
	Quality       *int     `json:"quality,omitempty" example:"90"`
	Category      string   `json:"category,omitempty" example:"baseline" enums:"baseline,national"`
	Jurisdictions []string `json:"jurisdictions,omitempty"`
	Severity      string   `json:"severity,omitempty" example:"A" enums:"A,B,C"`
	Note          string   `json:"note,omitempty"`
} // @name SubmitRequest

// EntryView is an entry with its status, as analysts see it.
type EntryView struct {
	*entries.Entry
	Key    string `json:"key" example:"sha256:9f86d0…"`
	Status string `json:"status" example:"active" enums:"active,disputed,not_illegal,retracted"`
	// Blind is set when blind review left out the other analysts'
	// assessments: the caller's organisation has not assessed the entry.
	Blind *hub.Blinding `json:"blind,omitempty"`
} // @name Entry

func view(e *entries.Entry) EntryView { return EntryView{Entry: e, Key: e.Key(), Status: e.Status()} }

// submitHash godoc
//
//	@Summary		Submit one hash
//	@ID			submitHash
//	@Description	Records the hash and the submitter's assessment (verdict illegal; category baseline unless given). Submitting the same hash again with the same assessment changes nothing (200 instead of 201).
//	@Tags			hashes
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			Idempotency-Key	header		string			false	"makes retries safe"
//	@Param			body			body		SubmitRequest	true	"hash and assessment"
//	@Success		201				{object}	EntryView		"new entry"
//	@Success		200				{object}	EntryView		"existing entry, assessment added or unchanged"
//	@Failure		400,401,403,413,415,422	{object}	Problem
//	@Router			/v1/hashes [post]
func (s *Server) submitHash(c *gin.Context) {
	var req SubmitRequest
	if !s.decodeJSON(c, &req) {
		return
	}
	if req.Algo == "" || req.Value == "" {
		field := "algo"
		if req.Algo != "" {
			field = "value"
		}
		p := pInvalid.with(field + ": required")
		p.Field = field
		writeProblem(c, p)
		return
	}
	h, err := hashes.Parse(req.Algo, req.Value, req.Quality)
	if err != nil {
		s.fail(c, err)
		return
	}
	e, created, err := s.hub.Submit(replayable(c, submitted), h, entries.Input{Category: entries.Category(req.Category),
		Jurisdictions: req.Jurisdictions, Severity: entries.Severity(req.Severity), Note: req.Note})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(submitted(hub.Submitted{Entry: e, Created: created}))
}

func submitted(r hub.Submitted) (int, any) {
	if r.Created {
		return http.StatusCreated, view(r.Entry)
	}
	return http.StatusOK, view(r.Entry)
}

// importHashes godoc
//
//	@Summary		Import hashes in bulk
//	@ID			importHashes
//	@Description	Streams an application/x-ndjson body (one SubmitRequest object per line) or a text/csv body (header naming columns algo,value and optionally quality,category,jurisdictions,severity,note; jurisdictions separated by ';'). The whole body is read and validated first (sorted to temporary files, never held in memory), then committed in batches in one pass over the index; a body that breaks off or exceeds the limit writes nothing. A bad line rejects only itself and is listed in errors (the first 1000). If no line is accepted the answer is 422 with the line errors and nothing is written. A body that is not text is refused before anything is written. Re-running an import is safe: an assessment already recorded is left unchanged, so imports keep no Idempotency-Key replay record; a key given only names the import in the audit log.
//	@Tags			hashes
//	@Accept			application/x-ndjson
//	@Accept			text/csv
//	@Produce		json
//	@Security		Bearer
//	@Param			Idempotency-Key	header		string	false	"names the import in the audit log"
//	@Success		200				{object}	hub.ImportResult
//	@Failure		400,401,403,413,415,422	{object}	Problem
//	@Router			/v1/hashes/import [post]
func (s *Server) importHashes(c *gin.Context) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	var r ingest.Reader
	if mt == "text/csv" {
		var err error
		if r, err = ingest.NewCSV(c.Request.Body, DefaultMaxLine); err != nil {
			s.fail(c, err)
			return
		}
	} else {
		r = ingest.NewNDJSON(c.Request.Body, DefaultMaxLine)
	}
	importID := c.GetHeader("Idempotency-Key")
	if importID == "" {
		importID = fmt.Sprintf("%s-%d", actor(c).User, nowNano())
	}
	res, err := s.hub.Import(actor(c), r, importID, nil)
	s.metrics.importLines.WithLabelValues("accepted").Add(float64(res.Accepted))
	s.metrics.importLines.WithLabelValues("rejected").Add(float64(res.Rejected))
	if err != nil {
		p := s.problemFor(c, err)
		if res.Accepted > 0 {
			p.Detail += fmt.Sprintf(" (import stopped after %d accepted lines in %d committed batches; re-running the import is safe)", res.Accepted, res.Batches)
		}
		writeProblem(c, p)
		return
	}
	if res.Accepted == 0 && res.Rejected > 0 {
		p := pImportRejected.with(fmt.Sprintf("%d of %d lines rejected; nothing was written", res.Rejected, res.Lines))
		p.Errors = res.Errors
		writeProblem(c, p)
		return
	}
	c.JSON(http.StatusOK, res)
}

// entryKey validates the path's algo and value and returns the entry key.
func (s *Server) entryKey(c *gin.Context) (string, bool) {
	h, err := hashes.Parse(c.Param("algo"), c.Param("value"), nil)
	if err != nil {
		s.fail(c, err)
		return "", false
	}
	return h.Key(), true
}

// getEntry godoc
//
//	@Summary		Read an entry with its assessments
//	@ID			getEntry
//	@Description	PhotoDNA values are base64: percent-encode '/' and '+' in the path. Blind review: while the caller's organisation has not assessed the entry and a list that takes it reviews blind (lists' policy open_review false, the default), an analyst gets no assessments, only the submitter's claim and how many were hidden (blind). Every read is recorded in the audit log (hash.read).
//	@Tags			hashes
//	@Produce		json
//	@Security		Bearer
//	@Param			algo	path		string	true	"algorithm"
//	@Param			value	path		string	true	"hash value"
//	@Success		200		{object}	EntryView
//	@Failure		401,403,404,422	{object}	Problem
//	@Router			/v1/hashes/{algo}/{value} [get]
func (s *Server) getEntry(c *gin.Context) {
	key, ok := s.entryKey(c)
	if !ok {
		return
	}
	e, b, err := s.hub.EntryFor(actor(c), key)
	if err != nil {
		s.fail(c, err)
		return
	}
	v := view(e)
	v.Blind = b
	c.JSON(http.StatusOK, v)
}

// entryHistory godoc
//
//	@Summary	An entry's whole history: assessments, feedback, disputes and resolutions
//	@Description	With the entry's standing in each list in words (lists). Blind review applies as for getEntry; the reasons of disputes an assessment opened and of resolutions are left out too. Every read is recorded in the audit log (hash.read).
//	@ID		entryHistory
//	@Tags		hashes
//	@Produce	json
//	@Security	Bearer
//	@Param		algo	path		string	true	"algorithm"
//	@Param		value	path		string	true	"hash value"
//	@Success	200		{object}	hub.History
//	@Failure	401,403,404,422	{object}	Problem
//	@Router		/v1/hashes/{algo}/{value}/history [get]
func (s *Server) entryHistory(c *gin.Context) {
	key, ok := s.entryKey(c)
	if !ok {
		return
	}
	h, err := s.hub.HistoryFor(actor(c), key)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, h)
}

// AssessRequest is an analyst's verdict.
type AssessRequest struct {
	Verdict       string   `json:"verdict" example:"illegal" enums:"illegal,not_illegal"`
	Category      string   `json:"category,omitempty" example:"baseline" enums:"baseline,national"`
	Jurisdictions []string `json:"jurisdictions,omitempty"`
	Severity      string   `json:"severity,omitempty" enums:"A,B,C"`
	Note          string   `json:"note,omitempty"`
} // @name AssessRequest

// AssessResponse is the entry after an assessment, and the dispute a
// not_illegal verdict opened.
type AssessResponse struct {
	Entry   EntryView        `json:"entry"`
	Dispute *entries.Dispute `json:"dispute,omitempty"`
} // @name AssessResponse

// assess godoc
//
//	@Summary		Assess an entry
//	@ID			assessHash
//	@Description	Adds (or replaces) the caller's verdict. not_illegal opens a dispute: the entry leaves every list until an analyst of another organisation resolves it.
//	@Tags			hashes
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			algo			path		string			true	"algorithm"
//	@Param			value			path		string			true	"hash value"
//	@Param			Idempotency-Key	header		string			false	"makes retries safe"
//	@Param			body			body		AssessRequest	true	"verdict"
//	@Success		200				{object}	AssessResponse
//	@Failure		400,401,403,404,413,415,422	{object}	Problem
//	@Router			/v1/hashes/{algo}/{value}/assessments [post]
func (s *Server) assess(c *gin.Context) {
	key, ok := s.entryKey(c)
	if !ok {
		return
	}
	var req AssessRequest
	if !s.decodeJSON(c, &req) {
		return
	}
	if req.Verdict == "" {
		p := pInvalid.with("verdict: required (illegal or not_illegal)")
		p.Field = "verdict"
		writeProblem(c, p)
		return
	}
	e, d, err := s.hub.Assess(replayable(c, assessed), key, entries.Input{Verdict: entries.Verdict(req.Verdict), Category: entries.Category(req.Category),
		Jurisdictions: req.Jurisdictions, Severity: entries.Severity(req.Severity), Note: req.Note})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(assessed(hub.Assessed{Entry: e, Dispute: d}))
}

func assessed(r hub.Assessed) (int, any) {
	return http.StatusOK, AssessResponse{Entry: view(r.Entry), Dispute: r.Dispute}
}

// ReasonRequest carries a reason.
type ReasonRequest struct {
	Reason string `json:"reason" example:"submitted in error"`
} // @name ReasonRequest

// retract godoc
//
//	@Summary		Retract your organisation's assessments of an entry
//	@ID			retractHash
//	@Description	With no assessment left, the entry leaves every list.
//	@Tags			hashes
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			algo	path		string			true	"algorithm"
//	@Param			Idempotency-Key	header		string			false	"makes retries safe"
//	@Param			value	path		string			true	"hash value"
//	@Param			body	body		ReasonRequest	true	"why"
//	@Success		200		{object}	EntryView
//	@Failure		400,401,403,404,409,413,415,422	{object}	Problem
//	@Router			/v1/hashes/{algo}/{value}/retract [post]
func (s *Server) retract(c *gin.Context) {
	key, ok := s.entryKey(c)
	if !ok {
		return
	}
	var req ReasonRequest
	if !s.decodeJSON(c, &req) {
		return
	}
	e, err := s.hub.Retract(replayable(c, retracted), key, req.Reason)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(retracted(e))
}

func retracted(e *entries.Entry) (int, any) { return http.StatusOK, view(e) }

// FeedbackRequest is a platform's feedback on a matched entry.
type FeedbackRequest struct {
	Kind string `json:"kind" example:"false_positive" enums:"confirmed_match,false_positive"`
	Note string `json:"note,omitempty"`
} // @name FeedbackRequest

// feedback godoc
//
//	@Summary		Give feedback on an entry
//	@ID			sendFeedback
//	@Description	false_positive opens a dispute and takes the entry out of every list until an analyst resolves it.
//	@Tags			hashes
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			algo			path		string			true	"algorithm"
//	@Param			value			path		string			true	"hash value"
//	@Param			Idempotency-Key	header		string			false	"makes retries safe"
//	@Param			body			body		FeedbackRequest	true	"feedback"
//	@Success		201				{object}	entries.Feedback
//	@Failure		400,401,403,404,413,415,422	{object}	Problem
//	@Router			/v1/hashes/{algo}/{value}/feedback [post]
func (s *Server) feedback(c *gin.Context) {
	key, ok := s.entryKey(c)
	if !ok {
		return
	}
	var req FeedbackRequest
	if !s.decodeJSON(c, &req) {
		return
	}
	f, err := s.hub.GiveFeedback(replayable(c, feedbackGiven), key, req.Kind, req.Note)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(feedbackGiven(f))
}

func feedbackGiven(f *entries.Feedback) (int, any) { return http.StatusCreated, f }

// The swag annotations above name hub types; this keeps the import.
var _ = hub.ImportResult{}
