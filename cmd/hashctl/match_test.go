package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
)

// flipBits returns the PDQ hash hex with the lowest bit of each of its
// first n hex digits flipped: a near-duplicate at distance n.
func flipBits(hex string, n int) string {
	b := []byte(hex)
	for i := 0; i < n; i++ {
		v := strings.IndexByte("0123456789abcdef", b[i]) ^ 1
		b[i] = "0123456789abcdef"[v]
	}
	return string(b)
}

// invert returns the PDQ hash hex with every bit flipped: distance 256.
func invert(hex string) string {
	b := []byte(hex)
	for i := range b {
		b[i] = "0123456789abcdef"[15-strings.IndexByte("0123456789abcdef", b[i])]
	}
	return string(b)
}

func matchLines(t *testing.T, out string) []matchLine {
	t.Helper()
	var ms []matchLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var m matchLine
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		ms = append(ms, m)
	}
	return ms
}

// byKey indexes matches by the entry key they matched.
func byKey(ms []matchLine) map[string]matchLine {
	out := map[string]matchLine{}
	for _, m := range ms {
		out[m.Key] = m
	}
	return out
}

// TestMatchEndToEnd: a hotline imports a picture's hashes and a near
// duplicate of its PDQ hash at a real node, the list is released, a
// platform pulls it into a mirror, hashes the picture and matches the
// hash lines against the mirror, offline.
func TestMatchEndToEnd(t *testing.T) {
	rn := startRelNode(t, nil, nil)
	bg := context.Background()
	pic := filepath.Join("..", "..", "pdq", "testdata", "images", "bridge-1-original.jpg")
	hashed := ok(t, hashctl(nil, "hash", pic)).stdout
	var pdqValue, shaValue string
	for _, l := range strings.Split(strings.TrimSpace(hashed), "\n") {
		var h hashLine
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatal(err)
		}
		switch h.Algo {
		case "pdq":
			pdqValue = h.Value
		case "sha256":
			shaValue = h.Value
		}
	}
	if pdqValue == "" || shaValue == "" {
		t.Fatalf("hashctl hash gave no pdq or sha256 line:\n%s", hashed)
	}
	near := flipBits(pdqValue, 3)
	body := fmt.Sprintf(`{"algo":"pdq","value":%q,"quality":100,"severity":"A"}
{"algo":"pdq","value":%q,"quality":100,"severity":"B"}
{"algo":"sha256","value":%q,"severity":"A"}
`, pdqValue, near, shaValue)
	if _, err := rn.hotline.Import(bg, strings.NewReader(body), client.FormatNDJSON, int64(len(body))); err != nil {
		t.Fatal(err)
	}
	v1 := rn.build(t)
	dir := filepath.Join(t.TempDir(), "mirror")
	ok(t, rn.pull(rn.url, dir, "--trust-on-first-use"))

	// hashctl hash | hashctl match --dir: the picture, its near
	// duplicate and its sha256, each with the version and list.
	r := hashctl(strings.NewReader(hashed), "match", "--dir", dir, "--category", listName+"=baseline")
	ok(t, r)
	got := byKey(matchLines(t, r.stdout))
	want := map[string]struct {
		dist int
		sev  string
	}{"pdq:" + pdqValue: {0, "A"}, "pdq:" + near: {3, "B"}, "sha256:" + shaValue: {0, "A"}}
	if len(got) != len(want) {
		t.Fatalf("want %d matches, got:\n%s", len(want), r)
	}
	for k, w := range want {
		m, ok := got[k]
		if !ok {
			t.Fatalf("no match of %s:\n%s", k, r)
		}
		if m.Distance != w.dist || m.Severity != w.sev || m.Version != v1 || m.List != listName || m.Category != "baseline" || m.File != pic {
			t.Errorf("match of %s: %+v, want distance %d severity %s version %d list %s, file %s", k, m, w.dist, w.sev, v1, listName, pic)
		}
	}

	// Two mirrors, two lists, one index: each match names its list. The
	// same list twice is refused.
	if _, err := rn.admin.CreateList(bg, client.CreateListRequest{Name: "second", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	m2, err := rn.admin.BuildRelease(bg, "second")
	if err != nil {
		t.Fatal(err)
	}
	dir2 := filepath.Join(t.TempDir(), "second")
	ok(t, hashctl(nil, "pull", "--list", "second", "--dir", dir2, "--trust-on-first-use", "--server", rn.url,
		"--client-id", rn.platform.id, "--client-secret", rn.platform.secret))
	r = ok(t, hashctl(strings.NewReader(hashed), "match", "--dir", dir, "--dir", dir2))
	lists2 := map[string]int{}
	for _, m := range matchLines(t, r.stdout) {
		lists2[m.List]++
		if m.List == "second" && m.Version != m2.Version {
			t.Errorf("second list's match: %+v, want version %d", m, m2.Version)
		}
	}
	if lists2[listName] != 3 || lists2["second"] != 3 {
		t.Errorf("two mirrors: want 3 matches from each list, got %v:\n%s", lists2, r)
	}
	fails(t, hashctl(strings.NewReader(hashed), "match", "--dir", dir, "--dir", dir), 2, "both mirror list")

	// A tighter radius leaves out the near duplicate.
	r = ok(t, hashctl(strings.NewReader(hashed), "match", "--dir", dir, "--max-distance", "2"))
	if _, ok := byKey(matchLines(t, r.stdout))["pdq:"+near]; ok {
		t.Errorf("--max-distance 2 matched the entry at distance 3:\n%s", r)
	}

	// The same from the picture itself, hashed in memory.
	r = ok(t, hashctl(nil, "match", "--dir", dir, "--images", pic))
	if got := byKey(matchLines(t, r.stdout)); len(got) != 3 || got["pdq:"+near].File != pic {
		t.Errorf("--images: want the 3 matches with the file:\n%s", r)
	}

	// --images with a file that is not a picture: a note, and its
	// cryptographic hashes are still looked up (no match here: exit 1).
	notPic := writeFile(t, "notes.txt", "just text")
	fails(t, hashctl(nil, "match", "--dir", dir, "--images", notPic), 1, "no pdq hash")

	// CSV input, from a file.
	csv := writeFile(t, "q.csv", "algo,value,file\nsha256,"+shaValue+",x.jpg\n")
	r = ok(t, hashctl(nil, "match", "--dir", dir, csv))
	if ms := matchLines(t, r.stdout); len(ms) != 1 || ms[0].File != "x.jpg" || ms[0].Key != "sha256:"+shaValue {
		t.Errorf("csv: %s", r)
	}

	// Nothing matches: exit 1, nothing printed.
	far := fmt.Sprintf(`{"algo":"pdq","value":%q,"quality":100}`+"\n"+`{"algo":"sha256","value":%q}`+"\n", invert(pdqValue), sha("other"))
	r = hashctl(strings.NewReader(far), "match", "--dir", dir)
	fails(t, r, 1)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("no match: want no output:\n%s", r)
	}

	// A low-quality query hash is skipped, and said so, unless asked.
	low := fmt.Sprintf(`{"algo":"pdq","value":%q,"quality":10}`+"\n", pdqValue)
	fails(t, hashctl(strings.NewReader(low), "match", "--dir", dir), 1, "1 pdq hash(es) of quality below 50 not matched")
	ok(t, hashctl(strings.NewReader(low), "match", "--dir", dir, "--low-quality"))

	// A malformed line: its number on stderr, exit 2; the good lines are
	// still matched.
	bad := "{\"algo\":\"pdq\",\"value\":\"zz\"}\nnot json\n" + hashed
	r = hashctl(strings.NewReader(bad), "match", "--dir", dir)
	fails(t, r, 2, "line 1:", "line 2:", "2 bad input(s)")
	if len(matchLines(t, r.stdout)) != 3 {
		t.Errorf("the good lines after the bad ones were not matched:\n%s", r)
	}

	// Input that is not text, or CSV without a header: the run ends.
	fails(t, hashctl(strings.NewReader("\x00\x01\x02binary"), "match", "--dir", dir), 2, "not UTF-8 text")
	fails(t, hashctl(strings.NewReader("sha256,"+shaValue+"\n"), "match", "--dir", dir, "--format", "csv"), 2, "header")

	// Not a mirror, or no --dir: exit 2 with a clear error.
	fails(t, hashctl(strings.NewReader(hashed), "match", "--dir", t.TempDir()), 2, "is not a mirror")
	fails(t, hashctl(strings.NewReader(hashed), "match"), 2, "missing --dir")
	fails(t, hashctl(strings.NewReader(hashed), "match", "--dir", dir, "--max-distance", "300"), 2, "--max-distance")

	// A mirror past its manifest's expiry is refused, or with
	// --allow-expired matched with a warning.
	defer func() { clock = time.Now }()
	clock = func() time.Time { return time.Now().AddDate(1, 0, 0) }
	fails(t, hashctl(strings.NewReader(hashed), "match", "--dir", dir), 2, "expired", "--allow-expired")
	r = ok(t, hashctl(strings.NewReader(hashed), "match", "--dir", dir, "--allow-expired"))
	contains(t, r.stderr, "warning", "expired")
	clock = time.Now

	// A retraction at the node: the mirror still matches until it pulls
	// the release that drops the entry; then it no longer does.
	if _, err := rn.hotline.Retract(bg, "pdq", near, "not this picture"); err != nil {
		t.Fatal(err)
	}
	r = ok(t, hashctl(strings.NewReader(hashed), "match", "--dir", dir))
	if _, ok := byKey(matchLines(t, r.stdout))["pdq:"+near]; !ok {
		t.Fatalf("before the next pull the mirror should be unchanged:\n%s", r)
	}
	v2 := rn.build(t)
	ok(t, rn.pull(rn.url, dir))
	r = ok(t, hashctl(strings.NewReader(hashed), "match", "--dir", dir))
	got = byKey(matchLines(t, r.stdout))
	if _, ok := got["pdq:"+near]; ok || len(got) != 2 {
		t.Fatalf("after the release of version %d and a pull, the retracted entry still matches:\n%s", v2, r)
	}
	// The index is rebuilt from the mirror's current version, which
	// contains the entry too (its inclusion proof is against it).
	if got["pdq:"+pdqValue].Version != v2 {
		t.Errorf("want the mirror's version %d, which contains the entry:\n%s", v2, r)
	}
}

// TestMatchBesideSubcommands: a subcommand under match (a service, say)
// must leave hashctl match's own flags and arguments alone.
func TestMatchBesideSubcommands(t *testing.T) {
	saved := commands
	t.Cleanup(func() { commands = saved })
	ran := false
	// The real hashctl match serve is replaced by one that only notes it ran.
	commands = slices.DeleteFunc(slices.Clone(saved), func(c *command) bool { return c.name == "match serve" })
	commands = append(commands, &command{name: "match serve", summary: "test", run: func(*env, []string) error { ran = true; return nil }})
	fails(t, hashctl(nil, "match", "--dir", t.TempDir()), 2, "is not a mirror")
	fails(t, hashctl(nil, "match"), 2, "missing --dir")
	ok(t, hashctl(nil, "match", "serve"))
	if !ran {
		t.Error("hashctl match serve did not run the subcommand")
	}
}
