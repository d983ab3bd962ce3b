package main

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/pdq"
)

// copyInto copies the pdq package's test picture name into dir/rel.
func copyInto(t *testing.T, dir, rel, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../pdq/testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readLines parses hashctl hash's output with the node's own import
// parser and validates every hash as the node's import does; any line it
// would refuse fails the test.
func readLines(t *testing.T, out string) []ingest.Record {
	t.Helper()
	r := ingest.NewNDJSON(strings.NewReader(out), 0)
	var recs []ingest.Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatalf("the import parser refuses hashctl hash's output: %v\n%s", err, out)
		}
		if _, err := hashes.Parse(rec.Algo, rec.Value, rec.Quality); err != nil {
			t.Fatalf("line %d: the node would refuse %s %s: %v", rec.Line, rec.Algo, rec.Value, err)
		}
		recs = append(recs, rec)
	}
}

// TestHashDirectory: a directory is walked in lexical order; each picture
// gets pdq (with quality), md5, sha1 and sha256 lines, the cryptographic
// hashes those of the file's bytes and the pdq hash the package's; a file
// that is not a picture gets only the cryptographic lines and a note on
// stderr, and the run succeeds. The output parses as an NDJSON import.
func TestHashDirectory(t *testing.T) {
	dir := t.TempDir()
	jpg := copyInto(t, dir, "b/wee.jpg", "images/wee.jpg")
	webp := copyInto(t, dir, "a/pic.webp", "formats/blue-purple-pink.lossy.webp")
	txt := filepath.Join(dir, "a/notes.txt")
	if err := os.WriteFile(txt, []byte("not a picture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := ok(t, hashctl(nil, "hash", dir))
	contains(t, r.stderr, txt+": no pdq hash: not a JPEG, PNG, GIF or WebP picture")
	recs := readLines(t, r.stdout)

	var got []string
	for _, rec := range recs {
		got = append(got, rec.Algo+" "+rec.File)
		if (rec.Algo == "pdq") != (rec.Quality != nil) {
			t.Errorf("%s line for %s: quality %v", rec.Algo, rec.File, rec.Quality)
		}
	}
	want := []string{
		"md5 " + txt, "sha1 " + txt, "sha256 " + txt,
		"pdq " + webp, "md5 " + webp, "sha1 " + webp, "sha256 " + webp,
		"pdq " + jpg, "md5 " + jpg, "sha1 " + jpg, "sha256 " + jpg,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, rec := range recs {
		b, err := os.ReadFile(rec.File)
		if err != nil {
			t.Fatal(err)
		}
		var wantValue string
		switch rec.Algo {
		case "md5":
			s := md5.Sum(b)
			wantValue = hex.EncodeToString(s[:])
		case "sha1":
			s := sha1.Sum(b)
			wantValue = hex.EncodeToString(s[:])
		case "sha256":
			s := sha256.Sum256(b)
			wantValue = hex.EncodeToString(s[:])
		case "pdq":
			res, err := pdq.HashReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			wantValue = res.Hash.String()
			if *rec.Quality != res.Quality {
				t.Errorf("%s: quality %d, want %d", rec.File, *rec.Quality, res.Quality)
			}
		}
		if rec.Value != wantValue {
			t.Errorf("%s %s: %s, want %s", rec.Algo, rec.File, rec.Value, wantValue)
		}
	}
}

// TestHashAlgoFlag: --algo restricts the output, may repeat or list, and
// an unknown algorithm is a usage error.
func TestHashAlgoFlag(t *testing.T) {
	dir := t.TempDir()
	jpg := copyInto(t, dir, "wee.jpg", "images/wee.jpg")
	r := ok(t, hashctl(nil, "hash", "--algo", "pdq", jpg))
	recs := readLines(t, r.stdout)
	if len(recs) != 1 || recs[0].Algo != "pdq" || recs[0].Value != "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d" {
		t.Errorf("--algo pdq gave %+v", recs)
	}
	r = ok(t, hashctl(nil, "hash", jpg, "--algo", "sha256", "--algo", "MD5"))
	if recs := readLines(t, r.stdout); len(recs) != 2 || recs[0].Algo != "md5" || recs[1].Algo != "sha256" {
		t.Errorf("--algo sha256 --algo MD5 gave %+v", recs)
	}
	// Only pdq asked for and the file is not a picture: no line, a note,
	// and still success (the file was read).
	txt := writeFile(t, "notes.txt", "hello\n")
	r = ok(t, hashctl(nil, "hash", "--algo", "pdq", txt))
	if r.stdout != "" {
		t.Errorf("stdout %q", r.stdout)
	}
	contains(t, r.stderr, "no pdq hash")
	fails(t, hashctl(nil, "hash", "--algo", "phash", jpg), 2, `--algo "phash"`)
	fails(t, hashctl(nil, "hash"), 2, "missing FILE|DIR")
}

// TestHashBadFiles: a missing file is reported and makes the exit status
// 1 while the other files are still hashed; a truncated picture and a
// decompression bomb get their cryptographic hashes and a note, and are
// not failures.
func TestHashBadFiles(t *testing.T) {
	dir := t.TempDir()
	jpg := copyInto(t, dir, "wee.jpg", "images/wee.jpg")
	b, _ := os.ReadFile(jpg)
	trunc := filepath.Join(dir, "truncated.jpg")
	os.WriteFile(trunc, b[:len(b)/3], 0o644)
	// A PNG header claiming 100,000 × 100,000 pixels.
	bomb := filepath.Join(dir, "bomb.png")
	ihdr := []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0, 8, 2, 0, 0, 0}
	os.WriteFile(bomb, append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), append(ihdr, crc("IHDR", ihdr)...)...), 0o644)

	r := ok(t, hashctl(nil, "hash", trunc, bomb))
	contains(t, r.stderr, trunc+": no pdq hash: not a JPEG", bomb+": no pdq hash: picture too large")
	if recs := readLines(t, r.stdout); len(recs) != 6 {
		t.Errorf("want 3 cryptographic lines each, got %d:\n%s", len(recs), r.stdout)
	}

	missing := filepath.Join(dir, "gone.jpg")
	r = hashctl(nil, "hash", missing, jpg)
	fails(t, r, 1, "gone.jpg", "could not be read")
	if recs := readLines(t, r.stdout); len(recs) != 4 || recs[0].File != jpg {
		t.Errorf("the readable file's lines are missing:\n%s", r.stdout)
	}
}

// TestHashProgressSummary: more than a few files get a summary on stderr
// (a progress bar too, on a terminal); a few files get none.
func TestHashProgressSummary(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"1", "2", "3", "4", "5", "6"} {
		copyInto(t, dir, n+".jpg", "images/q0003.jpg")
	}
	r := ok(t, hashctl(nil, "hash", "--algo", "md5", dir))
	contains(t, r.stderr, "6 file(s) hashed, 0 without a pdq hash, 0 could not be read")
	r = ok(t, hashctl(nil, "hash", "--algo", "md5", filepath.Join(dir, "1.jpg")))
	if r.stderr != "" {
		t.Errorf("stderr for one file: %q", r.stderr)
	}
}

// TestHashOutputImports: hashctl hash's output, file names and all, is
// imported by a real node with hashctl hashes import, and the picture's
// PDQ entry is then there to see.
func TestHashOutputImports(t *testing.T) {
	n := startNode(t, "NL")
	hot := analyst(t, n, "Hotline", "NL")
	dir := t.TempDir()
	copyInto(t, dir, "wee.jpg", "images/wee.jpg")
	copyInto(t, dir, "pic.png", "formats/blue-purple-pink.png")
	r := ok(t, hashctl(nil, "hash", dir))
	out := writeFile(t, "hashes.ndjson", r.stdout)
	r = ok(t, n.as(hot, "hashes", "import", out))
	lacks(t, r.stderr, "line ")
	if field(t, r.stdout, "accepted") != "8" || field(t, r.stdout, "rejected") != "0" {
		t.Fatalf("the node did not take all 8 lines:\n%s", r)
	}
	r = ok(t, n.as(hot, "hashes", "show", "pdq", "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d"))
	lacks(t, r.stdout, "wee.jpg")
}

func crc(typ string, data []byte) []byte {
	c := crc32.ChecksumIEEE(append([]byte(typ), data...))
	return []byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)}
}
