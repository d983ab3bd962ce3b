package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// fuzzMaxLine turns a fuzzed number into a line cap: mostly small, so that
// the overlong-line path is exercised, sometimes the default.
func fuzzMaxLine(m uint16) int {
	if m%8 == 0 {
		return 0
	}
	return int(m % 300)
}

// physicalLines splits body the way the readers number lines, for the
// oracle checks: element n-1 is line n without its terminator.
func physicalLines(body []byte) [][]byte {
	lines := bytes.Split(body, []byte("\n"))
	for i, l := range lines {
		if i == 0 {
			l = bytes.TrimPrefix(l, bom)
		}
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	return lines
}

var ndjsonSeeds = []string{
	"",
	`{"algo":"sha256","value":"` + sha256A + `"}`,
	`{"algo":"pdq","value":"abc","quality":87,"category":"national","jurisdictions":["NL","DE"],"severity":"A","note":"n"}` + "\r\n\r\n" + `{"algo":"md5","value":"` + md5A + `"}`,
	"\xef\xbb\xbf{\"algo\":\"\\u0073ha256\",\"value\":\"a\\/b\\\\c\\n\\ud83d\\ude00\"}\n",
	`{"algo":"x","value":"v","quality":-0,"jurisdictions":[],"note":null}` + "\n\n\n",
	`{"algo":"x","value":"v","quality":5e1}` + "\n" + `{"algo":"x","value":"v"} trailing`,
	`{"algo":"x","value":"v","ALGO":"y"}` + "\n{\n\"\n",
	"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
	`{"algo":"x","value":"v"}` + "\n\xff\xfe\n\x00",
	`{"algo":"x","value":"v","jurisdictions":["N\u004c",null]}`,
	strings.Repeat(`{"algo":"x","value":"`+strings.Repeat("v", 400)+`"}`+"\n", 3),
}

// FuzzNDJSON checks that the NDJSON reader never panics or loops, that
// every record has an algo and a value and strictly increasing line
// numbers, and that every line it accepts is accepted identically by
// encoding/json.
func FuzzNDJSON(f *testing.F) {
	for i, s := range ndjsonSeeds {
		f.Add([]byte(s), uint16(i))
	}
	f.Fuzz(func(t *testing.T, body []byte, m uint16) {
		out, err := drain(t, NewNDJSON(bytes.NewReader(body), fuzzMaxLine(m)))
		if err != io.EOF && !errors.Is(err, ErrNotText) {
			t.Fatalf("unexpected final error %v", err)
		}
		lines := physicalLines(body)
		if len(out) > len(lines) {
			t.Fatalf("%d outcomes from %d lines", len(out), len(lines))
		}
		for _, o := range out {
			if o.err != nil {
				continue
			}
			if o.rec.Line > len(lines) {
				t.Fatalf("record on line %d of %d", o.rec.Line, len(lines))
			}
			if diff := compareWithEncodingJSON(lines[o.rec.Line-1], o.rec); diff != "" {
				t.Fatal(diff)
			}
		}
	})
}

var csvSeeds = []string{
	"",
	"algo,value\n",
	"algo,value\nsha256," + sha256A + "\n",
	"\xef\xbb\xbfnote,severity,jurisdictions,category,quality,value,algo\r\n\"a \"\"b\"\", c\",A,NL;DE; ;,national,87,abc,pdq\r\n\r\n",
	"algo,value,quality\npdq,x,\npdq,y,5.5\npdq,z,\"\"\n,,\n",
	"algo,value\nmd5,\"a\nb\"\nmd5,x\"y\n",
	"algo,value,colour\n",
	"algo,algo,value\n",
	"\x89PNG\r\n\x1a\n\x00\x00",
	"algo,value\nmd5,\xff\n\x00\n",
	"algo,value\n" + strings.Repeat("md5,"+strings.Repeat("v", 400)+"\n", 3),
}

// FuzzCSV checks that the CSV reader never panics or loops, that a refused
// body is refused for a documented reason, and that every record has an
// algo and a value and strictly increasing line numbers after the header.
func FuzzCSV(f *testing.F) {
	for i, s := range csvSeeds {
		f.Add([]byte(s), uint16(i))
	}
	f.Fuzz(func(t *testing.T, body []byte, m uint16) {
		r, err := NewCSV(bytes.NewReader(body), fuzzMaxLine(m))
		if err != nil {
			if !errors.Is(err, ErrBadHeader) && !errors.Is(err, ErrNotText) {
				t.Fatalf("NewCSV: unexpected error %v", err)
			}
			return
		}
		out, err := drain(t, r)
		if err != io.EOF {
			t.Fatalf("unexpected final error %v", err)
		}
		lines := physicalLines(body)
		if len(out) > len(lines)-1 {
			t.Fatalf("%d outcomes from %d lines after the header", len(out), len(lines)-1)
		}
		for _, o := range out {
			line := 0
			if o.err != nil {
				line = o.err.Line
			} else {
				line = o.rec.Line
				if o.rec.Algo != strings.TrimSpace(o.rec.Algo) || o.rec.Value != strings.TrimSpace(o.rec.Value) {
					t.Fatalf("untrimmed record %+v", o.rec)
				}
				for _, j := range o.rec.Jurisdictions {
					if j == "" || strings.Contains(j, ";") {
						t.Fatalf("bad jurisdiction %q in %+v", j, o.rec)
					}
				}
			}
			if line < 2 || line > len(lines) {
				t.Fatalf("outcome on line %d of %d (header is line 1)", line, len(lines))
			}
		}
	})
}

// FuzzNDJSONMarshal complements FuzzNDJSON from the other side: records
// that encoding/json writes (with every escape it uses) must decode back
// to themselves.
func FuzzNDJSONMarshal(f *testing.F) {
	f.Add("sha256", sha256A, 87, true, "national", "NL;DE", "A", "a <b> & \"c\"\n\t\u2028é\x7f", uint8(0))
	f.Add("", "", 0, false, "", "", "", "", uint8(1))
	f.Add("\xff", "\x00\x1f", -1, true, "\ud7ff", ";;", "\\", "😀", uint8(2))
	f.Fuzz(func(t *testing.T, algo, value string, q int, hasQ bool, category, jurisdictions, severity, note string, style uint8) {
		in := Record{Algo: algo, Value: value, Category: category, Severity: severity, Note: note}
		if hasQ {
			in.Quality = &q
		}
		if jurisdictions != "" {
			in.Jurisdictions = strings.Split(jurisdictions, ";")
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(style&1 == 0)
		if style&2 != 0 {
			enc.SetIndent("", " ") // multi-line: make it one line again below
		}
		if err := enc.Encode(in); err != nil {
			t.Fatal(err)
		}
		line := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if style&2 != 0 {
			line = bytes.ReplaceAll(line, []byte("\n"), []byte("\t"))
		}

		var got Record
		field, reason := decodeLine(line, &got)
		// encoding/json turns invalid UTF-8 into U+FFFD; compare with what
		// it would read back.
		var want Record
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		if want.Algo == "" || want.Value == "" {
			if reason == "" {
				t.Fatalf("%s: accepted without algo or value", line)
			}
			return
		}
		if reason != "" {
			t.Fatalf("%s: refused (%s: %s)", line, field, reason)
		}
		if diff := compareWithEncodingJSON(line, got); diff != "" {
			t.Fatal(diff)
		}
	})
}
