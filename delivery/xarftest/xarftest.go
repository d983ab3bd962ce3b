// Package xarftest checks XARF documents against the official XARF v4
// schemas (delivery/testdata/xarf, copied unmodified from xarf-spec; see
// its SOURCE file) for the tests of delivery and server.
package xarftest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// CSAMSchema is the $id of the content-csam type schema.
const CSAMSchema = "https://xarf.org/schemas/v4/types/content-csam.json"

// schemaFiles are the official files, each loaded under its own $id so
// that the relative $refs between them resolve as they do at xarf.org.
var schemaFiles = []string{"xarf-core.json", "types/content-base.json", "types/content-csam.json"}

// rfc3986URI matches an absolute http(s)-style URI with an authority by
// RFC 3986's grammar: only unreserved, reserved and %-escaped characters,
// each where the grammar allows it (no userinfo: reports refuse it).
var rfc3986URI = func() *regexp.Regexp {
	const (
		pct   = `%[0-9A-Fa-f]{2}`
		pchar = `(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|` + pct + `)`
		reg   = `(?:[A-Za-z0-9._~!$&'()*+,;=-]|` + pct + `)*`
		ipLit = `\[[0-9A-Fa-f:.]+\]`
	)
	return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://(?:` + ipLit + `|` + reg + `)(?::[0-9]*)?` +
		`(?:/` + pchar + `*)*` + `(?:\?(?:` + pchar + `|[/?])*)?` + `(?:#(?:` + pchar + `|[/?])*)?$`)
}()

// strictURI is format "uri" as RFC 3986 defines it. The validator's own
// check is Go's url.Parse, which takes a query with ", <, >, \, ^, `, {,
// | or } as it comes; validators that follow RFC 3986 refuse those, so the
// tests do too.
func strictURI(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	if !rfc3986URI.MatchString(s) {
		return errors.New("not an RFC 3986 URI")
	}
	return nil
}

var (
	once       sync.Once
	schema     *jsonschema.Schema
	compileErr error
)

// Dir is the directory holding the official schema files.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "xarf")
}

func compile() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.RegisterFormat(&jsonschema.Format{Name: "uri", Validate: strictURI})
	for _, f := range schemaFiles {
		b, err := os.ReadFile(filepath.Join(Dir(), f))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		var meta struct {
			ID string `json:"$id"`
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			return nil, err
		}
		if err := c.AddResource(meta.ID, doc); err != nil {
			return nil, err
		}
	}
	return c.Compile(CSAMSchema)
}

// Validate checks one XARF document (JSON) against the official
// content-csam schema with formats asserted.
func Validate(doc []byte) error {
	once.Do(func() { schema, compileErr = compile() })
	if compileErr != nil {
		return compileErr
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return schema.Validate(inst)
}
