package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestStripFileMember: the file member goes wherever it stands and
// however its key is spelt in JSON; nothing else of the line changes; a
// line that is not an object is left for the node to refuse.
func TestStripFileMember(t *testing.T) {
	for in, want := range map[string]string{
		`{"algo":"md5","value":"ab","file":"/home/x/a.jpg"}` + "\n":                 `{"algo":"md5","value":"ab"}` + "\n",
		`{"file":"/home/x/a.jpg","algo":"md5","value":"ab"}` + "\n":                 `{"algo":"md5","value":"ab"}` + "\n",
		`{ "file" : "a" , "algo":"md5", "value":"ab" }`:                             `{ "algo":"md5", "value":"ab" }`,
		`{"algo":"md5","\u0066ile":"/secret/a.jpg","value":"ab"}`:                   `{"algo":"md5","value":"ab"}`,
		`{"algo":"md5","note":"file","value":"ab"}`:                                 `{"algo":"md5","note":"file","value":"ab"}`,
		`{"algo":"md5","file":{"nested":[1,2]},"value":"ab","file":"again"}` + "\n": `{"algo":"md5","value":"ab"}` + "\n",
		`{"file":"only"}`:                     `{}`,
		`["file"]`:                            `["file"]`,
		`{"algo":"md5","file":"a.jpg"` + "\n": `{"algo":"md5","file":"a.jpg"` + "\n",
		`not json, file`:                      `not json, file`,
	} {
		if got := string(stripFileMember([]byte(in))); got != want {
			t.Errorf("%s\n got %s\nwant %s", in, got, want)
		}
	}
	csvIn := "algo, value ,file,severity\r\nmd5,ab,\"/home/x/a, b.jpg\",A\r\n\r\nsha1,cd\nbroken,\"quote\n"
	got, _ := io.ReadAll(withoutFiles(strings.NewReader(csvIn), "csv"))
	want := "algo,value ,severity\r\nmd5,ab,A\r\n\r\nsha1,cd\nbroken,\"quote\n"
	if string(got) != want {
		t.Errorf("csv:\n got %q\nwant %q", got, want)
	}
	plain := "algo,value\nmd5,ab\n"
	if got, _ := io.ReadAll(withoutFiles(strings.NewReader(plain), "csv")); string(got) != plain {
		t.Errorf("csv without a file column changed: %q", got)
	}
}

// TestImportSendsNoPath: hashctl hash output, with the local path of
// every picture in its file fields, is imported through a proxy that
// records the request body: the body holds no path and no file field,
// and the node takes every line. The same for CSV with a file column.
func TestImportSendsNoPath(t *testing.T) {
	n := startNode(t, "NL")
	hot := analyst(t, n, "Hotline", "NL")
	up, err := url.Parse(n.url)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var bodies []string
	rp := httputil.NewSingleHostReverseProxy(up)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/hashes/import" {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength = int64(len(b))
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	via := &testNode{url: proxy.URL}

	dir := filepath.Join(t.TempDir(), "private-uploads")
	copyInto(t, dir, "wee.jpg", "images/wee.jpg")
	copyInto(t, dir, "pic.png", "formats/blue-purple-pink.png")
	hashed := ok(t, hashctl(nil, "hash", dir)).stdout
	if !strings.Contains(hashed, "private-uploads") {
		t.Fatalf("hashctl hash wrote no path to strip:\n%s", hashed)
	}
	r := ok(t, via.as(hot, "hashes", "import", writeFile(t, "hashes.ndjson", hashed)))
	if field(t, r.stdout, "accepted") != "8" || field(t, r.stdout, "rejected") != "0" {
		t.Fatalf("the node did not take all 8 lines:\n%s", r)
	}

	var csv strings.Builder
	csv.WriteString("algo,value,file\n")
	for _, l := range matchLines(t, hashed) {
		if l.Algo != "pdq" {
			csv.WriteString(l.Algo + "," + l.Value + "," + l.File + "\n")
		}
	}
	r = ok(t, via.as(hot, "hashes", "import", writeFile(t, "hashes.csv", csv.String())))
	if field(t, r.stdout, "accepted") != "6" || field(t, r.stdout, "rejected") != "0" {
		t.Fatalf("the node did not take all 6 CSV lines:\n%s", r)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 {
		t.Fatalf("%d import bodies recorded, want 2", len(bodies))
	}
	for _, b := range bodies {
		if strings.Contains(b, "private-uploads") || strings.Contains(b, "file") || strings.Contains(b, dir) {
			t.Errorf("the import body carries a path:\n%s", b)
		}
		if strings.Count(b, "\n") < 6 {
			t.Errorf("lines went missing:\n%s", b)
		}
	}
}

// FuzzStripFileMember: whatever the line, the result is the line itself,
// or its leading JSON object with the same members but the file ones,
// followed by the same bytes as the object was (the node refuses a line
// with more after its object, and so nothing of the path is sent).
func FuzzStripFileMember(f *testing.F) {
	f.Add([]byte(`{"algo":"md5","value":"ab","file":"/x/a.jpg"}` + "\n"))
	f.Add([]byte(`{"file":1,"file":{"a":[1,"file"]}}`))
	f.Add([]byte(`{"\u0066ile":"x" , "algo":"sha1"}`))
	f.Add([]byte(`not json file`))
	f.Add([]byte(`{"file":[]}0`))
	first := func(b []byte) (map[string]json.RawMessage, []byte, error) {
		var m map[string]json.RawMessage
		d := json.NewDecoder(bytes.NewReader(b))
		err := d.Decode(&m)
		return m, b[d.InputOffset():], err
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		out := stripFileMember(line)
		if bytes.Equal(out, line) {
			return
		}
		in, inRest, err := first(line)
		if err != nil {
			t.Fatalf("changed a line that does not begin with an object: %q → %q", line, out)
		}
		got, gotRest, err := first(out)
		if err != nil {
			t.Fatalf("%q → %q: not JSON: %v", line, out, err)
		}
		if _, ok := got["file"]; ok {
			t.Fatalf("%q → %q: file left", line, out)
		}
		delete(in, "file")
		if len(in) != len(got) || !bytes.Equal(inRest, gotRest) {
			t.Fatalf("%q → %q: more changed than the file members", line, out)
		}
	})
}
