package setroot_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/internal/needtool"
	"github.com/hashhub/hashhub/setroot"
)

var update = flag.Bool("update", false, "rewrite testdata/vector-1000.ndjson from its generator")

// The published test vectors (docs/release-format.md, "Test vectors").
// Changing any of these changes the format: every signed manifest's root.
var vectors = []struct {
	file    string
	entries int
	root    string
}{
	{"testdata/vector-0.ndjson", 0, "90f0951505390e5d3756748a16b2845d2a14085069cc46ffbdd34a8661f1f5d5"},
	{"testdata/vector-3.ndjson", 3, "e0629b7f4030982aaad675f268d9cbe7792c66efa857eaa2a23ea200000b8746"},
	{"testdata/vector-1000.ndjson", 1000, "c03d486cd903b0a68fdf4313647734ffa6e1643dd7b5030318787c473b660002"},
}

// vector1000 generates testdata/vector-1000.ndjson. Values come from
// SHA-256 in counter mode under a fixed seed string rather than from a PRNG
// library, so anyone can regenerate the file in any language from the
// description in the docs.
func vector1000() []byte {
	algos := []struct {
		name  string
		bytes int
	}{{"md5", 16}, {"sha256", 32}, {"pdq", 32}}
	var buf bytes.Buffer
	for i := range 1000 {
		a := algos[i%3]
		v := sha256.Sum256(fmt.Appendf(nil, "hashhub setroot vector-1000 %d", i))
		fmt.Fprintf(&buf, "{\"algo\":%q,\"value\":%q}\n", a.name, hex.EncodeToString(v[:a.bytes]))
	}
	return buf.Bytes()
}

func TestVector1000MatchesGenerator(t *testing.T) {
	const path = "testdata/vector-1000.ndjson"
	want := vector1000()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from its generator; run go test -run TestVector1000 -update if the change is intended", path)
	}
}

// TestVectors checks each vector three ways: Compute, an incremental Tree
// built in random order, and the reference script.
func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(filepath.Base(v.file), func(t *testing.T) {
			entries := readSnapshot(t, v.file)

			root, n := setroot.Compute(all(entries))
			if n != v.entries || hexRoot(root) != v.root {
				t.Errorf("Compute: entries=%d set_root=%s, want entries=%d set_root=%s", n, hexRoot(root), v.entries, v.root)
			}

			s := newSet()
			rng := rand.New(rand.NewPCG(1, uint64(len(entries))))
			for _, i := range rng.Perm(len(entries)) {
				s.put(entries[i].key, entries[i].line)
			}
			if got := hexRoot(s.tree.Root()); got != v.root {
				t.Errorf("Tree: set_root=%s, want %s", got, v.root)
			}

			gotN, gotRoot := runScript(t, v.file)
			if gotN != v.entries || gotRoot != v.root {
				t.Errorf("setroot.py: entries=%d set_root=%s, want entries=%d set_root=%s", gotN, gotRoot, v.entries, v.root)
			}
		})
	}
}

// TestVectorsPublished keeps the docs and this test from drifting apart.
func TestVectorsPublished(t *testing.T) {
	doc, err := os.ReadFile("../docs/release-format.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vectors {
		if !bytes.Contains(doc, []byte(v.root)) {
			t.Errorf("docs/release-format.md does not give the root of %s (%s)", v.file, v.root)
		}
	}
}

func TestScriptRefusesRepeatedKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dup.ndjson")
	lines := "{\"algo\":\"md5\",\"value\":\"00112233445566778899aabbccddeeff\",\"severity\":\"A\"}\n" +
		"{\"algo\":\"md5\",\"value\":\"00112233445566778899aabbccddeeff\",\"severity\":\"B\"}\n"
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python(t), "../scripts/setroot.py", path).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "repeats") {
		t.Fatalf("setroot.py accepted a repeated key: err=%v output=%q", err, out)
	}
}

// TestScriptLargerSet compares the script with Compute on a set big enough
// that many buckets hold several entries, which the vectors barely exercise.
func TestScriptLargerSet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python over 100k lines")
	}
	var buf bytes.Buffer
	var entries []entry
	rng := rand.New(rand.NewPCG(7, 7))
	for range 100_000 {
		v := fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
		line := fmt.Appendf(nil, "{\"algo\":\"md5\",\"value\":%q,\"severity\":\"B\"}", v)
		entries = append(entries, entry{"md5:" + v, line})
		buf.Write(line)
		buf.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "big.ndjson")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	root, n := setroot.Compute(all(entries))
	gotN, gotRoot := runScript(t, path)
	if gotN != n || gotRoot != hexRoot(root) {
		t.Fatalf("setroot.py: entries=%d set_root=%s, Compute: entries=%d set_root=%s", gotN, gotRoot, n, hexRoot(root))
	}
}

// python finds python3. CI has it, so there its absence is a failure; a
// developer machine without it skips the cross-check.
func python(t *testing.T) string {
	t.Helper()
	return needtool.Command(t, "python3")
}

// runScript runs scripts/setroot.py and parses its two output lines.
func runScript(t *testing.T, path string) (entries int, root string) {
	t.Helper()
	cmd := exec.Command(python(t), "../scripts/setroot.py", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("setroot.py %s: %v: %s", path, err, stderr.Bytes())
	}
	if _, err := fmt.Sscanf(string(out), "entries=%d\nset_root=%s\n", &entries, &root); err != nil {
		t.Fatalf("setroot.py output %q: %v", out, err)
	}
	return entries, root
}
