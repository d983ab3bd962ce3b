package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// compareWithEncodingJSON decodes line with encoding/json, strictly (no
// unknown fields, nothing after the object), and reports how the result
// differs from rec, which decodeLine produced. It returns "" when they
// agree. encoding/json is more lenient in ways decodeLine deliberately is
// not (keys matched case-insensitively, repeated keys), so this only
// checks one direction: what decodeLine accepts, encoding/json accepts
// identically.
func compareWithEncodingJSON(line []byte, rec Record) string {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var want Record
	if err := dec.Decode(&want); err != nil {
		return fmt.Sprintf("%q: decodeLine accepted, encoding/json says %v", line, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Sprintf("%q: decodeLine accepted, encoding/json sees trailing data (%v)", line, err)
	}
	want.Line = rec.Line
	same := want.Algo == rec.Algo && want.Value == rec.Value && want.Category == rec.Category &&
		want.Severity == rec.Severity && want.Note == rec.Note && want.File == rec.File &&
		(want.Quality == nil) == (rec.Quality == nil) && (want.Quality == nil || *want.Quality == *rec.Quality) &&
		slices.Equal(want.Jurisdictions, rec.Jurisdictions) // nil and empty compare equal
	if !same {
		return fmt.Sprintf("%q: decodeLine gave %+v, encoding/json %+v", line, rec, want)
	}
	return ""
}
