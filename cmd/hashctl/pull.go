package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/mirror"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/witness"
)

// clock is the time manifests' expiry is judged at. Tests move it; there
// is deliberately no flag for it, since a clock set back would accept a
// frozen list.
var clock = time.Now

// cmdPull pulls a list's releases into a local mirror, verifying each.
func cmdPull(e *env, args []string) error {
	fs := e.flags()
	list := fs.String("list", "", "the list to mirror")
	dir := fs.String("dir", "", "`DIR` of the mirror; the first pull creates it, later pulls use its pinned keys and its server")
	keyFile := fs.String("key", "", "PEM `FILE` of the node's release key, obtained out of band, to pin on the first pull")
	logKey := fs.String("log-key", "", "the node's log verifier `KEY` (name+hash+base64), obtained out of band, to pin on the first pull")
	policyFile := fs.String("witness-policy", "", "JSON `FILE` naming witnesses (name, verifier_key, jurisdiction), the quorum and min_jurisdictions a checkpoint's cosignatures must meet")
	maxBytes := fs.Int64("max-bytes", mirror.DefaultMaxBytes, "the most `BYTES` one delta or snapshot may have, whatever its signed manifest says (a snapshot is also bounded by its entry count)")
	batch := fs.Int("batch", mirror.DefaultBatch, "the most snapshot `LINES` one transaction writes when a snapshot is loaded (bounds memory; an interrupted load resumes from the last batch)")
	from := fs.String("from", "", "pull from a published tree at `URL` (http://, https:// or file://: hashhub publish's output served by any web server; or s3://bucket/prefix, read with the S3 endpoint and key of the environment: AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY…) instead of the node, with the same checks; the node (--server), if reachable, is asked whether the tree is behind")
	var witnesses listFlag
	fs.Var(&witnesses, "witness", "with --from: also compare the tree's checkpoint with the last one the node at `URL` cosigned as a witness of the log (comma-separated or repeated; believed only if the log's pinned key signed it)")
	failBehind := fs.Bool("fail-if-behind", false, "with --from: exit with status 3 when the node or a witness shows the tree is behind (what was verified is still kept); without it, a warning")
	tofu := fs.Bool("trust-on-first-use", false, "on the first pull, pin whatever keys the node serves at /v1/keys (their fingerprints are printed); later pulls use the pinned keys")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.need("list", *list, "dir", *dir); err != nil {
		return err
	}
	if *maxBytes <= 0 {
		return e.usagef("--max-bytes must be positive")
	}
	if *batch <= 0 {
		return e.usagef("--batch must be positive")
	}
	if *from == "" && (len(witnesses) > 0 || *failBehind) {
		return e.usagef("--witness and --fail-if-behind check a published tree: use them with --from")
	}
	var policy *witness.Policy
	if *policyFile != "" {
		raw, err := os.ReadFile(*policyFile)
		if err != nil {
			return e.usagef("--witness-policy: %v", err)
		}
		if policy, err = witness.ParsePolicy(raw); err != nil {
			return e.usagef("--witness-policy %s: %v", *policyFile, err)
		}
	}
	var pem []byte
	if *keyFile != "" {
		var err error
		if pem, err = os.ReadFile(*keyFile); err != nil {
			return e.usagef("--key: %v", err)
		}
	}

	exists := mirror.Exists(*dir)
	if exists {
		if err := e.checkMirror(*dir, *list, pem, *logKey); err != nil {
			return err
		}
	} else {
		switch {
		case *tofu && (pem != nil || *logKey != ""):
			return e.usagef("pin the keys with --key and --log-key, or trust them on first use, not both")
		case !*tofu && (pem == nil || *logKey == ""):
			return e.usagef("%s holds no mirror yet: pin the node's keys with --key FILE and --log-key KEY "+
				"(obtained from the node's operator), or pass --trust-on-first-use", *dir)
		}
	}
	var src interface {
		mirror.Source
		mirror.KeySource
		Server() string
	}
	var server string
	if *from != "" {
		st, err := client.NewStatic(*from, userAgent())
		if err != nil {
			return e.usagef("--from: %v", err)
		}
		src = st
		if server, err = e.nodeServer(); err != nil {
			return err
		}
	} else {
		cl, err := e.client()
		if err != nil {
			return err
		}
		src, server = cl, cl.Server()
	}
	if !exists {
		if *tofu {
			k, err := src.Keys(e.ctx)
			if err != nil {
				return fmt.Errorf("fetch the node's keys: %w", err)
			}
			pem, *logKey = []byte(k.ReleaseKeyPEM), k.LogVerifierKey
			if err := e.warnTOFU(pem, k); err != nil {
				return err
			}
		}
	}
	// A first pull that verifies nothing keeps no mirror: one left behind
	// would pin this list name and these keys, and a pull with corrected
	// flags would be refused as another mirror's.
	var discard func()
	var err error
	if !exists {
		if discard, err = newFiles(*dir); err != nil {
			return err
		}
		if err := mirror.Init(*dir, server, *list, pem, *logKey); err != nil {
			discard()
			return err
		}
	}
	m, err := mirror.Open(*dir)
	if err != nil {
		return err
	}
	defer m.Close()
	progress := func(s string) { fmt.Fprintf(e.stderr, "  %s\n", s) }
	m.WitnessPolicy = policy
	m.MaxBytes = *maxBytes
	m.Batch = *batch
	res, perr := m.Pull(e.ctx, src, clock(), progress)
	var behind *behindInfo
	if perr == nil && *from != "" {
		behind = e.checkBehind(m, server, witnesses, res)
	}
	if perr != nil && discard != nil && (res == nil || res.Version == 0) {
		m.Close()
		discard()
		return &hinted{err: fmt.Errorf("pull: %w", perr),
			hint: fmt.Sprintf("the first pull verified nothing, so %s keeps no mirror: check --list and the keys, then pull again", *dir)}
	}
	if res == nil {
		return perr
	}
	if e.g.json.v {
		b, err := json.Marshal(struct {
			*mirror.Result
			Behind *behindInfo `json:"behind,omitempty"`
		}{res, behind})
		if err != nil {
			return err
		}
		if err := writeJSON(e.stdout, b); err != nil {
			return err
		}
	} else {
		printPull(e.stdout, *dir, res)
	}
	if perr != nil {
		return &hinted{err: fmt.Errorf("pull: %w", perr),
			hint: fmt.Sprintf("nothing of the refused step was kept: %s holds version %d, as after its last good step", *dir, res.Version)}
	}
	if behind != nil && *failBehind {
		return &hinted{err: fmt.Errorf("%w: the %s shows log size %d, the tree's checkpoint %d", errBehind, behind.From, behind.NewestSize, behind.TreeSize),
			hint: fmt.Sprintf("what the tree holds was verified and kept (%s version %d); pull from the node, or wait for the tree to be published again", res.List, res.Version)}
	}
	return nil
}

// errBehind: a pull from a published tree with --fail-if-behind found the
// tree behind the log (exit status 3).
var errBehind = errors.New("the published tree is behind")

// behindInfo says who showed that a published tree is behind.
type behindInfo struct {
	TreeSize   int64  `json:"tree_size"`
	NewestSize int64  `json:"newest_size"`
	From       string `json:"from"` // "node URL" or "witness URL"
}

// newFiles notes what dir holds now and returns a function that removes
// whatever was added since (and dir itself, had it not existed).
func newFiles(dir string) (func(), error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return func() { os.RemoveAll(dir) }, nil
	}
	if err != nil {
		return nil, err
	}
	had := map[string]bool{}
	for _, de := range des {
		had[de.Name()] = true
	}
	return func() {
		des, _ := os.ReadDir(dir)
		for _, de := range des {
			if !had[de.Name()] {
				os.RemoveAll(filepath.Join(dir, de.Name()))
			}
		}
	}, nil
}

// checkMirror refuses a pull whose flags disagree with the mirror in dir:
// another list, another server, or keys other than the pinned ones.
func (e *env) checkMirror(dir, list string, pem []byte, logKey string) error {
	m, err := mirror.OpenReadOnly(dir)
	if err != nil {
		return err
	}
	defer m.Close()
	st, err := m.State()
	if err != nil {
		return err
	}
	if st.List != list {
		return e.usagef("%s mirrors list %q, not %q: use another --dir", dir, st.List, list)
	}
	server := e.g.server.v
	if !e.g.server.set {
		server = os.Getenv(envServer)
	}
	if server == "" {
		// The mirror remembers where it pulls from.
		e.g.server = strFlag{v: st.Server, set: true}
	} else if s, err := client.NormalizeServer(server); err != nil || s != st.Server {
		return e.usagef("%s mirrors %q from %s, not %s: use another --dir", dir, list, st.Server, server)
	}
	if err := m.CheckPins(pem, logKey); err != nil {
		return &hinted{err: fmt.Errorf("refused: %w", err),
			hint: "a mirror's keys are pinned when it is made; to follow a node's new keys, pull into a new --dir"}
	}
	return nil
}

// warnTOFU says loudly that the keys were not checked, and shows their
// fingerprints so they can be compared with the operator's afterwards.
func (e *env) warnTOFU(pem []byte, k *client.Keys) error {
	v, err := release.NewVerifier(pem)
	if err != nil {
		return fmt.Errorf("the node's release key: %w", err)
	}
	if k.ReleaseKeyID != "" && k.ReleaseKeyID != v.KeyID() {
		return fmt.Errorf("the node's release key has id %s but it says %s", v.KeyID(), k.ReleaseKeyID)
	}
	fmt.Fprintf(e.stderr, `hashctl: warning: trusting the keys the node serves, unchecked (--trust-on-first-use):
  release key: %s (SHA-256 of its DER public key)
  log key:     %s
  Compare them with what the node's operator publishes. From now on this mirror refuses
  anything not signed by these keys.
`, v.KeyID(), k.LogVerifierKey)
	return nil
}

func printPull(w io.Writer, dir string, r *mirror.Result) {
	switch {
	case r.UpToDate:
		fmt.Fprintf(w, "%s in %s is up to date at version %d\n", r.List, dir, r.Version)
	case len(r.Steps) == 0:
		fmt.Fprintf(w, "Pulled nothing into %s: %s stays at version %d\n", dir, r.List, r.Version)
	default:
		fmt.Fprintf(w, "Pulled %s into %s: version %d → %d\n", r.List, dir, r.From, r.Version)
	}
	for _, s := range r.Steps {
		if s.Snapshot {
			fmt.Fprintf(w, "  version %d: loaded from the snapshot, %d entries\n", s.Version, s.Entries)
			continue
		}
		fmt.Fprintf(w, "  version %d: %d added, %d removed, %d updated, %d entries\n", s.Version, s.Adds, s.Removes, s.Updates, s.Entries)
	}
	if r.Version == 0 {
		return
	}
	fields(w, "version", strconv.FormatUint(r.Version, 10),
		"changes", fmt.Sprintf("%d added, %d removed, %d updated", r.Adds, r.Removes, r.Updates),
		"entries", strconv.FormatUint(r.Entries, 10),
		"set_root", r.SetRoot,
		"checkpoint", fmt.Sprintf("log size %d", r.CheckpointSize),
		"expires", r.Expires)
}

// cmdVerify re-checks a mirror without the network.
func cmdVerify(e *env, args []string) error {
	fs := e.flags()
	dir := fs.String("dir", "", "`DIR` of the mirror")
	allowExpired := fs.Bool("allow-expired", false, "accept a mirror whose newest manifest has expired (e.g. an archive); it is still reported")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.need("dir", *dir); err != nil {
		return err
	}
	rep, err := mirror.Verify(*dir, clock())
	expired := errors.Is(err, mirror.ErrExpired)
	if err != nil && !(expired && *allowExpired) {
		if expired {
			return &hinted{err: err, hint: "every other check passed; --allow-expired accepts an expired list"}
		}
		return err
	}
	if e.g.json.v {
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		return writeJSON(e.stdout, b)
	}
	fmt.Fprintf(e.stdout, "Mirror %s of %s from %s (node %s): OK\n", *dir, rep.List, rep.Server, rep.Node)
	fields(e.stdout, "version", strconv.FormatUint(rep.Version, 10),
		"chain", fmt.Sprintf("%d manifests from version %d, signatures and links checked", rep.Manifests, rep.Base),
		"entries", strconv.FormatUint(rep.Entries, 10),
		"set_root", rep.SetRoot+" (recomputed from the entries)",
		"checkpoint", fmt.Sprintf("log size %d, signature and inclusion checked", rep.CheckpointSize),
		"release_key", rep.ReleaseKeyID,
		"expires", rep.Expires)
	for _, n := range rep.Notes {
		fmt.Fprintf(e.stdout, "note: %s\n", n)
	}
	if expired {
		fmt.Fprintf(e.stderr, "hashctl: warning: %v\n", err)
	}
	return nil
}

// cmdMirrorExport writes a mirror's entries.
func cmdMirrorExport(e *env, args []string) error {
	fs := e.flags()
	dir := fs.String("dir", "", "`DIR` of the mirror")
	format := fs.String("format", mirror.ExportNDJSON, "ndjson (the node's snapshot lines) or csv")
	out := fs.String("out", "", "write to `FILE` instead of standard output")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.need("dir", *dir); err != nil {
		return err
	}
	if *format != mirror.ExportNDJSON && *format != mirror.ExportCSV {
		return e.usagef("--format: ndjson or csv")
	}
	m, err := mirror.OpenReadOnly(*dir)
	if err != nil {
		return err
	}
	defer m.Close()
	st, err := m.State()
	if err != nil {
		return err
	}
	if st.Version == 0 {
		return fmt.Errorf("%w: run hashctl pull first", mirror.ErrEmpty)
	}
	if !clock().Before(st.ExpiresTime()) {
		fmt.Fprintf(e.stderr, "hashctl: warning: version %d of %s expired at %s; pull to refresh it\n", st.Version, st.List, st.Expires)
	}
	w := e.stdout
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return e.usagef("--out: %v", err)
		}
		defer f.Close()
		w = f
	}
	if err := m.Export(w, *format); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && *out != "" {
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", *out, err)
		}
	}
	if *out != "" {
		fmt.Fprintf(e.stderr, "hashctl: wrote %d entries of %s version %d to %s\n", st.Entries, st.List, st.Version, *out)
	}
	return nil
}

// nodeServer is the node's URL as --server or the environment give it
// (the default if neither does), normalised.
func (e *env) nodeServer() (string, error) {
	server := e.g.server.v
	if !e.g.server.set {
		server = os.Getenv(envServer)
	}
	s, err := client.NormalizeServer(server)
	if err != nil {
		return "", e.usagef("%v", err)
	}
	return s, nil
}

// checkBehind asks the node, if it answers, and each witness named
// whether the log has grown past the checkpoint the published tree
// served: then the tree is behind and newer releases may exist. Expiry is
// the guard that needs no one else; this one catches a stale tree sooner.
// The node's checkpoint is checked as a pull would check it (the pinned
// log key, the witness policy, consistency with the trusted one); a
// witness's is believed only if the pinned log key signed it, so a
// forged "newer" checkpoint is refused, never taken as a sign of
// staleness. It warns and returns the newest size shown, or nil.
func (e *env) checkBehind(m *mirror.Mirror, server string, witnesses []string, res *mirror.Result) *behindInfo {
	var out *behindInfo
	see := func(size int64, from string) {
		if size > res.CheckpointSize && (out == nil || size > out.NewestSize) {
			out = &behindInfo{TreeSize: res.CheckpointSize, NewestSize: size, From: from}
		}
	}
	if cl, err := client.NewPublic(server, userAgent(), 5*time.Second); err == nil {
		size, err := m.NodeCheckpoint(e.ctx, cl)
		if err != nil {
			fmt.Fprintf(e.stderr, "hashctl: note: could not ask the node at %s whether the tree is current: %v\n", server, err)
		} else {
			see(size, "node "+server)
		}
	}
	st, err := m.State()
	if err != nil {
		return out
	}
	origin, _, _ := strings.Cut(st.LogKey, "+")
	for _, w := range witnesses {
		cl, err := client.NewPublic(w, userAgent(), 5*time.Second)
		if err != nil {
			fmt.Fprintf(e.stderr, "hashctl: note: --witness %s: %v\n", w, err)
			continue
		}
		raw, err := cl.WitnessedCheckpoint(e.ctx, origin)
		if err != nil {
			fmt.Fprintf(e.stderr, "hashctl: note: could not ask the witness at %s whether the tree is current: %v\n", cl.Server(), err)
			continue
		}
		size, err := m.SignedSize(raw)
		if err != nil {
			fmt.Fprintf(e.stderr, "hashctl: warning: refused the checkpoint of %s from the witness at %s: %v\n", origin, cl.Server(), err)
			continue
		}
		see(size, "witness "+cl.Server())
	}
	if out != nil {
		who := "the node's log has"
		if w, ok := strings.CutPrefix(out.From, "witness "); ok {
			who = "the witness at " + w + " cosigned a log of"
		}
		fmt.Fprintf(e.stderr, "hashctl: warning: the published tree is behind: %s %d entries, the tree's checkpoint %d; "+
			"%s may have newer releases than version %d\n", who, out.NewestSize, out.TreeSize, res.List, res.Version)
	}
	return out
}
