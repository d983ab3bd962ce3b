package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
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
	if isTooLarge(err) || errors.Is(err, ErrBodyTimeout) {
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
		// Name JSON types, not Go ones: the client wrote JSON.
		field = typ.Field
		if field == "" {
			detail = fmt.Sprintf("the body must be a JSON object, not %s", jsonValueName(typ.Value))
		} else {
			detail = fmt.Sprintf("%s: expected %s, not %s", field, jsonTypeName(typ.Type), jsonValueName(typ.Value))
		}
	}
	p := pMalformed.with(detail)
	p.Field = field
	writeProblem(c, p)
	return false
}

// jsonTypeName says which JSON type decodes into t.
func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	}
	return "a number"
}

// jsonValueName names the JSON value an *json.UnmarshalTypeError found
// ("string", "number", "number 1.5", "array", …) with an article.
func jsonValueName(v string) string {
	if v == "array" || v == "object" {
		return "an " + v
	}
	return "a " + v
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
