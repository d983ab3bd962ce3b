package main

import (
	"bytes"
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
