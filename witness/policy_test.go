package witness

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/translog"
)

// policyFixture is a log, three witnesses (two in NL, one in DE) that have
// each cosigned its checkpoint at size 5, and a 2-of-3, 2-jurisdiction
// policy over them.
type policyFixture struct {
	log       *testLog
	cp        []byte
	witnesses map[string]*Witness
	lines     map[string]string
	policy    *Policy
}

func newPolicyFixture(t *testing.T) *policyFixture {
	t.Helper()
	f := &policyFixture{log: newTestLog(t, testOrigin, "log", "a"), witnesses: map[string]*Witness{}, lines: map[string]string{}}
	f.cp = f.log.checkpoint(5)
	var ws []string
	for _, c := range []struct{ label, jurisdiction string }{{"nl-1", "NL"}, {"nl-2", "nl"}, {"de-1", "DE"}} {
		w, _ := newTestWitness(t, c.label, f.log)
		f.witnesses[c.label] = w
		f.lines[c.label] = mustAdd(t, w, f.log.body(0, 5))
		ws = append(ws, fmt.Sprintf(`{"name": %q, "verifier_key": %q, "jurisdiction": %q}`, w.Name(), w.VerifierKey(), c.jurisdiction))
	}
	raw := `{"quorum": 2, "min_jurisdictions": 2, "witnesses": [` + strings.Join(ws, ",") + `]}`
	p, err := ParsePolicy([]byte(raw))
	if err != nil {
		t.Fatalf("ParsePolicy: %v\n%s", err, raw)
	}
	f.policy = p
	return f
}

// cosigned returns the checkpoint with the labelled witnesses' lines.
func (f *policyFixture) cosigned(t *testing.T, labels ...string) []byte {
	t.Helper()
	var lines []string
	for _, l := range labels {
		lines = append(lines, f.lines[l])
	}
	out, err := AppendCosignatures(f.cp, lines)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPolicyCheck(t *testing.T) {
	f := newPolicyFixture(t)
	name := func(label string) string { return f.witnesses[label].Name() }

	for _, c := range []struct {
		labels []string
		want   []string
		ok     bool
	}{
		{[]string{"nl-1", "de-1"}, []string{name("nl-1"), name("de-1")}, true},
		{[]string{"de-1", "nl-2"}, []string{name("nl-2"), name("de-1")}, true},
		{[]string{"nl-1", "nl-2", "de-1"}, []string{name("nl-1"), name("nl-2"), name("de-1")}, true},
		// Two witnesses, one jurisdiction: quorum met, jurisdictions not.
		{[]string{"nl-1", "nl-2"}, []string{name("nl-1"), name("nl-2")}, false},
		{[]string{"de-1"}, []string{name("de-1")}, false},
		{nil, nil, false},
	} {
		t.Run(strings.Join(c.labels, "+"), func(t *testing.T) {
			signed := f.cosigned(t, c.labels...)
			// As a platform would: the log's key first, then the policy.
			if _, err := translog.OpenCheckpoint(signed, f.log.signer.VerifierKey()); err != nil {
				t.Fatal(err)
			}
			got, err := f.policy.Check(signed)
			if !slices.Equal(got, c.want) {
				t.Errorf("cosigners %q, want %q", got, c.want)
			}
			if c.ok && err != nil {
				t.Errorf("Check: %v", err)
			}
			if !c.ok && !errors.Is(err, ErrPolicyNotMet) {
				t.Errorf("Check: %v, want ErrPolicyNotMet", err)
			}
		})
	}
}

func TestPolicyCheckRefusesForgeries(t *testing.T) {
	f := newPolicyFixture(t)

	// A witness outside the policy does not count, whatever its name.
	outsider, _ := newTestWitness(t, "outsider", f.log)
	outLine := mustAdd(t, outsider, f.log.body(0, 5))
	signed, err := AppendCosignatures(f.cp, []string{f.lines["nl-1"], outLine})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.policy.Check(signed); !errors.Is(err, ErrPolicyNotMet) || len(got) != 1 {
		t.Errorf("outsider counted: %q %v", got, err)
	}

	// A cosignature over another checkpoint, moved onto this one.
	other := f.log.checkpoint(6)
	de := f.witnesses["de-1"]
	deOther := mustAdd(t, mustFreshWitness(t, de), f.log.body(0, 6))
	moved, err := AppendCosignatures(f.cp, []string{f.lines["nl-1"], deOther})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.policy.Check(moved); !errors.Is(err, ErrBadCosignature) {
		t.Errorf("cosignature of another checkpoint: %v, want ErrBadCosignature", err)
	}
	if _, err := f.policy.Check(append(bytes.Clone(other), deOther...)); !errors.Is(err, ErrPolicyNotMet) {
		t.Errorf("it is valid on its own checkpoint, but one is not a quorum: %v", err)
	}

	// A line relabelled with another policy witness's name fails its key ID
	// and is ignored, so it cannot count twice.
	nl1 := f.lines["nl-1"]
	relabelled := strings.Replace(nl1, f.witnesses["nl-1"].Name(), f.witnesses["de-1"].Name(), 1)
	if got, err := f.policy.Check(f.cosignedLines(t, nl1, relabelled)); !errors.Is(err, ErrPolicyNotMet) || len(got) != 1 {
		t.Errorf("relabelled cosignature: %q %v", got, err)
	}
	// Garbage under a policy witness's key ID makes the note invalid.
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(f.lines["de-1"], "— "+de.Name()+" "), "\n"))
	raw[30] ^= 1
	broken := "— " + de.Name() + " " + base64.StdEncoding.EncodeToString(raw) + "\n"
	if _, err := f.policy.Check(f.cosignedLines(t, nl1, broken)); !errors.Is(err, ErrBadCosignature) {
		t.Errorf("broken cosignature: %v, want ErrBadCosignature", err)
	}
}

func (f *policyFixture) cosignedLines(t *testing.T, lines ...string) []byte {
	t.Helper()
	out := bytes.Clone(f.cp)
	for _, l := range lines {
		out = append(out, l...)
	}
	return out
}

// mustFreshWitness is w's name and key over a new, empty store.
func mustFreshWitness(t *testing.T, w *Witness) *Witness {
	t.Helper()
	fresh, err := New(w.name, w.key, w.logs, NewMemStore(), w.now)
	if err != nil {
		t.Fatal(err)
	}
	return fresh
}

func TestParsePolicyRefuses(t *testing.T) {
	l := newTestLog(t, testOrigin, "log", "a")
	a, _ := newTestWitness(t, "a", l)
	b, _ := newTestWitness(t, "b", l)
	// b's key under a third name: one key counted twice.
	sameKey, err := New("hashhub/c/witness", b.key, b.logs, NewMemStore(), nil)
	if err != nil {
		t.Fatal(err)
	}
	wj := func(w *Witness, j string) string {
		return fmt.Sprintf(`{"verifier_key": %q, "jurisdiction": %q}`, w.VerifierKey(), j)
	}
	two := wj(a, "NL") + "," + wj(b, "DE")
	for desc, raw := range map[string]string{
		"not json":               `quorum: 2`,
		"unknown field":          `{"quorum": 1, "min_jurisdiction": 2, "witnesses": [` + two + `]}`,
		"trailing data":          `{"quorum": 1, "witnesses": [` + two + `]} {}`,
		"no witnesses":           `{"quorum": 1, "witnesses": []}`,
		"quorum 0":               `{"quorum": 0, "witnesses": [` + two + `]}`,
		"quorum above n":         `{"quorum": 3, "witnesses": [` + two + `]}`,
		"negative jurisdictions": `{"quorum": 1, "min_jurisdictions": -1, "witnesses": [` + two + `]}`,
		"unsatisfiable":          `{"quorum": 2, "min_jurisdictions": 3, "witnesses": [` + two + `]}`,
		"same jurisdiction":      `{"quorum": 2, "min_jurisdictions": 2, "witnesses": [` + wj(a, "NL") + "," + wj(b, "nl") + `]}`,
		"missing jurisdiction":   `{"quorum": 1, "min_jurisdictions": 1, "witnesses": [` + wj(a, "") + `]}`,
		"bad jurisdiction":       `{"quorum": 1, "witnesses": [` + wj(a, "EU") + `]}`,
		"duplicate witness":      `{"quorum": 1, "witnesses": [` + wj(a, "NL") + "," + wj(a, "DE") + `]}`,
		"one key, two names":     `{"quorum": 2, "witnesses": [` + wj(b, "NL") + "," + wj(sameKey, "DE") + `]}`,
		"name mismatch":          `{"quorum": 1, "witnesses": [{"name": "hashhub/x/witness", "verifier_key": "` + a.VerifierKey() + `"}]}`,
		"plain Ed25519 key":      `{"quorum": 1, "witnesses": [{"verifier_key": "` + l.signer.VerifierKey() + `"}]}`,
	} {
		if _, err := ParsePolicy([]byte(raw)); !errors.Is(err, ErrBadPolicy) {
			t.Errorf("%s: %v, want ErrBadPolicy", desc, err)
		}
	}
	// Names may be left out; jurisdictions may be left out when not counted.
	p, err := ParsePolicy([]byte(`{"quorum": 1, "witnesses": [{"verifier_key": "` + a.VerifierKey() + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	line := mustAdd(t, mustFreshWitness(t, a), l.body(0, 3))
	if got, err := p.Check(append(l.checkpoint(3), line...)); err != nil || !slices.Equal(got, []string{a.Name()}) {
		t.Errorf("Check: %q %v", got, err)
	}
	// A Policy built in code is validated by Check too.
	if _, err := (&Policy{Quorum: 1}).Check(l.checkpoint(3)); !errors.Is(err, ErrBadPolicy) {
		t.Errorf("empty policy: %v", err)
	}
}
