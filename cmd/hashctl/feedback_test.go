package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
)

// feedbackAs runs hashctl hashes feedback --from-matches - as the
// platform, with the match output on standard input.
func (rn *relNode) feedbackAs(stdin string, extra ...string) result {
	args := append([]string{"hashes", "feedback", "--from-matches", "-"}, extra...)
	return hashctl(strings.NewReader(stdin), append(args, "--server", rn.url,
		"--client-id", rn.platform.id, "--client-secret", rn.platform.secret)...)
}

// TestFeedbackFromMatches: a platform matches its hashes against two
// mirrors (two lists holding the same entries), a reviewer finds the
// matches of one picture to be false positives, and the match output is
// turned into feedback in one command. Each entry gets one feedback (not
// one per line or per list), keyed by the entry and not by the near
// duplicate that was queried; the dispute reaches the analysts, the entry
// leaves the next release, and running the command again adds nothing.
func TestFeedbackFromMatches(t *testing.T) {
	rn := startRelNode(t, nil, nil)
	bg := context.Background()
	pdqEntry := strings.Repeat("f0e1d2c3b4a59687", 4)
	body := fmt.Sprintf(`{"algo":"pdq","value":%q,"quality":100,"severity":"A"}
{"algo":"sha256","value":%q,"severity":"A"}
{"algo":"sha256","value":%q,"severity":"B"}
`, pdqEntry, sha("cat"), sha("real"))
	if _, err := rn.hotline.Import(bg, strings.NewReader(body), client.FormatNDJSON, int64(len(body))); err != nil {
		t.Fatal(err)
	}
	if _, err := rn.admin.CreateList(bg, client.CreateListRequest{Name: "second", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	rn.build(t)
	if _, err := rn.admin.BuildRelease(bg, "second"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "mirror")
	dir2 := filepath.Join(t.TempDir(), "second")
	ok(t, rn.pull(rn.url, dir, "--trust-on-first-use"))
	ok(t, hashctl(nil, "pull", "--list", "second", "--dir", dir2, "--trust-on-first-use", "--server", rn.url,
		"--client-id", rn.platform.id, "--client-secret", rn.platform.secret))

	// The cat picture: its sha256 from two files, and a near duplicate
	// of the PDQ entry. Two lists: six match lines, two entries.
	near := flipBits(pdqEntry, 4)
	queries := fmt.Sprintf(`{"algo":"sha256","value":%q,"file":"a.jpg"}
{"algo":"sha256","value":%q,"file":"b.jpg"}
{"algo":"pdq","value":%q,"quality":90,"file":"a.jpg"}
`, sha("cat"), sha("cat"), near)
	cat := ok(t, hashctl(strings.NewReader(queries), "match", "--dir", dir, "--dir", dir2)).stdout
	if n := len(matchLines(t, cat)); n != 6 {
		t.Fatalf("want 6 match lines (3 queries, 2 lists), got %d:\n%s", n, cat)
	}

	// With a malformed line and a hash line that is no match line: each
	// is reported with its number, nothing is sent for it, exit 2; the
	// good lines are sent.
	input := cat + "not json\n" + `{"algo":"sha256","value":"` + sha("x") + `"}` + "\n"
	r := rn.feedbackAs(input, "--kind", "false_positive", "--note", "a cat picture")
	fails(t, r, 2, "line 7:", "line 8:", "not a line of hashctl match output", "6 match line(s), 2 entr(y/ies): 2 recorded, 0 given before, 0 failed, 2 bad line(s)")
	if got := strings.Count(r.stdout, "Recorded feedback"); got != 2 {
		t.Errorf("want one feedback per entry (2), got %d:\n%s", got, r)
	}
	contains(t, r.stderr, "sha256:"+sha("cat"), "pdq:"+pdqEntry, "dispute dsp_")
	lacks(t, r.stderr, near)

	// The analysts see the disputes, opened by the platform's feedback.
	page, err := rn.hotline.Disputes(bg, "open", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	disputed := map[string]int{}
	for _, d := range page.Disputes {
		disputed[d.Entry]++
	}
	if len(page.Disputes) != 2 || disputed["sha256:"+sha("cat")] != 1 || disputed["pdq:"+pdqEntry] != 1 {
		t.Fatalf("open disputes: want one on each matched entry, got %+v", page.Disputes)
	}
	for _, d := range page.Disputes {
		if d.Reason != "a cat picture" || d.Source != "feedback" {
			t.Errorf("dispute %s: reason %q from %q, want the reviewer's note from feedback", d.ID, d.Reason, d.Source)
		}
	}

	// The next release leaves the disputed entries out: after a pull the
	// cat picture no longer matches, the other entry still does.
	rn.build(t)
	ok(t, rn.pull(rn.url, dir))
	fails(t, hashctl(strings.NewReader(queries), "match", "--dir", dir), 1)
	ok(t, hashctl(strings.NewReader(`{"algo":"sha256","value":"`+sha("real")+`"}`+"\n"), "match", "--dir", dir))

	// Running it again (even with another note) records nothing new.
	first := r.stdout
	r = ok(t, rn.feedbackAs(cat, "--kind", "false_positive", "--note", "a cat picture"))
	if r.stdout != first {
		t.Errorf("a re-run should answer with the first run's feedback:\nfirst:\n%s\nagain:\n%s", first, r.stdout)
	}
	r = ok(t, rn.feedbackAs(cat, "--kind", "false_positive", "--note", "still a cat"))
	contains(t, r.stderr, "given before (with another note); not sent again", "0 recorded, 2 given before, 0 failed")
	for _, key := range []string{"sha256:" + sha("cat"), "pdq:" + pdqEntry} {
		algo, value, _ := strings.Cut(key, ":")
		h, err := rn.hotline.History(bg, algo, value)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Feedback) != 1 || len(h.Disputes) != 1 {
			t.Errorf("%s after three runs: want 1 feedback and 1 dispute, got %d and %d", key, len(h.Feedback), len(h.Disputes))
		}
	}
	page, err = rn.hotline.Disputes(bg, "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Disputes) != 2 {
		t.Errorf("after re-runs: want the 2 disputes, got %d", len(page.Disputes))
	}

	// A confirmed match is feedback too, and opens no dispute.
	real := ok(t, hashctl(strings.NewReader(`{"algo":"sha256","value":"`+sha("real")+`"}`+"\n"), "match", "--dir", dir)).stdout
	r = ok(t, rn.feedbackAs(real, "--kind", "confirmed_match", "--json"))
	contains(t, r.stdout, `"kind":"confirmed_match"`, "sha256:"+sha("real"))
	lacks(t, r.stderr, "dispute")

	// An entry the node does not give the platform is refused: reported,
	// the other entries still get their feedback, exit 1.
	unknown := strings.ReplaceAll(real, sha("real"), sha("unknown"))
	r = rn.feedbackAs(unknown+cat, "--kind", "false_positive", "--note", "a cat picture")
	fails(t, r, 1, "sha256:"+sha("unknown")+": ", "not found", "1 failed", "feedback failed for 1 of 3")
	if got := strings.Count(r.stdout, "Recorded feedback"); got != 2 {
		t.Errorf("the entries after a refused one: want 2 feedbacks, got %d:\n%s", got, r)
	}
}

// TestFeedbackFromMatchesRefusals: bad arguments and input are refused
// before anything is sent, with exit 2.
func TestFeedbackFromMatchesRefusals(t *testing.T) {
	// No node is contacted: the server address is not listening.
	srv := []string{"--server", "http://127.0.0.1:1", "--client-id", "x", "--client-secret", "y"}
	line := `{"algo":"sha256","value":"` + sha("a") + `","list":"l","key":"sha256:` + sha("a") + `","distance":0,"version":1}` + "\n"
	run := func(stdin string, args ...string) result {
		return hashctl(strings.NewReader(stdin), append(append([]string{"hashes", "feedback"}, args...), srv...)...)
	}
	fails(t, run(line, "--from-matches", "-", "--kind", "maybe"), 2, `--kind "maybe"`)
	fails(t, run(line, "--from-matches", "-"), 2, "missing --kind")
	fails(t, run(line, "--from-matches", "-", "--kind", "false_positive", "sha256", "x"), 2, "unexpected argument")
	fails(t, run(line, "sha256", "--kind", "false_positive"), 2, "missing VALUE")
	fails(t, run("", "--from-matches", "-", "--kind", "false_positive"), 2, "no match lines")
	fails(t, run("", "--from-matches", filepath.Join(t.TempDir(), "nope"), "--kind", "false_positive"), 2, "no such file")
	r := run("{\"key\":\"sha256\",\"list\":\"l\"}\n\n{\"list\":\"l\"}\n", "--from-matches", "-", "--kind", "false_positive")
	fails(t, r, 2, "line 1:", "want ALGO:VALUE", "line 3:", "no \"key\"", "2 bad line(s)")
	// A line too long to be match output ends the run.
	fails(t, run(strings.Repeat("x", maxMatchLine+1)+"\n", "--from-matches", "-", "--kind", "false_positive"), 2, "token too long")
}
