package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// decodeJSON reads exactly one JSON object into v, refusing unknown fields
// and trailing data, and writes the problem itself when it fails.
func (s *Server) decodeJSON(c *gin.Context, v any) bool {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		s.fail(c, err)
		return false
	}
	if !s.jsonText(c, body) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
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

// jsonText refuses, before decoding, what encoding/json would take
// silently: a body that is null (decoded as an empty object, so every
// field would be reset to its zero value) and text that is not UTF-8
// (decoded as U+FFFD). It names the field that holds the bad bytes.
func (s *Server) jsonText(c *gin.Context, body []byte) bool {
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		writeProblem(c, pMalformed.with("the body must be a JSON object, not null"))
		return false
	}
	if field, at, bad := badUTF8(body); bad {
		detail := fmt.Sprintf("not valid UTF-8 (byte %d of the body); send JSON as UTF-8", at)
		if field != "" {
			detail = field + ": " + detail
		}
		p := pBadText.with(detail)
		p.Field = field
		writeProblem(c, p)
		return false
	}
	return true
}

// badUTF8 finds the first byte of body that is not UTF-8 and the member
// whose name or value holds it, as a dotted path of member names
// ("classification.category"; array positions are not named).
func badUTF8(body []byte) (field string, at int64, bad bool) {
	if utf8.Valid(body) {
		return "", 0, false
	}
	for i := 0; i < len(body); {
		r, n := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && n == 1 {
			at = int64(i)
			break
		}
		i += n
	}
	// Walk the tokens up to the one that ends past the bad byte, keeping
	// the member name of each enclosing object.
	type level struct {
		object, wantName bool
		name             string
	}
	var stack []level
	path := func(extra string) string {
		var names []string
		for _, l := range stack {
			if l.object && l.name != "" {
				names = append(names, l.name)
			}
		}
		if extra != "" {
			names = append(names, extra)
		}
		return strings.Join(names, ".")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return path(""), at, true
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, level{object: true, wantName: true})
			case '[':
				stack = append(stack, level{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].wantName = true
				}
			}
			continue
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].object && stack[top].wantName {
			name, _ := tok.(string)
			if dec.InputOffset() > at {
				return path(name), at, true
			}
			stack[top].name, stack[top].wantName = name, false
			continue
		}
		if dec.InputOffset() > at {
			return path(""), at, true
		}
		if top >= 0 && stack[top].object {
			stack[top].wantName = true
		}
	}
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
