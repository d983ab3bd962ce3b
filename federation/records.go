package federation

import (
	"bufio"
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
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
// are not covered by any manifest, so they are checked as they arrive,
// spooled to disk too and capped outright.
const (
	// DefaultMaxStepBytes caps a peer's delta or snapshot, whatever its
	// manifest says (a peer's max_step_bytes overrides it).
	DefaultMaxStepBytes = mirror.DefaultMaxBytes
	// DefaultMaxRecordsBytes caps the records of one step (a peer's
	// max_records_bytes overrides it). Records a peer signed itself can
	// only be bounded by this cap. They are spooled to disk as they
	// arrive; a delta step's are then held in memory while it is written
	// (a snapshot step reads them back a few at a time). A catch-up from
	// a snapshot brings every record the list rests on, about 100 bytes
	// per entry and assessment, so the default fits some 2.5M
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
// are counted and dropped as they arrive. The kept ones are spooled to an
// unlinked temporary file (a catch-up's records are about 75 bytes per
// entry of the list) and read back by each, as often as the importer
// needs; close lets the file go.
type stepRecords struct {
	f       *os.File
	w       *bufio.Writer
	unknown int
}

func (sr *stepRecords) add(s records.Signed) error {
	if sr.f == nil {
		return errors.New("records spool closed")
	}
	var n [binary.MaxVarintLen64]byte
	for _, b := range [][]byte{s.Raw, s.Sig} {
		if _, err := sr.w.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))]); err != nil {
			return err
		}
		if _, err := sr.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// each calls fn with every record kept, in the order they came. The
// bytes are valid only during the call.
func (sr *stepRecords) each(fn func(records.Signed) error) error {
	if err := sr.w.Flush(); err != nil {
		return err
	}
	r := bufio.NewReaderSize(io.NewSectionReader(sr.f, 0, 1<<62), 1<<20)
	var buf []byte
	part := func() ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if n > records.MaxLine {
			return nil, fmt.Errorf("records spool: a record of %d bytes", n)
		}
		start := len(buf)
		buf = slices.Grow(buf, int(n))[:start+int(n)]
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			return nil, fmt.Errorf("records spool: %w", err)
		}
		return buf[start:], nil
	}
	for {
		buf = buf[:0]
		raw, err := part()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		sig, err := part()
		if err != nil {
			return fmt.Errorf("records spool: %w", err)
		}
		if err := fn(records.Signed{Raw: raw, Sig: sig}); err != nil {
			return err
		}
	}
}

func (sr *stepRecords) close() {
	if sr.f != nil {
		sr.f.Close()
		sr.f = nil
	}
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
	f, err := os.CreateTemp(s.Dir, "records-*.spool")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	out := &stepRecords{f: f, w: bufio.NewWriterSize(f, 1<<20)}
	ok := false
	defer func() {
		if !ok {
			out.close()
		}
	}()
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
			if err := out.add(sr); err != nil {
				return nil, fmt.Errorf("records spool: %w", err)
			}
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
	ok = true
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

// aheadRecords are the records of a new peer's first snapshot step,
// fetched and checked while the mirror downloads, checks and stages the
// snapshot: on two cores that work then costs no time of its own. A
// snapshot step of other versions (the peer released in between, or the
// mirror chose another start) fetches its own, and these are let go.
type aheadRecords struct {
	to     uint64
	cancel context.CancelFunc
	done   chan struct{}
	recs   *stepRecords // with prep and err, set when done is closed
	prep   *hub.SnapshotRecords
	err    error
}

// recordsAhead starts fetching the records of versions 1 to the peer's
// latest when m is empty and the list is larger than a mirror's batch,
// the case where a pull loads the latest version's snapshot. It returns
// nil when it does not.
func (s *Syncer) recordsAhead(ctx context.Context, m *mirror.Mirror, cl *client.Client, p *peers.Peer, list string) *aheadRecords {
	st, err := m.State()
	if err != nil || st.Version != 0 {
		return nil
	}
	lr, err := cl.LatestRelease(ctx, list)
	if err != nil || lr.Latest == 0 || lr.Entries <= uint64(cmp.Or(m.Batch, mirror.DefaultBatch)) {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &aheadRecords{to: lr.Latest, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		if a.recs, a.err = s.fetchRecords(ctx, cl, p, list, 0, lr.Latest); a.err != nil {
			return
		}
		// The node's side of the step's records (verified again with
		// the origins' keys, their keys spooled) is done ahead too.
		a.prep, a.err = s.Hub.PrepareSnapshotRecords(a.recs.each)
	}()
	return a
}

// take waits for the records fetched ahead and hands them over, with
// the node's preparation of them, if they are those of versions after+1
// to to, fetched whole; otherwise (or on a nil a) it returns nil and the
// caller fetches them itself. The caller closes both.
func (a *aheadRecords) take(after, to uint64) (*stepRecords, *hub.SnapshotRecords) {
	if a == nil || after != 0 || to != a.to {
		return nil, nil
	}
	<-a.done
	if a.err != nil || a.recs == nil {
		return nil, nil
	}
	recs, prep := a.recs, a.prep
	a.recs, a.prep = nil, nil
	return recs, prep
}

// close stops the fetch if it still runs and lets go of records not
// taken.
func (a *aheadRecords) close() {
	if a == nil {
		return
	}
	a.cancel()
	<-a.done
	if a.recs != nil {
		a.recs.close()
		a.recs = nil
	}
	a.prep.Close()
	a.prep = nil
}
