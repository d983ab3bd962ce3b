package witness

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/translog"
)

// maxResponseSize bounds what the client reads from a witness: a few
// signature lines or a short error message.
const maxResponseSize = 64 << 10

// Client collects cosignatures for this node's log from one peer witness.
//
// It remembers the size the witness last cosigned, so each submission
// carries the right old size and proof. A fresh client (or one whose
// memory went stale because someone else submitted the log's checkpoints)
// starts from 0, gets a 409 with the witness's size, and retries once from
// there, as tlog-witness intends.
type Client struct {
	url      string
	vkey     string
	verifier *CosignatureVerifier
	http     *http.Client

	// mu serialises submissions to this witness: two in flight from the
	// same old size would make one of them fail with 409 for nothing.
	mu   sync.Mutex
	size int64
}

// NewClient returns a client for the witness whose submission prefix is
// submissionPrefix (requests go to submissionPrefix + "/add-checkpoint")
// and whose cosignatures verify with witnessVerifierKey. hc nil means
// http.DefaultClient; give one with a timeout.
func NewClient(submissionPrefix, witnessVerifierKey string, hc *http.Client) (*Client, error) {
	v, err := NewCosignatureVerifier(witnessVerifierKey)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(submissionPrefix, "https://") && !strings.HasPrefix(submissionPrefix, "http://") {
		return nil, fmt.Errorf("witness: submission prefix %q is not an http(s) URL", clip(submissionPrefix))
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{url: strings.TrimSuffix(submissionPrefix, "/") + "/add-checkpoint", vkey: witnessVerifierKey, verifier: v, http: hc}, nil
}

// RefusedError is a witness's answer other than 200. It unwraps to the
// sentinel error of its status (ErrConflict for 409, and so on), so callers
// can use errors.Is.
type RefusedError struct {
	Status int
	// Size is, for a 409, the size the witness last cosigned.
	Size int64
	// Message is the start of the response body.
	Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("witness: refused with %d %s: %q", e.Status, http.StatusText(e.Status), e.Message)
}

// Unwrap maps the status back to the sentinel AddCheckpoint uses for it.
func (e *RefusedError) Unwrap() error {
	switch e.Status {
	case http.StatusBadRequest:
		return ErrMalformed
	case http.StatusForbidden:
		return ErrBadSignature
	case http.StatusNotFound:
		return ErrUnknownLog
	case http.StatusConflict:
		return ErrConflict
	case http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case http.StatusUnprocessableEntity:
		return ErrInconsistent
	}
	return nil
}

// Cosign submits cp, a checkpoint of this node's log (cp.Note is what gets
// sent), and returns the witness's cosignature line after verifying it.
// prove(old) must return the consistency proof from size old to cp.Size
// (1 ≤ old ≤ cp.Size), e.g. translog.ConsistencyProof in a read
// transaction. A witness that has cosigned a larger size than cp.Size is
// reported as ErrConflict: this node cannot prove anything to it.
func (c *Client) Cosign(ctx context.Context, cp *translog.Checkpoint, prove func(old int64) (tlog.TreeProof, error)) (string, error) {
	if cp == nil {
		return "", errors.New("witness: cosign: nil checkpoint")
	}
	split := bytes.LastIndex(cp.Note, []byte("\n\n"))
	if split < 0 {
		return "", fmt.Errorf("witness: cosign: checkpoint note has no signature block")
	}
	text := cp.Note[:split+1]

	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.size
	for attempt := 0; ; attempt++ {
		if old > cp.Size {
			return "", fmt.Errorf("%w: witness has cosigned size %d, checkpoint has %d", ErrConflict, old, cp.Size)
		}
		var proof tlog.TreeProof
		if old > 0 {
			var err error
			if proof, err = prove(old); err != nil {
				return "", fmt.Errorf("witness: cosign: proof from %d to %d: %w", old, cp.Size, err)
			}
		}
		line, err := c.submit(ctx, FormatAddCheckpoint(old, proof, cp.Note), text)
		var refused *RefusedError
		if errors.As(err, &refused) && refused.Status == http.StatusConflict && attempt == 0 {
			old = refused.Size
			c.size = old
			continue
		}
		if err != nil {
			return "", err
		}
		c.size = cp.Size
		return line, nil
	}
}

// submit posts one add-checkpoint body and returns the verified
// cosignature line by this client's witness.
func (c *Client) submit(ctx context.Context, body, text []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("witness: add-checkpoint request: %w", err)
	}
	req.Header.Set("Content-Type", ContentTypeText)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("witness: add-checkpoint to %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return "", fmt.Errorf("witness: add-checkpoint to %s: read response: %w", c.url, err)
	}
	if len(got) > maxResponseSize {
		return "", fmt.Errorf("witness: add-checkpoint to %s: response over %d bytes", c.url, maxResponseSize)
	}
	if resp.StatusCode != http.StatusOK {
		e := &RefusedError{Status: resp.StatusCode, Message: clip(string(got))}
		if resp.StatusCode == http.StatusConflict {
			size, ok := bytes.CutSuffix(got, []byte("\n"))
			if e.Size, err = parseSize(size); !ok || err != nil {
				return "", fmt.Errorf("witness: add-checkpoint to %s: 409 body %q is not a tree size line", c.url, clip(string(got)))
			}
		}
		return "", e
	}
	// The body may hold cosignatures by several keys of the witness;
	// tlog-witness says to ignore the ones we do not know.
	for _, line := range strings.SplitAfter(string(got), "\n") {
		name, sig, err := parseSignatureLine(line, maxCosignatureLine)
		if err != nil || name != c.verifier.name || binary.BigEndian.Uint32(sig) != c.verifier.id {
			continue
		}
		if _, err := VerifyCosignature(text, line, c.vkey); err != nil {
			return "", fmt.Errorf("witness: add-checkpoint to %s: %w", c.url, err)
		}
		return strings.TrimSuffix(line, "\n") + "\n", nil
	}
	return "", fmt.Errorf("%w: %s returned no cosignature by %s+%08x", ErrBadCosignature, c.url, c.verifier.name, c.verifier.id)
}
