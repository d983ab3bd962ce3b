package server

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/lists"
)

// createList godoc
//
//	@Summary		Create a list
//	@ID			createList
//	@Description	A list's policy says how many independent illegal assessments an entry needs (min_assessments, from min_orgs organisations in min_jurisdictions jurisdictions), which algorithms and categories count, and whether review is blind (the default; open_review true shows analysts the other verdicts before they give their own); readers name the organisations and roles that may read it.
//	@Tags			lists
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			Idempotency-Key	header		string		false	"makes retries safe"
//	@Param			body			body		lists.List	true	"list (created and created_by are set by the node)"
//	@Success		201				{object}	lists.List
//	@Failure		400,401,403,409,413,415,422	{object}	Problem
//	@Router			/v1/lists [post]
func (s *Server) createList(c *gin.Context) {
	var l lists.List
	if !s.decodeJSON(c, &l) {
		return
	}
	out, err := s.hub.CreateList(replayable(c, listCreated), l)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(listCreated(out))
}

func listCreated(l *lists.List) (int, any) { return http.StatusCreated, l }

// listLists godoc
//
//	@Summary	Lists the caller may read
//	@ID		listLists
//	@Tags		lists
//	@Produce	json
//	@Security	Bearer
//	@Success	200	{object}	ListList
//	@Failure	401	{object}	Problem
//	@Router		/v1/lists [get]
func (s *Server) listLists(c *gin.Context) {
	all, err := s.hub.Lists()
	if err != nil {
		s.fail(c, err)
		return
	}
	a := actor(c)
	out := []lists.List{}
	for _, l := range all {
		if l.CanRead(a.Org, a.Role) {
			out = append(out, l)
		}
	}
	c.JSON(http.StatusOK, ListList{Lists: out})
}

// ListList is the lists a caller may read.
type ListList struct {
	Lists []lists.List `json:"lists"`
} // @name ListList

// readableList loads a list the caller may read; others get 404, so a
// list's existence is not revealed to those who may not read it.
func (s *Server) readableList(c *gin.Context) (*lists.List, bool) {
	l, err := s.hub.List(c.Param("name"))
	a := actor(c)
	if err == nil && !l.CanRead(a.Org, a.Role) {
		err = fmt.Errorf("%w: %q", lists.ErrNotFound, c.Param("name"))
	}
	if err != nil {
		s.fail(c, err)
		return nil, false
	}
	return l, true
}

// getList godoc
//
//	@Summary	Read a list
//	@ID		getList
//	@Tags		lists
//	@Produce	json
//	@Security	Bearer
//	@Param		name	path		string	true	"list name"
//	@Success	200		{object}	lists.List
//	@Failure	401,404	{object}	Problem
//	@Router		/v1/lists/{name} [get]
func (s *Server) getList(c *gin.Context) {
	if l, ok := s.readableList(c); ok {
		c.JSON(http.StatusOK, l)
	}
}

// listEntries godoc
//
//	@Summary		Entries that qualify for a list now
//	@ID			listEntries
//	@Description	Pages through entries in creation order; each page examines a bounded number of entries, so a page may hold fewer than limit entries and still have a next_cursor.
//	@Tags			lists
//	@Produce		json
//	@Security		Bearer
//	@Param			name	path		string	true	"list name"
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Param			limit	query		int		false	"page size (1–1000, default 100)"
//	@Success		200		{object}	hub.Qualifying
//	@Failure		401,404,422	{object}	Problem
//	@Router			/v1/lists/{name}/entries [get]
func (s *Server) listEntries(c *gin.Context) {
	limit, ok := s.page(c)
	if !ok {
		return
	}
	after, ok := s.cursor(c)
	if !ok {
		return
	}
	l, ok := s.readableList(c)
	if !ok {
		return
	}
	q, err := s.hub.QualifyingEntries(l.Name, after, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, q)
}

// The swag annotations above name hub types; this keeps the import.
var _ = hub.Qualifying{}
