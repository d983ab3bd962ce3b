package witness

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/translog"
)

// MaxProofLines is the most consistency proof lines an add-checkpoint body
// may carry: tlog-witness says a client MUST NOT send more than 63.
const MaxProofLines = 63

// Line lengths in an add-checkpoint body.
const (
	// maxSizeDigits is the length of the largest int64, 9223372036854775807.
	maxSizeDigits = 19
	maxOldLine    = 4 + maxSizeDigits // "old " and the digits
	// hashLine is a 32-byte hash in padded base64.
	hashLine = 44
)

// MaxBodySize bounds an add-checkpoint request body: the longest old size
// line, 63 proof lines, the blank line and the largest checkpoint
// translog.OpenCheckpoint accepts (about 19 KiB). Anything longer cannot be
// valid, so it is refused before any parsing or signature checking; the
// HTTP layer should read at most MaxBodySize+1 bytes.
const MaxBodySize = maxOldLine + 1 + MaxProofLines*(hashLine+1) + 1 + translog.MaxCheckpointSize

// request is a parsed add-checkpoint body.
type request struct {
	old   int64
	proof tlog.TreeProof
	note  []byte
}

// parseRequest parses an add-checkpoint body: "old N\n", up to 63 lines of
// one base64 hash each, an empty line, then the signed checkpoint. It looks
// at each byte at most a few times and allocates only the proof, so hostile
// bodies cost little. The checkpoint is returned unparsed: its signature
// must be checked before its contents mean anything.
func parseRequest(body []byte) (*request, error) {
	rest := body
	line, rest, err := nextLine(rest, maxOldLine)
	if err != nil {
		return nil, fmt.Errorf("%w: old size line: %w", ErrMalformed, err)
	}
	digits, ok := bytes.CutPrefix(line, []byte("old "))
	if !ok {
		return nil, fmt.Errorf("%w: first line does not start with \"old \"", ErrMalformed)
	}
	old, err := parseSize(digits)
	if err != nil {
		return nil, fmt.Errorf("%w: old size: %w", ErrMalformed, err)
	}
	var enc []string
	for {
		line, rest, err = nextLine(rest, hashLine)
		if err != nil {
			return nil, fmt.Errorf("%w: proof line %d: %w", ErrMalformed, len(enc)+1, err)
		}
		if len(line) == 0 {
			break
		}
		if len(enc) == MaxProofLines {
			return nil, fmt.Errorf("%w: more than %d proof lines", ErrMalformed, MaxProofLines)
		}
		enc = append(enc, string(line))
	}
	proof, err := translog.DecodeProof(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(rest) == 0 {
		return nil, fmt.Errorf("%w: no checkpoint after the blank line", ErrMalformed)
	}
	return &request{old: old, proof: proof, note: rest}, nil
}

// nextLine returns the line at the start of b without its newline, and what
// follows it. A line longer than limit, or one without a newline, is an
// error: every line of the body must end in one.
func nextLine(b []byte, limit int) (line, rest []byte, err error) {
	i := bytes.IndexByte(b[:min(len(b), limit+1)], '\n')
	if i < 0 {
		if len(b) > limit {
			return nil, nil, fmt.Errorf("longer than %d bytes", limit)
		}
		return nil, nil, fmt.Errorf("missing newline")
	}
	return b[:i], b[i+1:], nil
}

// parseSize accepts a tree size as tlog-witness writes it: ASCII decimal,
// no sign, no leading zeros (except "0" itself), fitting an int64.
func parseSize(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > maxSizeDigits {
		return 0, fmt.Errorf("%q is not 1 to %d digits", clip(string(b)), maxSizeDigits)
	}
	if len(b) > 1 && b[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero", b)
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", b)
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", b, err)
	}
	return n, nil
}

// FormatAddCheckpoint builds an add-checkpoint request body: the old size
// the witness last cosigned, the consistency proof from it to the
// checkpoint's size (empty when old is 0) and the signed checkpoint note.
func FormatAddCheckpoint(old int64, proof tlog.TreeProof, note []byte) []byte {
	b := make([]byte, 0, maxOldLine+1+len(proof)*(hashLine+1)+1+len(note))
	b = append(b, "old "...)
	b = strconv.AppendInt(b, old, 10)
	b = append(b, '\n')
	for _, h := range proof {
		b = base64.StdEncoding.AppendEncode(b, h[:])
		b = append(b, '\n')
	}
	b = append(b, '\n')
	return append(b, note...)
}
