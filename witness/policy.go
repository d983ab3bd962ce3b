package witness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/hashhub/hashhub/jurisdiction"
)

// MaxPolicyWitnesses bounds a policy's witness list. note.Open checks at
// most 100 signatures per note, so more witnesses could never all count.
const MaxPolicyWitnesses = 100

// Policy errors.
var (
	// ErrBadPolicy: the policy itself is invalid or unsatisfiable.
	ErrBadPolicy = errors.New("witness: invalid policy")
	// ErrPolicyNotMet: the checkpoint's valid cosignatures are too few or
	// from too few jurisdictions.
	ErrPolicyNotMet = errors.New("witness: cosignatures do not meet the policy")
)

// Policy is a platform's witness requirement for a node's checkpoints:
// at least Quorum of the listed witnesses, from at least MinJurisdictions
// distinct jurisdictions, must have cosigned. Requiring several
// jurisdictions is what makes collusion hard: one legal order can compel
// the witnesses of one country, not of two. Example:
//
//	{"quorum": 2, "min_jurisdictions": 2, "witnesses": [
//	  {"name": "hashhub/nl-1/witness", "verifier_key": "hashhub/nl-1/witness+1a2b3c4d+BA…", "jurisdiction": "NL"},
//	  {"name": "hashhub/de-1/witness", "verifier_key": "hashhub/de-1/witness+5e6f7a8b+BA…", "jurisdiction": "DE"},
//	  {"name": "hashhub/fr-1/witness", "verifier_key": "hashhub/fr-1/witness+9c0d1e2f+BA…", "jurisdiction": "FR"}]}
type Policy struct {
	Witnesses        []PolicyWitness `json:"witnesses"`
	Quorum           int             `json:"quorum"`
	MinJurisdictions int             `json:"min_jurisdictions"`
}

// PolicyWitness is one witness a policy trusts.
type PolicyWitness struct {
	// Name is the witness's key name; empty means the one in VerifierKey,
	// anything else must equal it.
	Name string `json:"name"`
	// VerifierKey is the witness's cosignature/v1 verifier key
	// (Witness.VerifierKey).
	VerifierKey string `json:"verifier_key"`
	// Jurisdiction is the ISO 3166-1 alpha-2 country the witness's operator
	// answers to; required when the policy counts jurisdictions.
	Jurisdiction string `json:"jurisdiction"`
}

// ParsePolicy decodes and validates a JSON policy. Unknown fields are
// refused: a misspelt "min_jurisdiction" silently ignored would weaken
// the policy without anyone noticing.
func ParsePolicy(raw []byte) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPolicy, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the policy object", ErrBadPolicy)
	}
	if _, err := p.compile(); err != nil {
		return nil, err
	}
	return &p, nil
}

// compiledWitness is a validated policy witness.
type compiledWitness struct {
	name         string
	jurisdiction string
	verifier     *CosignatureVerifier
}

// compile validates p and builds its verifiers. Check compiles on every
// call rather than caching, so a Policy built or edited in code is checked
// exactly like a parsed one; parsing a few keys costs microseconds.
func (p *Policy) compile() ([]compiledWitness, error) {
	n := len(p.Witnesses)
	if n == 0 || n > MaxPolicyWitnesses {
		return nil, fmt.Errorf("%w: %d witnesses, want 1 to %d", ErrBadPolicy, n, MaxPolicyWitnesses)
	}
	if p.Quorum < 1 || p.Quorum > n {
		return nil, fmt.Errorf("%w: quorum %d, want 1 to %d (the number of witnesses)", ErrBadPolicy, p.Quorum, n)
	}
	if p.MinJurisdictions < 0 {
		return nil, fmt.Errorf("%w: min_jurisdictions %d is negative", ErrBadPolicy, p.MinJurisdictions)
	}
	out := make([]compiledWitness, 0, n)
	names := map[string]bool{}
	keys := map[string]bool{}
	jurisdictions := map[string]bool{}
	for i, pw := range p.Witnesses {
		v, err := NewCosignatureVerifier(pw.VerifierKey)
		if err != nil {
			return nil, fmt.Errorf("%w: witness %d: %w", ErrBadPolicy, i, err)
		}
		if pw.Name != "" && pw.Name != v.Name() {
			return nil, fmt.Errorf("%w: witness %d: name %q, but its key is named %q", ErrBadPolicy, i, clip(pw.Name), v.Name())
		}
		if names[v.Name()] {
			return nil, fmt.Errorf("%w: witness %q listed twice", ErrBadPolicy, v.Name())
		}
		// A cosignature/v1 signature does not cover the cosigner's name,
		// so one key listed under two names would let one witness's
		// signature be relabelled and count twice.
		if keys[string(v.pub)] {
			return nil, fmt.Errorf("%w: witness %q reuses another witness's public key", ErrBadPolicy, v.Name())
		}
		names[v.Name()] = true
		keys[string(v.pub)] = true
		j := ""
		if pw.Jurisdiction != "" || p.MinJurisdictions > 0 {
			j, err = jurisdiction.Normalize(pw.Jurisdiction)
			if err != nil {
				return nil, fmt.Errorf("%w: witness %q: %w", ErrBadPolicy, v.Name(), err)
			}
			jurisdictions[j] = true
		}
		out = append(out, compiledWitness{name: v.Name(), jurisdiction: j, verifier: v})
	}
	if p.MinJurisdictions > len(jurisdictions) {
		return nil, fmt.Errorf("%w: min_jurisdictions %d, but the witnesses span only %d", ErrBadPolicy, p.MinJurisdictions, len(jurisdictions))
	}
	return out, nil
}

// Check verifies that a signed checkpoint note carries valid cosignatures
// meeting the policy, and returns the names of the policy's witnesses that
// cosigned, in policy order (also on ErrPolicyNotMet, to say what was
// missing). It checks only cosignatures: open the note with
// translog.OpenCheckpoint first, which checks the log's own signature.
//
// Signature lines from keys not in the policy are ignored, as signed-note
// requires. A line that names a policy witness's key but does not verify
// makes the whole note invalid (signed-note: such a note is malformed).
// Cosignature timestamps are not checked against the clock: a cosignature
// says the tree was consistent as of its time, and staleness of the
// content is what the manifest's expiry is for.
func (p *Policy) Check(signed []byte) ([]string, error) {
	ws, err := p.compile()
	if err != nil {
		return nil, err
	}
	vs := make([]note.Verifier, len(ws))
	for i, w := range ws {
		vs[i] = w.verifier
	}
	n, err := note.Open(signed, note.VerifierList(vs...))
	var unverified *note.UnverifiedNoteError
	switch {
	case errors.As(err, &unverified):
		return nil, fmt.Errorf("%w: no cosignature from any of the %d witnesses, need %d", ErrPolicyNotMet, len(ws), p.Quorum)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrBadCosignature, err)
	}
	signedBy := map[string]bool{}
	for _, s := range n.Sigs {
		signedBy[s.Name] = true // note.Open matched name and key ID
	}
	var names []string
	jurisdictions := map[string]bool{}
	for _, w := range ws {
		if signedBy[w.name] {
			names = append(names, w.name)
			if w.jurisdiction != "" {
				jurisdictions[w.jurisdiction] = true
			}
		}
	}
	if len(names) < p.Quorum {
		return names, fmt.Errorf("%w: %d of %d required cosignatures", ErrPolicyNotMet, len(names), p.Quorum)
	}
	if len(jurisdictions) < p.MinJurisdictions {
		return names, fmt.Errorf("%w: cosigners from %d jurisdictions, %d required", ErrPolicyNotMet, len(jurisdictions), p.MinJurisdictions)
	}
	return names, nil
}
