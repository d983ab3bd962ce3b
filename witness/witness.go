// Package witness makes a hashhub node a C2SP tlog-witness for its peers'
// transparency logs, and gives the other side what it needs: a client that
// collects cosignatures for the node's own log, and a k-of-n policy check
// for platforms.
//
// Why: a log signature alone cannot stop a node from showing one history to
// one platform and another history to another (a split view). A witness
// remembers the last checkpoint it cosigned for each log and cosigns a new
// one only with a consistency proof from it, so all views a witness vouched
// for lie on one line. A platform that requires cosignatures from several
// independent witnesses (say, in two jurisdictions) then gets the same
// history as everyone else, or catches the node.
//
// The protocol is tlog-witness (https://c2sp.org/tlog-witness, add-checkpoint
// and the monitoring checkpoint endpoint) with Ed25519 cosignature/v1
// signatures (https://c2sp.org/tlog-cosignature). The package is transport
// free: AddCheckpoint takes the request body and returns the status, content
// type and body the spec prescribes, so the HTTP layer is a few lines.
package witness

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/translog"
)

// Sentinel errors carried in Response.Err, so callers can count refusals by
// kind with errors.Is. Each maps to one status code.
var (
	// ErrMalformed: the body is not an add-checkpoint request, or the
	// checkpoint is not one (400).
	ErrMalformed = errors.New("witness: malformed request")
	// ErrTooLarge: the body exceeds MaxBodySize (413).
	ErrTooLarge = errors.New("witness: request too large")
	// ErrUnknownLog: this witness does not witness the checkpoint's origin
	// (404).
	ErrUnknownLog = errors.New("witness: unknown log")
	// ErrBadSignature: the checkpoint is not validly signed by the log's
	// pinned key (403).
	ErrBadSignature = errors.New("witness: checkpoint not signed by the log")
	// ErrOldSize: the old size exceeds the checkpoint's size (400).
	ErrOldSize = errors.New("witness: old size larger than checkpoint size")
	// ErrConflict: the old size is not the size this witness last cosigned
	// (409; the body carries that size).
	ErrConflict = errors.New("witness: old size does not match the last cosigned size")
	// ErrInconsistent: the checkpoint does not extend the last cosigned
	// one: bad proof, fork, or an empty tree with a non-empty root (422).
	ErrInconsistent = errors.New("witness: checkpoint inconsistent with the last cosigned one")
	// ErrInternal: storage failed or the witness is misconfigured (500).
	ErrInternal = errors.New("witness: internal error")
)

// Content types of witness responses. The 409 body's type is fixed by
// tlog-witness; the spec leaves the others open, and plain text is what
// the node's log endpoints already serve.
const (
	ContentTypeSize = "text/x.tlog.size"
	ContentTypeText = "text/plain; charset=utf-8"
)

// emptyRoot is the RFC 6962 hash of the empty tree, SHA-256 of nothing.
var emptyRoot = tlog.Hash(sha256.Sum256(nil))

// Response is an HTTP response as tlog-witness prescribes it. The HTTP
// layer writes Status, ContentType and Body as they are.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
	// Err says why a request was refused (nil on success). It wraps one of
	// the sentinel errors. It is for logs and metrics; Body already says
	// what the client may know.
	Err error
}

// Witness verifies checkpoints of the logs it knows and cosigns those
// consistent with what it cosigned before. It is safe for concurrent use:
// all state is in the Store, and its CompareAndSwap serialises updates.
type Witness struct {
	name string
	key  ed25519.PrivateKey
	id   uint32
	vkey string
	logs func(origin string) (string, bool)
	st   Store
	now  func() time.Time
}

// New returns a witness that cosigns as name with key.
//
// name is the cosigner's note key name. tlog-cosignature says it SHOULD be
// a schema-less URL naming the cosigner; use "hashhub/" + nodeID +
// "/witness": stable across hostname changes like the log origin
// "hashhub/" + nodeID, and distinct from it, so signature lines say which
// role signed.
//
// key may be the node's log key, but should be its own. Reuse is safe
// cryptographically (cosignature/v1 messages start with "cosignature/v1\n",
// never a log origin, and the key type 0x04 gives a different key ID), and
// saves publishing a second key. But signed-note says a public key SHOULD
// NOT be reused across signature types; one stolen key would then both
// fork the node's own log and cosign forks of its peers', which is exactly
// the collusion witnesses exist to prevent; and rotating the log key would
// force every platform policy naming this witness to change.
//
// logs maps a log origin to the note verifier key pinned for it (a peer's
// log key); ok is false for logs this node does not witness. now gives the
// cosignature timestamps (nil means time.Now).
func New(name string, key ed25519.PrivateKey, logs func(origin string) (verifierKey string, ok bool), st Store, now func() time.Time) (*Witness, error) {
	if !validKeyName(name) {
		return nil, fmt.Errorf("witness: name %q is not a valid note key name (no spaces or '+')", name)
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("witness: key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	pub := key.Public().(ed25519.PublicKey)
	// A key whose halves disagree would sign with one key and advertise
	// another; every cosignature would then fail to verify.
	if !bytes.Equal(ed25519.NewKeyFromSeed(key.Seed()).Public().(ed25519.PublicKey), pub) {
		return nil, errors.New("witness: key's public half does not match its seed")
	}
	if logs == nil || st == nil {
		return nil, errors.New("witness: logs and store are required")
	}
	if now == nil {
		now = time.Now
	}
	return &Witness{
		name: name,
		key:  key,
		id:   cosignatureKeyID(name, pub),
		vkey: cosignatureVerifierKey(name, pub),
		logs: logs,
		st:   st,
		now:  now,
	}, nil
}

// Name returns the witness's note key name, the name on its cosignatures.
func (w *Witness) Name() string { return w.name }

// VerifierKey is the note verifier key for this witness's cosignatures,
// "name+keyID+base64(0x04 || public key)". Peers and platforms pin it
// (NewCosignatureVerifier, PolicyWitness.VerifierKey); it is safe to publish.
func (w *Witness) VerifierKey() string { return w.vkey }

// AddCheckpoint implements tlog-witness add-checkpoint. body is the request
// body, read with a limit of MaxBodySize+1 bytes. Checks run in the order
// the spec lists them, so each failure gets the spec's status:
//
//	413 body over MaxBodySize
//	400 malformed body or checkpoint
//	404 origin not witnessed here
//	403 no valid signature by the log's pinned key, or a bad one
//	400 old size above the checkpoint size
//	409 old size ≠ last cosigned size; body "<size>\n", text/x.tlog.size
//	422 empty tree with a non-empty root, proof given for old size 0,
//	    proof not verifying, or same size with another root
//	200 one cosignature line
//
// A refused checkpoint that the log validly signed and that contradicts
// what was cosigned is kept with Store.KeepEvidence: it may prove a fork.
func (w *Witness) AddCheckpoint(body []byte) Response {
	if len(body) > MaxBodySize {
		return refuse(http.StatusRequestEntityTooLarge, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(body), MaxBodySize))
	}
	req, err := parseRequest(body)
	if err != nil {
		return refuse(http.StatusBadRequest, err)
	}
	cp, err := w.open(req.note)
	if err != nil {
		return refuse(statusOf(err), err)
	}
	if req.old > cp.size {
		return refuse(http.StatusBadRequest, fmt.Errorf("%w: old size %d, checkpoint size %d", ErrOldSize, req.old, cp.size))
	}

	storedSize, storedRoot, _, known, err := w.st.Latest(cp.origin)
	if err != nil {
		return refuse(http.StatusInternalServerError, fmt.Errorf("%w: read last cosigned checkpoint of %q: %w", ErrInternal, cp.origin, err))
	}
	if !known {
		storedSize = 0
	}
	// Two log-signed checkpoints of one size with different roots prove a
	// fork, whatever old size the request claims; keep them even when the
	// status below is a 409.
	if known && cp.size == storedSize && cp.root != storedRoot {
		reason := fmt.Sprintf("fork: size %d with root %s, cosigned root %s", cp.size, cp.root, storedRoot)
		if r, ok := w.evidence(cp, reason); !ok {
			return r
		}
		if req.old == storedSize {
			return refuse(http.StatusUnprocessableEntity, fmt.Errorf("%w: %s", ErrInconsistent, reason))
		}
	}
	if req.old != storedSize {
		return conflict(storedSize, fmt.Errorf("%w: old size %d, last cosigned %d", ErrConflict, req.old, storedSize))
	}

	if reason := checkConsistency(req, cp, storedRoot); reason != "" {
		if r, ok := w.evidence(cp, reason); !ok {
			return r
		}
		return refuse(http.StatusUnprocessableEntity, fmt.Errorf("%w: %s", ErrInconsistent, reason))
	}

	ts := w.now().Unix()
	if ts <= 0 {
		// tlog-witness: the timestamp MUST NOT be zero.
		return refuse(http.StatusInternalServerError, fmt.Errorf("%w: clock reads %d, before 1970", ErrInternal, ts))
	}
	line := w.cosign(cp.text, uint64(ts))
	// The record keeps the log's verified signature and our cosignature, as
	// the monitoring endpoint must serve them.
	stored := append(bytes.Clone(cp.canonical), line...)
	swapped, err := w.st.CompareAndSwap(cp.origin, storedSize, cp.size, cp.root, stored)
	if err != nil {
		return refuse(http.StatusInternalServerError, fmt.Errorf("%w: record checkpoint of %q: %w", ErrInternal, cp.origin, err))
	}
	if !swapped {
		// Another request moved the record since we read it; ours was
		// checked against a stale size and must not be cosigned.
		size, _, _, _, err := w.st.Latest(cp.origin)
		if err != nil {
			return refuse(http.StatusInternalServerError, fmt.Errorf("%w: reread last cosigned checkpoint of %q: %w", ErrInternal, cp.origin, err))
		}
		return conflict(size, fmt.Errorf("%w: old size %d, concurrently moved to %d", ErrConflict, req.old, size))
	}
	return Response{Status: http.StatusOK, ContentType: ContentTypeText, Body: []byte(line)}
}

// checkConsistency returns why cp does not extend the last cosigned
// checkpoint (of size req.old, root storedRoot), or "" if it does.
func checkConsistency(req *request, cp *checkpoint, storedRoot tlog.Hash) string {
	switch {
	case cp.size == 0 && cp.root != emptyRoot:
		return fmt.Sprintf("size 0 with non-empty root %s", cp.root)
	case req.old == 0 && len(req.proof) != 0:
		// The empty tree is a prefix of every tree: there is nothing to
		// prove, and the spec requires an empty proof.
		return fmt.Sprintf("old size 0 with a %d-hash proof", len(req.proof))
	case req.old == 0:
		return ""
	case req.old == cp.size && cp.root != storedRoot:
		return fmt.Sprintf("fork: size %d with root %s, cosigned root %s", cp.size, cp.root, storedRoot)
	}
	older := &translog.Checkpoint{Origin: cp.origin, Size: req.old, Root: storedRoot}
	newer := &translog.Checkpoint{Origin: cp.origin, Size: cp.size, Root: cp.root}
	if err := translog.VerifyConsistency(older, newer, req.proof); err != nil {
		return fmt.Sprintf("consistency proof from size %d to %d: %v", req.old, cp.size, err)
	}
	return ""
}

// checkpoint is a submitted checkpoint whose log signature verified.
type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
	// text is the checkpoint body, what signatures cover.
	text []byte
	// canonical is text plus the log's verified signature lines only:
	// what is kept as evidence and recorded, so junk signature lines a
	// sender adds cannot make one checkpoint into many records.
	canonical []byte
}

// open finds the log the note claims to come from, verifies its signature
// with that log's pinned key and parses the checkpoint. Statuses follow
// the spec: an unknown origin is 404 even before any signature is looked
// at, a missing or failing signature by the pinned key is 403, a malformed
// note or checkpoint is 400.
func (w *Witness) open(signed []byte) (*checkpoint, error) {
	if len(signed) > translog.MaxCheckpointSize {
		return nil, fmt.Errorf("%w: checkpoint is %d bytes, limit %d", ErrMalformed, len(signed), translog.MaxCheckpointSize)
	}
	origin, _, ok := bytes.Cut(signed, []byte("\n"))
	if !ok || !validKeyName(string(origin)) {
		return nil, fmt.Errorf("%w: checkpoint has no valid origin line", ErrMalformed)
	}
	vkey, ok := w.logs(string(origin))
	if !ok {
		return nil, fmt.Errorf("%w: origin %q", ErrUnknownLog, clip(string(origin)))
	}
	// The log's pinned key must be an Ed25519 key named after its origin
	// (translog.Signer makes them so): anything else is our configuration,
	// not the sender's fault.
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("%w: pinned key %q for origin %q: %w", ErrInternal, clip(vkey), origin, err)
	}
	if v.Name() != string(origin) {
		return nil, fmt.Errorf("%w: pinned key for origin %q is named %q", ErrInternal, origin, v.Name())
	}

	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return nil, fmt.Errorf("%w: %q: %w", ErrBadSignature, origin, err)
		}
		return nil, fmt.Errorf("%w: checkpoint is not a signed note: %w", ErrMalformed, err)
	}
	var canonical strings.Builder
	canonical.WriteString(n.Text)
	canonical.WriteString("\n")
	for _, s := range n.Sigs {
		canonical.WriteString("— " + s.Name + " " + s.Base64 + "\n")
	}

	cp := &checkpoint{origin: string(origin), text: []byte(n.Text), canonical: []byte(canonical.String())}
	// The signature verified, so this re-verification cannot fail on it;
	// translog's strict parser is what we want from it.
	parsed, err := translog.OpenCheckpoint(signed, vkey)
	if err == nil {
		cp.size, cp.root = parsed.Size, parsed.Root
		return cp, nil
	}
	// translog refuses a size-0 checkpoint with a non-empty root as
	// malformed; tlog-witness wants 422 for it, after the 400 and 409
	// checks, and it is worth keeping as evidence.
	if root, ok := emptyTreeWithRoot(n.Text, cp.origin); ok {
		cp.size, cp.root = 0, root
		return cp, nil
	}
	return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
}

// emptyTreeWithRoot recognises "origin\n0\n<root>\n", a size-0 checkpoint
// with a well-formed root, and returns that root.
func emptyTreeWithRoot(text, origin string) (tlog.Hash, bool) {
	rest, ok := strings.CutPrefix(text, origin+"\n0\n")
	if !ok || len(rest) != hashLine+1 || rest[hashLine] != '\n' {
		return tlog.Hash{}, false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(rest[:hashLine])
	if err != nil || len(b) != tlog.HashSize {
		return tlog.Hash{}, false
	}
	return tlog.Hash(b), true
}

// evidence keeps cp as evidence. If the store fails, it returns the 500 to
// send instead: refusing is still right, but an operator must hear that
// evidence was lost.
func (w *Witness) evidence(cp *checkpoint, reason string) (Response, bool) {
	if err := w.st.KeepEvidence(cp.origin, cp.canonical, reason); err != nil {
		return refuse(http.StatusInternalServerError, fmt.Errorf("%w: keep evidence for %q (%s): %w", ErrInternal, cp.origin, reason, err)), false
	}
	return Response{}, true
}

// cosign returns the cosignature/v1 line over a checkpoint body:
// "— name base64(key ID || timestamp || Ed25519 signature)\n".
func (w *Witness) cosign(text []byte, ts uint64) string {
	sig := make([]byte, 0, cosigSize)
	sig = binary.BigEndian.AppendUint32(sig, w.id)
	sig = binary.BigEndian.AppendUint64(sig, ts)
	sig = append(sig, ed25519.Sign(w.key, cosignatureMessage(ts, text))...)
	return "— " + w.name + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
}

// Checkpoint serves the monitoring endpoint
// GET <monitoring prefix>/<origin hash>/checkpoint: the last checkpoint
// cosigned for origin, with the log's signature and this witness's
// cosignature, or 404 if there is none. OriginHash maps the path segment
// back to an origin.
func (w *Witness) Checkpoint(origin string) Response {
	_, _, stored, ok, err := w.st.Latest(origin)
	if err != nil {
		return refuse(http.StatusInternalServerError, fmt.Errorf("%w: read last cosigned checkpoint of %q: %w", ErrInternal, origin, err))
	}
	if !ok {
		return refuse(http.StatusNotFound, fmt.Errorf("%w: never cosigned %q", ErrUnknownLog, origin))
	}
	return Response{Status: http.StatusOK, ContentType: ContentTypeText, Body: stored}
}

// OriginHash is how the monitoring endpoint names a log: the SHA-256 of its
// origin, lower-case hex.
func OriginHash(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return hex.EncodeToString(h[:])
}

// statusOf maps a sentinel error from open to its status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrUnknownLog):
		return http.StatusNotFound
	case errors.Is(err, ErrBadSignature):
		return http.StatusForbidden
	case errors.Is(err, ErrInternal):
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

// refuse builds an error response. Client errors say what was wrong (the
// messages quote hostile input only clipped); server errors say nothing
// beyond their kind, the detail is in Err for the logs.
func refuse(status int, err error) Response {
	msg := err.Error()
	if status >= 500 {
		msg = ErrInternal.Error()
	}
	return Response{Status: status, ContentType: ContentTypeText, Body: []byte(msg + "\n"), Err: err}
}

// conflict is the 409 response: the spec fixes its body to the last
// cosigned size and a newline, and its content type to text/x.tlog.size.
func conflict(size int64, err error) Response {
	return Response{Status: http.StatusConflict, ContentType: ContentTypeSize, Body: []byte(strconv.FormatInt(size, 10) + "\n"), Err: err}
}
