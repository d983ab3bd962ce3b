package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/translog"
)

// Release artifacts are read as raw bytes, because what a client verifies
// is the exact bytes the node signed, and with a size limit each, because
// a node (or anything between it and the client) is untrusted until those
// bytes have been checked: a hostile answer must not be able to make the
// client buffer gigabytes before refusing it.
const (
	// MaxManifest bounds a manifest.json.
	MaxManifest = release.MaxManifestSize
	// MaxSignature bounds a manifest.sig: a base64 DER ECDSA P-256
	// signature is under 100 bytes.
	MaxSignature = 1 << 10
	// MaxCheckpoint bounds a signed checkpoint note.
	MaxCheckpoint = translog.MaxCheckpointSize
	// MaxProofHashes bounds an inclusion or consistency proof.
	MaxProofHashes = translog.MaxProofHashes
	// maxSmallJSON bounds the small JSON answers (keys, latest, proofs).
	maxSmallJSON = 64 << 10
)

// ErrTooLarge is returned when an answer is larger than its limit.
var ErrTooLarge = errors.New("answer larger than allowed")

// Keys is the node's published verification keys (GET /v1/keys). A
// client pins them out of band before its first pull; fetching them from
// the node it is about to verify is trust on first use.
type Keys struct {
	Node           string `json:"node"`
	ReleaseKeyPEM  string `json:"release_key_pem"`
	ReleaseKeyID   string `json:"release_key_id"`
	LogVerifierKey string `json:"log_verifier_key"`
	LogOrigin      string `json:"log_origin"`
	NodeKeyPEM     string `json:"node_key_pem"`
	// WitnessKey verifies the node's cosignatures of its peers' logs.
	WitnessKey string `json:"witness_verifier_key"`
	// Rotations lead from earlier release keys to the current one.
	Rotations []release.SignedRotation `json:"rotations"`
}

// LatestRelease points at a list's newest version. Nothing in it is
// signed: a client treats Latest only as the version to ask for, and
// trusts what the signed manifest of that version says.
type LatestRelease struct {
	List    string `json:"list"`
	Latest  uint64 `json:"latest"`
	Entries uint64 `json:"entries"`
	// OldestDelta is the oldest version whose single-step delta the node
	// still keeps; a client further behind starts from the snapshot.
	OldestDelta uint64 `json:"oldest_delta"`
	Manifest    string `json:"manifest"`
	Signature   string `json:"signature"`
	Snapshot    string `json:"snapshot"`
	// SnapshotVersion, in a published tree, is the newest version with a
	// snapshot (a tree keeps one every so many versions, not the latest's
	// always); 0 from a node, whose snapshot is always the latest's.
	SnapshotVersion uint64 `json:"snapshot_version,omitempty"`
}

// Keys reads the node's public keys.
func (c *Client) Keys(ctx context.Context) (*Keys, error) {
	var k Keys
	if err := c.getJSON(ctx, "/v1/keys", nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// ReleaseKeyPEM reads the release public key as a PEM file, the form
// cosign and openssl take.
func (c *Client) ReleaseKeyPEM(ctx context.Context) ([]byte, error) {
	return c.getBytes(ctx, "/v1/keys/release.pem", nil, "application/x-pem-file", 16<<10)
}

// BuildRelease publishes the next version of a list (admin) and returns
// its manifest as the node describes it (unverified).
func (c *Client) BuildRelease(ctx context.Context, list string) (*release.Manifest, error) {
	var out release.Manifest
	_, err := c.do(ctx, call{method: http.MethodPost, path: listPath(list) + "/releases", creates: true}, &out)
	return ptr(&out, err)
}

// LatestRelease reads which version of a list is the newest.
func (c *Client) LatestRelease(ctx context.Context, list string) (*LatestRelease, error) {
	var out LatestRelease
	if err := c.getJSON(ctx, listPath(list)+"/releases/latest", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Manifest reads a version's manifest: the exact bytes that were signed
// and logged.
func (c *Client) Manifest(ctx context.Context, list string, version uint64) ([]byte, error) {
	return c.getBytes(ctx, versionPath(list, version)+"/manifest.json", nil, "application/json", MaxManifest)
}

// ManifestSignature reads a version's detached signature: base64 of the
// DER ECDSA signature, as cosign and (decoded) openssl take it.
func (c *Client) ManifestSignature(ctx context.Context, list string, version uint64) ([]byte, error) {
	return c.getBytes(ctx, versionPath(list, version)+"/manifest.sig", nil, "text/plain", MaxSignature)
}

// Delta streams the changes from version from to version to as NDJSON.
// A single step (to = from+1) is byte for byte what the manifest of
// version to digests. The caller closes the body and bounds what it reads.
// A from outside the node's retention is a *Problem with Status 410.
func (c *Client) Delta(ctx context.Context, list string, from, to uint64) (io.ReadCloser, error) {
	q := url.Values{"from": {strconv.FormatUint(from, 10)}, "to": {strconv.FormatUint(to, 10)}}
	body, _, err := c.stream(ctx, listPath(list)+"/delta", q, "application/x-ndjson")
	return body, err
}

// Snapshot streams a list's whole contents at version (0: the latest),
// one canonical NDJSON line per entry, and returns the version the node
// says it is (X-Hashhub-Version). The node keeps only the latest
// snapshot: asking for an older version answers a *Problem with Status 410.
func (c *Client) Snapshot(ctx context.Context, list string, version uint64) (io.ReadCloser, uint64, error) {
	q := url.Values{}
	if version != 0 {
		q.Set("version", strconv.FormatUint(version, 10))
	}
	body, h, err := c.stream(ctx, listPath(list)+"/snapshot", q, "application/x-ndjson")
	if err != nil {
		return nil, 0, err
	}
	v, perr := strconv.ParseUint(h.Get("X-Hashhub-Version"), 10, 64)
	if perr != nil {
		body.Close()
		return nil, 0, fmt.Errorf("snapshot of %q: the node sent no valid X-Hashhub-Version header", list)
	}
	return body, v, nil
}

// Checkpoint reads the transparency log's signed checkpoint (a signed
// note; verify it with translog.OpenCheckpoint).
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) {
	return c.getBytes(ctx, "/v1/log/checkpoint", nil, "text/plain", MaxCheckpoint)
}

// InclusionProof reads the proof that log leaf index is in the tree of
// the given size.
func (c *Client) InclusionProof(ctx context.Context, index, size int64) ([]tlog.Hash, error) {
	var out struct {
		Index int64    `json:"index"`
		Size  int64    `json:"size"`
		Proof []string `json:"proof"`
	}
	q := url.Values{"index": {strconv.FormatInt(index, 10)}, "size": {strconv.FormatInt(size, 10)}}
	if err := c.getJSON(ctx, "/v1/log/proof/inclusion", q, &out); err != nil {
		return nil, err
	}
	if out.Index != index || out.Size != size {
		return nil, fmt.Errorf("inclusion proof: asked for leaf %d in size %d, the node answered for leaf %d in size %d", index, size, out.Index, out.Size)
	}
	return decodeProof(out.Proof)
}

// ConsistencyProof reads the proof that the log's tree of size old is a
// prefix of its tree of size new.
func (c *Client) ConsistencyProof(ctx context.Context, old, new int64) ([]tlog.Hash, error) {
	var out struct {
		Old   int64    `json:"old"`
		New   int64    `json:"new"`
		Proof []string `json:"proof"`
	}
	q := url.Values{"old": {strconv.FormatInt(old, 10)}, "new": {strconv.FormatInt(new, 10)}}
	if err := c.getJSON(ctx, "/v1/log/proof/consistency", q, &out); err != nil {
		return nil, err
	}
	if out.Old != old || out.New != new {
		return nil, fmt.Errorf("consistency proof: asked for %d→%d, the node answered for %d→%d", old, new, out.Old, out.New)
	}
	return decodeProof(out.Proof)
}

func decodeProof(enc []string) ([]tlog.Hash, error) {
	p, err := translog.DecodeProof(enc)
	if err != nil {
		return nil, fmt.Errorf("the node's proof: %w", err)
	}
	return p, nil
}

func listPath(list string) string { return "/v1/lists/" + segment(list) }

func versionPath(list string, v uint64) string {
	return listPath(list) + "/releases/" + strconv.FormatUint(v, 10)
}

// getJSON reads a small JSON answer, bounded like every release read.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	raw, err := c.getBytes(ctx, path, q, "application/json", maxSmallJSON)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the node's answer to GET %s is not the JSON expected: %w", path, err)
	}
	return nil
}

// getBytes reads a whole answer of at most limit bytes, with the same
// retries as every read (a GET is always safe to repeat).
func (c *Client) getBytes(ctx context.Context, path string, q url.Values, accept string, limit int64) ([]byte, error) {
	return c.getBytesWithin(ctx, c.timeout, path, q, accept, limit)
}

// getBytesWithin is getBytes with each attempt bounded by timeout (not
// positive: unbounded) instead of the client's timeout.
func (c *Client) getBytesWithin(ctx context.Context, timeout time.Duration, path string, q url.Values, accept string, limit int64) ([]byte, error) {
	var out []byte
	err := c.retryGet(ctx, func(pctx context.Context) (bool, time.Duration, error) {
		ctx := pctx
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(pctx, timeout)
			defer cancel()
		}
		timedOut := func(err error) bool {
			return errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrStalled) && pctx.Err() == nil
		}
		resp, retry, after, err := c.open(ctx, path, q, accept)
		if timedOut(err) {
			return true, 0, c.noAnswer(timeout)
		}
		if err != nil {
			return retry, after, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if timedOut(err) {
			return true, 0, c.noAnswer(timeout)
		}
		if err != nil {
			return true, 0, &NetError{Server: c.server, Err: fmt.Errorf("reading the answer to GET %s: %w", path, err)}
		}
		if int64(len(b)) > limit {
			return false, 0, fmt.Errorf("GET %s: %w: more than %d bytes", path, ErrTooLarge, limit)
		}
		out = b
		return false, 0, nil
	})
	return out, err
}

// stream opens a streamed answer, retrying until the headers of a 2xx
// arrive. Reading the body is the caller's: a broken body is not retried,
// since part of it may already be consumed. The per-attempt timeout
// covers only the wait for the headers.
func (c *Client) stream(ctx context.Context, path string, q url.Values, accept string) (io.ReadCloser, http.Header, error) {
	var body io.ReadCloser
	var header http.Header
	err := c.retryGet(ctx, func(ctx context.Context) (bool, time.Duration, error) {
		actx, cancel := context.WithCancel(ctx)
		var timer *time.Timer
		if c.timeout > 0 {
			timer = time.AfterFunc(c.timeout, cancel)
		}
		resp, retry, after, err := c.open(actx, path, q, accept)
		if timer != nil && !timer.Stop() {
			// The timer fired: whatever came back was cut off by it.
			if err == nil {
				resp.Body.Close()
			}
			retry, after, err = true, 0, c.noAnswer(c.timeout)
		}
		if err != nil {
			cancel()
			return retry, after, err
		}
		body, header = &cancelBody{ReadCloser: resp.Body, cancel: cancel}, resp.Header
		return false, 0, nil
	})
	return body, header, err
}

// open sends one GET and returns a 2xx response with its body open, or the
// error with whether a retry may cure it and the Retry-After.
func (c *Client) open(ctx context.Context, path string, q url.Values, accept string) (*http.Response, bool, time.Duration, error) {
	u := c.server + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, 0, err
	}
	req.Header.Set("Accept", accept+", application/problem+json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, retryable(err, true), 0, c.transportError(err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, false, 0, nil
	}
	defer resp.Body.Close()
	p := readProblem(resp)
	after := retryAfter(resp)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return nil, after <= MaxRetryAfter, after, p
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return nil, true, 0, p
	}
	return nil, false, 0, p
}

// retryGet runs attempt up to c.tries times with the client's backoff.
func (c *Client) retryGet(ctx context.Context, attempt func(context.Context) (retry bool, after time.Duration, err error)) error {
	wait := c.backoff
	for n := 1; ; n++ {
		retry, after, err := attempt(ctx)
		if err == nil {
			return nil
		}
		if !retry || n >= c.tries || ctx.Err() != nil {
			return err
		}
		d := jitter(wait)
		if after > 0 {
			d = after
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
		wait *= 2
	}
}
