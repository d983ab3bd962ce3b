package ingest

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestCSVHappy(t *testing.T) {
	body := "note,severity,jurisdictions,category,quality,value,algo\n" +
		`,,,,,` + sha256A + ",sha256\n" +
		`"seen in ""case"", 12",A,NL;DE; ;,national,87,abc,pdq` + "\n" +
		` , B , GB , baseline , , ` + md5A + " , md5 \n"
	r, err := NewCSV(strings.NewReader(body), 0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := drain(t, r)
	if err != io.EOF {
		t.Fatalf("final error %v", err)
	}
	q := 87
	want := []Record{
		{Line: 2, Algo: "sha256", Value: sha256A},
		{Line: 3, Algo: "pdq", Value: "abc", Quality: &q, Category: "national", Jurisdictions: []string{"NL", "DE"}, Severity: "A", Note: `seen in "case", 12`},
		{Line: 4, Algo: "md5", Value: md5A, Category: "baseline", Jurisdictions: []string{"GB"}, Severity: "B"},
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

func TestCSVLines(t *testing.T) {
	const hdr = "algo,value\n"
	long := "sha256," + strings.Repeat("a", 2<<20)
	tests := []struct {
		name string
		body string
		max  int
		want string
	}{
		{"header only", "algo,value", 0, ""},
		{"header only terminated", hdr, 0, ""},
		{"blank lines", hdr + "\nmd5,x\n  \n\nsha1,y\n\n", 0, "3 md5, 6 sha1"},
		{"crlf", "algo,value\r\nmd5,x\r\n\r\nsha1,y\r\n", 0, "2 md5, 4 sha1"},
		{"no final newline", hdr + "md5,x\nsha1,y", 0, "2 md5, 3 sha1"},
		{"bom", "\xef\xbb\xbf" + hdr + "md5,x", 0, "2 md5"},
		{"2 MB line in the middle", hdr + "md5,x\n" + long + "\nsha1,y\n", 0, "2 md5, 3 !, 4 sha1"},
		{"line over the cap", hdr + "md5,x\nsha256,0123456789\nsha1,y", 10, "2 md5, 3 !, 4 sha1"},
		{"missing algo", hdr + ",x\nmd5,x", 0, "2 !algo, 3 md5"},
		{"missing value", hdr + "md5,\nmd5,  \nmd5,x", 0, "2 !value, 3 !value, 4 md5"},
		{"too few cells", hdr + "md5\nmd5,x", 0, "2 !, 3 md5"},
		{"too many cells", hdr + "md5,x,y\nmd5,x", 0, "2 !, 3 md5"},
		{"bare quote", hdr + "md5,a\"b\nmd5,x", 0, "2 !, 3 md5"},
		{"quote spanning lines", hdr + "md5,\"a\nb\"\nmd5,x", 0, "2 !, 3 !, 4 md5"},
		{"non-UTF-8 later", hdr + "md5,\xff\nmd5,x", 0, "2 !, 3 md5"},
		{"NUL later", hdr + "md5,\x00\nmd5,x", 0, "2 !, 3 md5"},
		{"quoted cells", hdr + `"md5", "x"` + "\n", 0, "2 md5"},
		{"comment-like line is data", hdr + "#md5,x\n", 0, "2 #md5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewCSV(strings.NewReader(tt.body), tt.max)
			if err != nil {
				t.Fatal(err)
			}
			out, err := drain(t, r)
			if err != io.EOF {
				t.Fatalf("final error %v, want io.EOF", err)
			}
			if got := summary(out); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCSVLineErrors(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		field  string
		reason string
	}{
		{"bad quality", "pdq,v,high", "quality", `"quality" must be an integer, not "high"`},
		{"fraction quality", "pdq,v,50.5", "quality", `not "50.5"`},
		{"overflow quality", "pdq,v,99999999999999999999", "quality", "must be an integer"},
		{"long quality", "pdq,v," + strings.Repeat("9", 500), "quality", "…"},
		{"cell count", "pdq,v", "", "line has 2 cells, the header has 3"},
		{"unterminated quote", `pdq,v,"5`, "", "unterminated quoted cell"},
		{"bare quote", `pdq,v"x,5`, "", `bare " in non-quoted-field`},
		{"missing algo", " ,v,5", "algo", `"algo" is required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := "algo,value,quality\nmd5,x,\n" + tt.line + "\nsha1,y,"
			r, err := NewCSV(strings.NewReader(body), 0)
			if err != nil {
				t.Fatal(err)
			}
			out, err := drain(t, r)
			if err != io.EOF {
				t.Fatalf("final error %v", err)
			}
			if got := summary(out); got != "2 md5, 3 !"+tt.field+", 4 sha1" {
				t.Fatalf("got %q", got)
			}
			if le := out[1].err; le.Field != tt.field || !strings.Contains(le.Reason, tt.reason) || len(le.Reason) > 200 {
				t.Fatalf("error = field %q reason %q, want field %q reason containing %q", le.Field, le.Reason, tt.field, tt.reason)
			}
		})
	}
}

func TestCSVQuality(t *testing.T) {
	body := "algo,value,quality\npdq,a,\npdq,b, 42 \npdq,c,-1\npdq,d,\"\"\n"
	r, err := NewCSV(strings.NewReader(body), 0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := drain(t, r)
	if err != io.EOF || len(out) != 4 {
		t.Fatalf("got %s, %v", summary(out), err)
	}
	got := []*int{out[0].rec.Quality, out[1].rec.Quality, out[2].rec.Quality, out[3].rec.Quality}
	if got[0] != nil || got[1] == nil || *got[1] != 42 || got[2] == nil || *got[2] != -1 || got[3] != nil {
		t.Fatalf("qualities %v", got)
	}
}

func TestCSVHeader(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		err    error
		reason string
	}{
		{"empty body", "", ErrBadHeader, "empty"},
		{"blank first line", "\nalgo,value\n", ErrBadHeader, "blank"},
		{"unknown column", "algo,value,colour\n", ErrBadHeader, `unknown column "colour"`},
		{"column case matters", "Algo,value\n", ErrBadHeader, `unknown column "Algo"`},
		{"empty column", "algo,,value\n", ErrBadHeader, `unknown column ""`},
		{"duplicate column", "algo,value,algo\n", ErrBadHeader, `column "algo" appears twice`},
		{"missing algo", "value,quality\n", ErrBadHeader, `missing required column "algo"`},
		{"missing value", "algo\nmd5\n", ErrBadHeader, `missing required column "value"`},
		{"data instead of header", "sha256," + sha256A + "\n", ErrBadHeader, `unknown column "sha256"`},
		{"ndjson instead of csv", `{"algo":"md5","value":"x"}` + "\n", ErrBadHeader, "invalid CSV"},
		{"bad quoting", "algo,\"value\n", ErrBadHeader, "unterminated"},
		{"long header", "algo,value," + strings.Repeat("x", DefaultMaxLine), ErrBadHeader, "longer than"},
		{"binary", "\x89PNG\r\n\x1a\n\x00\x00", ErrNotText, ""},
		{"nul", "algo,value\x00\n", ErrNotText, ""},
		{"long binary", strings.Repeat("\x00", 2*DefaultMaxLine), ErrNotText, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewCSV(strings.NewReader(tt.body), 0)
			if !errors.Is(err, tt.err) || r != nil {
				t.Fatalf("NewCSV = %v, %v; want %v", r, err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.reason) || len(err.Error()) > 200 {
				t.Fatalf("error %q does not contain %q", err, tt.reason)
			}
		})
	}

	// Header names are trimmed, and a BOM is fine.
	r, err := NewCSV(strings.NewReader("\xef\xbb\xbf value , algo \r\nx,md5\r\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := r.Next(); err != nil || rec.Algo != "md5" || rec.Value != "x" || rec.Line != 2 {
		t.Fatalf("got %+v, %v", rec, err)
	}
}

func TestCSVReadError(t *testing.T) {
	boom := errors.New("connection reset")
	if _, err := NewCSV(errAfter("algo,va", boom), 0); !errors.Is(err, boom) {
		t.Fatalf("header read error: %v", err)
	}
	r, err := NewCSV(errAfter("algo,value\nmd5,x\nmd5,", boom), 0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := drain(t, r)
	if !errors.Is(err, boom) || summary(out) != "2 md5" {
		t.Fatalf("got %s, %v", summary(out), err)
	}
}

// TestCSVFileColumn: a file column (what `hashctl hash` records beside a
// hash) is accepted and kept on the record.
func TestCSVFileColumn(t *testing.T) {
	r, err := NewCSV(strings.NewReader("algo,value,file\nmd5,"+md5A+",photos/a.jpg\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if want := (Record{Line: 2, Algo: "md5", Value: md5A, File: "photos/a.jpg"}); !reflect.DeepEqual(rec, want) {
		t.Errorf("got %+v, want %+v", rec, want)
	}
}
