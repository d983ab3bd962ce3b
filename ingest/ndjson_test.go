package ingest

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestNDJSONHappy(t *testing.T) {
	body := `{"algo":"sha256","value":"` + sha256A + `"}
{"algo":"pdq","value":"abc","quality":87,"category":"national","jurisdictions":["NL","DE"],"severity":"A","note":"seen in \"case\" 12\u00e9"}
  { "value" : "` + md5A + `" , "algo" : "md5" , "quality" : null , "note" : null }  
{"algo":"pdq","value":"abc","quality":100,"file":"photos/a b.jpg"}
`
	out, err := drain(t, NewNDJSON(strings.NewReader(body), 0))
	if err != io.EOF {
		t.Fatalf("final error %v, want io.EOF", err)
	}
	q, hundred := 87, 100
	want := []Record{
		{Line: 1, Algo: "sha256", Value: sha256A},
		{Line: 2, Algo: "pdq", Value: "abc", Quality: &q, Category: "national", Jurisdictions: []string{"NL", "DE"}, Severity: "A", Note: `seen in "case" 12é`},
		{Line: 3, Algo: "md5", Value: md5A},
		{Line: 4, Algo: "pdq", Value: "abc", Quality: &hundred, File: "photos/a b.jpg"},
	}
	if len(out) != len(want) {
		t.Fatalf("got %s", summary(out))
	}
	for i := range want {
		if out[i].err != nil || !reflect.DeepEqual(out[i].rec, want[i]) {
			t.Errorf("outcome %d = %+v / %v, want %+v", i, out[i].rec, out[i].err, want[i])
		}
	}
}

func TestNDJSONLines(t *testing.T) {
	rec := func(algo string) string { return `{"algo":"` + algo + `","value":"v"}` }
	long := `{"algo":"sha256","value":"` + strings.Repeat("a", 2<<20) + `"}`
	tests := []struct {
		name string
		body string
		max  int
		want string
	}{
		{"empty body", "", 0, ""},
		{"only blank", "\n \n\t\r\n", 0, ""},
		{"blank lines", "\n" + rec("md5") + "\n\n  \t \n" + rec("sha1") + "\n\n", 0, "2 md5, 5 sha1"},
		{"crlf", rec("md5") + "\r\n\r\n" + rec("sha1") + "\r\n", 0, "1 md5, 3 sha1"},
		{"no final newline", rec("md5") + "\n" + rec("sha1"), 0, "1 md5, 2 sha1"},
		{"2 MB line in the middle", rec("md5") + "\n" + long + "\n" + rec("sha1") + "\n", 0, "1 md5, 2 !, 3 sha1"},
		{"2 MB line last", rec("md5") + "\n" + long, 0, "1 md5, 2 !"},
		{"2 MB line first", long + "\n" + rec("md5"), 0, "1 !, 2 md5"},
		{"line at the cap", rec("md5") + "\n" + rec("sha1") + "\r\n", len(rec("sha1")), "1 md5, 2 sha1"},
		{"line over the cap", rec("sha1") + "\n" + rec("sha256") + "\n" + rec("sha1"), len(rec("sha1")), "1 sha1, 2 !, 3 sha1"},
		{"bom", "\xef\xbb\xbf" + rec("md5") + "\n" + rec("sha1"), 0, "1 md5, 2 sha1"},
		{"bad line then good", "{\n" + rec("md5"), 0, "1 !, 2 md5"},
		{"non-UTF-8 later", rec("md5") + "\n{\"algo\":\"\xff\"}\n" + rec("sha1"), 0, "1 md5, 2 !, 3 sha1"},
		{"NUL later", rec("md5") + "\n\x00\n" + rec("sha1"), 0, "1 md5, 2 !, 3 sha1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := drain(t, NewNDJSON(strings.NewReader(tt.body), tt.max))
			if err != io.EOF {
				t.Fatalf("final error %v, want io.EOF", err)
			}
			if got := summary(out); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNDJSONLongLineReason(t *testing.T) {
	_, err := NewNDJSON(strings.NewReader(strings.Repeat("x", DefaultMaxLine+1)), 0).Next()
	var le *LineError
	if !errors.As(err, &le) || le.Line != 1 || le.Field != "" || le.Reason != "line longer than 65536 bytes" {
		t.Fatalf("got %#v", err)
	}
	r := NewNDJSON(strings.NewReader(strings.Repeat("x", DefaultMaxLine)+"\n"+`{"algo":"md5","value":"v"}`), 0)
	if _, err := r.Next(); !errors.As(err, &le) || le.Reason != "line is not a JSON object" {
		t.Fatalf("a line of exactly DefaultMaxLine bytes: %v", err)
	}
}

func TestNDJSONLineErrors(t *testing.T) {
	v := `"value":"` + sha256A + `"`
	tests := []struct {
		name   string
		line   string
		field  string
		reason string
	}{
		{"unknown field", `{"algo":"sha256",` + v + `,"colour":"red"}`, "colour", `unknown field "colour"`},
		{"key case matters", `{"ALGO":"sha256",` + v + `}`, "ALGO", `unknown field "ALGO"`},
		{"line is not a field", `{"algo":"sha256",` + v + `,"Line":3}`, "Line", `unknown field "Line"`},
		{"long unknown field", `{"` + strings.Repeat("k", 1000) + `":1}`, strings.Repeat("k", 64) + "…", "unknown field"},
		{"duplicate field", `{"algo":"sha256",` + v + `,"algo":"md5"}`, "algo", `duplicate field "algo"`},
		{"duplicate file", `{"algo":"sha256",` + v + `,"file":"a","file":"b"}`, "file", `duplicate field "file"`},
		{"numeric file", `{"algo":"sha256",` + v + `,"file":1}`, "file", `"file" must be a string`},
		{"duplicate via escape", `{"algo":"sha256",` + v + `,"\u0061lgo":"md5"}`, "algo", `duplicate field "algo"`},
		{"trailing garbage", `{"algo":"sha256",` + v + `} x`, "", "unexpected data after the JSON object"},
		{"two objects", `{"algo":"sha256",` + v + `}{"algo":"md5"}`, "", "unexpected data after the JSON object"},
		{"trailing comma", `{"algo":"sha256",` + v + `,}`, "", "expected a quoted key"},
		{"unterminated", `{"algo":"sha256",` + v, "", "expected ',' or '}'"},
		{"unterminated string", `{"algo":"sha256`, "algo", "unterminated string"},
		{"missing colon", `{"algo" "sha256"}`, "", "expected ':'"},
		{"array", `["sha256"]`, "", "not a JSON object"},
		{"string", `"sha256"`, "", "not a JSON object"},
		{"bare word", `sha256,` + sha256A, "", "not a JSON object"},
		{"missing algo", `{` + v + `}`, "algo", `"algo" is required`},
		{"null algo", `{"algo":null,` + v + `}`, "algo", `"algo" is required`},
		{"empty algo", `{"algo":"",` + v + `}`, "algo", `"algo" is required`},
		{"missing value", `{"algo":"sha256"}`, "value", `"value" is required`},
		{"empty object", `{}`, "algo", `"algo" is required`},
		{"numeric algo", `{"algo":256,` + v + `}`, "algo", `"algo" must be a string`},
		{"quality string", `{"algo":"pdq",` + v + `,"quality":"50"}`, "quality", `"quality" must be an integer`},
		{"quality fraction", `{"algo":"pdq",` + v + `,"quality":50.5}`, "quality", `"quality" must be an integer, not 50.5`},
		{"quality exponent", `{"algo":"pdq",` + v + `,"quality":5e1}`, "quality", `must be an integer, not 5e1`},
		{"quality point zero", `{"algo":"pdq",` + v + `,"quality":50.0}`, "quality", `must be an integer`},
		{"quality overflow", `{"algo":"pdq",` + v + `,"quality":123456789012345678901234567890}`, "quality", `in range`},
		{"quality leading zero", `{"algo":"pdq",` + v + `,"quality":050}`, "", "expected ',' or '}'"},
		{"quality bare minus", `{"algo":"pdq",` + v + `,"quality":-}`, "quality", "must be an integer"},
		{"quality true", `{"algo":"pdq",` + v + `,"quality":true}`, "quality", "must be an integer"},
		{"jurisdictions string", `{"algo":"sha256",` + v + `,"jurisdictions":"NL"}`, "jurisdictions", "must be an array of strings"},
		{"jurisdictions numbers", `{"algo":"sha256",` + v + `,"jurisdictions":["NL",1]}`, "jurisdictions", "must be an array of strings"},
		{"jurisdictions null item", `{"algo":"sha256",` + v + `,"jurisdictions":[null]}`, "jurisdictions", "must be an array of strings"},
		{"jurisdictions unclosed", `{"algo":"sha256",` + v + `,"jurisdictions":["NL"`, "jurisdictions", "expected ',' or ']'"},
		{"control character", "{\"algo\":\"sha\t256\"," + v + `}`, "algo", "control character"},
		{"bad escape", `{"algo":"sha\x256",` + v + `}`, "algo", "invalid escape"},
		{"bad unicode escape", `{"algo":"sha\u25",` + v + `}`, "algo", `invalid \u escape`},
		{"nested object", `{"algo":{"x":1},` + v + `}`, "algo", "must be a string"},
		{"nul", "{\"algo\":\"sha256\x00\"," + v + `}`, "", "NUL"},
		{"invalid utf-8", "{\"algo\":\"sha256\xc3\"," + v + `}`, "", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A good line first, so that bad text is a LineError rather
			// than ErrNotText, and a good line after, to show recovery.
			body := `{"algo":"md5","value":"x"}` + "\n" + tt.line + "\n" + `{"algo":"sha1","value":"y"}`
			out, err := drain(t, NewNDJSON(strings.NewReader(body), 0))
			if err != io.EOF {
				t.Fatalf("final error %v", err)
			}
			if got := summary(out); got != "1 md5, 2 !"+tt.field+", 3 sha1" {
				t.Fatalf("got %q", got)
			}
			le := out[1].err
			if le.Field != tt.field || !strings.Contains(le.Reason, tt.reason) {
				t.Fatalf("error = field %q reason %q, want field %q reason containing %q", le.Field, le.Reason, tt.field, tt.reason)
			}
			if len(le.Reason) > 200 {
				t.Fatalf("reason is %d bytes long", len(le.Reason))
			}
		})
	}
}

func TestNDJSONValues(t *testing.T) {
	tests := []struct {
		line string
		want Record
	}{
		{`{"algo":"\u0073ha256","value":"a\/b\\c\n"}`, Record{Algo: "sha256", Value: "a/b\\c\n"}},
		{`{"algo":"x","value":"\ud83d\ude00"}`, Record{Algo: "x", Value: "😀"}},
		{`{"algo":"x","value":"\ud83d"}`, Record{Algo: "x", Value: "\ufffd"}}, // lone surrogate, as encoding/json does
		{`{"algo":"x","value":"v","quality":-0}`, Record{Algo: "x", Value: "v", Quality: new(0)}},
		{`{"algo":"x","value":"v","quality":-7}`, Record{Algo: "x", Value: "v", Quality: new(-7)}},
		{`{"algo":"x","value":"v","jurisdictions":[]}`, Record{Algo: "x", Value: "v"}},
		{`{"algo":"x","value":"v","jurisdictions":null}`, Record{Algo: "x", Value: "v"}},
		{`{"algo":"x","value":"v","jurisdictions":[ "NL" , "" ]}`, Record{Algo: "x", Value: "v", Jurisdictions: []string{"NL", ""}}},
		{"\t{\"algo\":\"x\",\r\"value\":\"v\"}\t", Record{Algo: "x", Value: "v"}},
		{`{"algo":" sha256 ","value":" v "}`, Record{Algo: " sha256 ", Value: " v "}}, // not trimmed: the caller's rules apply
	}
	for _, tt := range tests {
		rec, err := NewNDJSON(strings.NewReader(tt.line), 0).Next()
		tt.want.Line = 1
		if err != nil || !reflect.DeepEqual(rec, tt.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tt.line, rec, err, tt.want)
		}
	}
}

func TestNDJSONNotText(t *testing.T) {
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"
	tests := []struct {
		name string
		body string
	}{
		{"png", png},
		{"nul first", "\x00{}\n"},
		{"after blank lines", "\n  \n\x00\x01\x02"},
		{"latin-1", "{\"algo\":\"caf\xe9\"}\n"},
		{"long binary first line", strings.Repeat("\xff", 3*DefaultMaxLine)},
		{"utf-16", "\xff\xfe{\x00\"\x00a\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := drain(t, NewNDJSON(strings.NewReader(tt.body), 0))
			if !errors.Is(err, ErrNotText) || len(out) != 0 {
				t.Fatalf("got %s, %v; want ErrNotText", summary(out), err)
			}
		})
	}

	// A long first line that is text is only a LineError, even when the
	// cut through it falls inside a multi-byte character.
	body := strings.Repeat("é", DefaultMaxLine) + "\n" + `{"algo":"md5","value":"v"}`
	out, err := drain(t, NewNDJSON(strings.NewReader(body), 0))
	if err != io.EOF || summary(out) != "1 !, 2 md5" {
		t.Fatalf("got %s, %v", summary(out), err)
	}
}

func TestNDJSONReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := NewNDJSON(errAfter(`{"algo":"md5","value":"v"}`+"\n{\"al", boom), 0)
	out, err := drain(t, r)
	if !errors.Is(err, boom) || summary(out) != "1 md5" {
		t.Fatalf("got %s, %v", summary(out), err)
	}
	if !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error %q does not say where", err)
	}
}

// TestNDJSONMatchesEncodingJSON checks the hand-written decoder against
// encoding/json on the accepted lines of the other tests: whatever the
// decoder accepts, encoding/json with DisallowUnknownFields must accept
// with the same result. FuzzNDJSON does the same on generated input.
func TestNDJSONMatchesEncodingJSON(t *testing.T) {
	lines := []string{
		`{"algo":"sha256","value":"` + sha256A + `"}`,
		`{"algo":"pdq","value":"abc","quality":87,"category":"national","jurisdictions":["NL","DE"],"severity":"A","note":"n"}`,
		`{"algo":"\u0073ha256","value":"a\/b\\c\n\u00e9\ud83d\ude00"}`,
		`{"algo":"x","value":"v","quality":-0,"jurisdictions":[],"note":null}`,
	}
	for _, line := range lines {
		var rec Record
		if _, reason := decodeLine([]byte(line), &rec); reason != "" {
			t.Fatalf("%s: %s", line, reason)
		}
		if diff := compareWithEncodingJSON([]byte(line), rec); diff != "" {
			t.Error(diff)
		}
	}
}

func ExampleNewNDJSON() {
	body := strings.NewReader(`{"algo":"sha256","value":"` + sha256A + `"}
{"algo":"md5","value":"` + md5A + `","colour":"red"}
`)
	r := NewNDJSON(body, 0)
	for {
		rec, err := r.Next()
		var le *LineError
		switch {
		case err == io.EOF:
			return
		case errors.As(err, &le):
			fmt.Println("skipped:", le)
			continue
		case err != nil:
			fmt.Println("import failed:", err)
			return
		}
		fmt.Println(rec.Line, rec.Algo)
	}
	// Output:
	// 1 sha256
	// skipped: line 2: unknown field "colour"
}
