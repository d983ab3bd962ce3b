package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gin-gonic/gin"
)

// decodeJSON reads exactly one JSON object into v, refusing unknown fields
// and trailing data, and writes the problem itself when it fails.
func (s *Server) decodeJSON(c *gin.Context, v any) bool {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON object")
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	if isTooLarge(err) {
		s.fail(c, err)
		return false
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	detail := err.Error()
	field := ""
	switch {
	case errors.Is(err, io.EOF):
		detail = "the body is empty; send a JSON object"
	case errors.As(err, &syn):
		detail = fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		field = typ.Field
		detail = fmt.Sprintf("%s: expected %s", typ.Field, typ.Type)
	}
	p := pMalformed.with(detail)
	p.Field = field
	writeProblem(c, p)
	return false
}

// page reads ?limit= (default DefaultPageLimit, at most MaxPageLimit).
func (s *Server) page(c *gin.Context) (int, bool) {
	q := c.Query("limit")
	if q == "" {
		return DefaultPageLimit, true
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 1 || n > MaxPageLimit {
		p := pInvalid.with(fmt.Sprintf("limit: must be an integer between 1 and %d", MaxPageLimit))
		p.Field = "limit"
		writeProblem(c, p)
		return 0, false
	}
	return n, true
}

// cursor reads a numeric ?cursor= (0 when absent).
func (s *Server) cursor(c *gin.Context) (uint64, bool) {
	q := c.Query("cursor")
	if q == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(q, 10, 64)
	if err != nil {
		p := pInvalid.with("cursor: use the next_cursor of the previous page")
		p.Field = "cursor"
		writeProblem(c, p)
		return 0, false
	}
	return n, true
}
