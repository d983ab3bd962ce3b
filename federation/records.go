package federation

import (
	"bufio"
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/mirror"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/records"
)

// What one pull step from a peer may download. The delta or snapshot is
// bounded by the peer's signed manifest (its digest and size, or its
// entry count) and spooled to disk (package mirror); the step's records
// are not covered by any manifest and are held in memory until the step
// commits, so they are checked as they arrive and capped outright.
const (
	// DefaultMaxStepBytes caps a peer's delta or snapshot, whatever its
	// manifest says (a peer's max_step_bytes overrides it).
	DefaultMaxStepBytes = mirror.DefaultMaxBytes
	// DefaultMaxRecordsBytes caps the records of one step (a peer's
	// max_records_bytes overrides it). Records a peer signed itself can
	// only be bounded by this cap, and they cost about four times their
	// size in memory while the step is verified and written; a catch-up
	// from a snapshot brings every record the list rests on, about 100
	// bytes per entry and assessment, so the default fits some 2.5M
	// assessments and a peer with a larger list needs a larger cap.
	DefaultMaxRecordsBytes = 256 << 20
)

// ErrBadRecords is wrapped when a peer's records stream is refused: a
// line that is not a signed record, records out of (origin, seq) order
// or given twice, or more bytes than the cap. The step changes nothing.
var ErrBadRecords = errors.New("records refused")

func (s *Syncer) stepCap(p *peers.Peer) int64 {
	return cmp.Or(p.MaxStepBytes, s.MaxStepBytes, DefaultMaxStepBytes)
}

func (s *Syncer) recordsCap(p *peers.Peer) int64 {
	return cmp.Or(p.MaxRecordsBytes, s.MaxRecordsBytes, DefaultMaxRecordsBytes)
}

// stepRecords are the records of one step worth importing: those of
// origins with a registered key, each verified. Records of this node
// (never imported back) and of unknown origins (they cannot be verified)
// are counted and dropped as they arrive.
type stepRecords struct {
	signed  []records.Signed
	unknown int
}

// fetchRecords streams the records of versions after..to of a peer's list
// and checks each line as it arrives — its form, the (origin, seq) order
// the node writes them in (so none comes twice), and the signature of
// every record it keeps — so a hostile stream is refused at its first bad
// line, or as soon as it passes the cap, and never held whole.
func (s *Syncer) fetchRecords(ctx context.Context, cl *client.Client, p *peers.Peer, list string, after, to uint64) (*stepRecords, error) {
	known, err := s.originKeys()
	if err != nil {
		return nil, err
	}
	body, err := cl.Records(ctx, list, after, to)
	if err != nil {
		return nil, fmt.Errorf("fetch records: %w", err)
	}
	defer body.Close()
	limit := s.recordsCap(p)
	cr := &countingReader{r: io.LimitReader(body, limit+1)}
	tooLarge := func() error {
		return fmt.Errorf("%w: the records of versions %d to %d are longer than the cap of %d bytes for peer %s (the peer's max_records_bytes, or hashhub serve --peer-max-records-bytes)",
			ErrBadRecords, after+1, to, limit, p.ID)
	}
	sc := bufio.NewScanner(cr)
	sc.Buffer(make([]byte, 0, 64<<10), records.MaxLine+1)
	out := &stepRecords{}
	var prev *records.Record
	for n := 1; sc.Scan(); n++ {
		sr, err := records.ParseLine(sc.Bytes())
		var r *records.Record
		if err == nil {
			r, err = records.Parse(sr.Raw)
		}
		switch {
		case err != nil && cr.n > limit:
			return nil, tooLarge() // the line was cut at the cap
		case err != nil:
			return nil, fmt.Errorf("%w: line %d: %w", ErrBadRecords, n, err)
		case prev != nil && cmp.Or(strings.Compare(r.Origin, prev.Origin), cmp.Compare(r.Seq, prev.Seq)) <= 0:
			return nil, fmt.Errorf("%w: line %d: %s#%d after %s#%d: not in (origin, seq) order, or given twice",
				ErrBadRecords, n, r.Origin, r.Seq, prev.Origin, prev.Seq)
		}
		prev = r
		key, ok := known[r.Origin]
		switch {
		case r.Origin == s.SelfID:
		case !ok:
			out.unknown++
		default:
			if err := sr.VerifyParsed(r, key); err != nil {
				return nil, fmt.Errorf("%w: line %d: %w", hub.ErrForgedRecord, n, err)
			}
			out.signed = append(out.signed, sr)
		}
	}
	if cr.n > limit {
		return nil, tooLarge()
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: a line is longer than %d bytes", ErrBadRecords, records.MaxLine)
		}
		return nil, fmt.Errorf("records: %w", err)
	}
	return out, nil
}

// originKeys are the node keys of the registered peers, by id: the
// origins whose records can be verified here.
func (s *Syncer) originKeys() (map[string]ed25519.PublicKey, error) {
	ps, err := s.Hub.Peers()
	if err != nil {
		return nil, err
	}
	out := make(map[string]ed25519.PublicKey, len(ps))
	for i := range ps {
		if k, err := ps[i].NodeKey(); err == nil {
			out[ps[i].ID] = k
		}
	}
	return out, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
