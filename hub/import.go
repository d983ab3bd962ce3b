package hub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/records"
	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/text"
)

// ImportResult summarises a bulk import.
type ImportResult struct {
	// Lines is the number of non-blank lines read.
	Lines int `json:"lines"`
	// Accepted lines were valid and are stored (Created new entries,
	// Updated existing ones, Unchanged were already recorded as given).
	Accepted  int `json:"accepted"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// Rejected lines were invalid; each rejects only itself.
	Rejected int                 `json:"rejected"`
	Errors   []*ingest.LineError `json:"errors"`
	// ErrorsTruncated is set when more errors happened than are listed.
	ErrorsTruncated bool `json:"errors_truncated,omitempty"`
	// Batches is how many transactions committed.
	Batches int `json:"batches"`
}

// MaxImportErrors bounds the errors listed in an import result.
const MaxImportErrors = 1000

// importItem is one valid line of an import.
type importItem struct {
	ik   [store.IndexKeyLen]byte
	line int
	hash hashes.Hash
	in   entries.Input
}

func compareItems(x, y *importItem) int {
	if c := bytes.Compare(x.ik[:], y.ik[:]); c != 0 {
		return c
	}
	return x.line - y.line // repeated hashes apply in line order
}

// Import reads an NDJSON or CSV stream of hashes and stores the valid ones.
//
// It works in two phases so that memory stays bounded and bbolt sees its
// fast path however large the import. First the whole stream is read and
// validated, and the valid lines are sorted by index key in runs of
// ImportBatch lines, spilled to temporary files (an external sort). Then
// the runs are merged in key order and committed ImportBatch lines per
// transaction, each with one audit event; merging the next batch overlaps
// with committing the last. Because each transaction covers one contiguous
// range of the index, it touches only that range's pages, and each index
// page is rewritten about once per import rather than once per batch.
//
// A bad line rejects only itself and is listed in the result. An error
// reading the stream (not text, a broken connection, a body over the
// limit) ends the import before anything is written. Re-running an import
// is safe: an assessment already recorded is left unchanged.
func (s *Service) Import(a Actor, r ingest.Reader, importID string, onBatch func(ImportResult)) (ImportResult, error) {
	res := ImportResult{Errors: []*ingest.LineError{}}
	sp := newSpool(s.TempDir, s.ImportBatch)
	defer sp.close()
	if err := readImport(r, &res, sp); err != nil {
		return res, err
	}
	if err := sp.finish(); err != nil {
		return res, fmt.Errorf("import spool: %w", err)
	}
	batches := make(chan []importItem)
	stop := make(chan struct{})
	var mergeErr error
	go func() {
		defer close(batches)
		mergeErr = sp.merge(s.ImportBatch, batches, stop)
	}()
	var commitErr error
	for batch := range batches {
		if commitErr != nil {
			continue // drain until the merger sees stop
		}
		if commitErr = s.commitImport(a, batch, importID, &res); commitErr != nil {
			close(stop)
			continue
		}
		if onBatch != nil {
			onBatch(res)
		}
	}
	if commitErr != nil {
		return res, commitErr
	}
	if mergeErr != nil {
		return res, fmt.Errorf("import spool: %w", mergeErr)
	}
	return res, nil
}

// readImport parses and validates every line into the spool.
func readImport(r ingest.Reader, res *ImportResult, sp *spool) error {
	lineErr := func(le *ingest.LineError) {
		res.Rejected++
		if len(res.Errors) < MaxImportErrors {
			res.Errors = append(res.Errors, le)
		} else {
			res.ErrorsTruncated = true
		}
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		var le *ingest.LineError
		if errors.As(err, &le) {
			res.Lines++
			lineErr(le)
			continue
		}
		if err != nil {
			return err
		}
		res.Lines++
		h, err := hashes.Parse(rec.Algo, rec.Value, rec.Quality)
		if err != nil {
			lineErr(fieldLineError(rec.Line, err))
			continue
		}
		in, err := entries.Input{Category: entries.Category(rec.Category), Jurisdictions: rec.Jurisdictions,
			Severity: entries.Severity(rec.Severity), Note: rec.Note}.Normalize()
		if err != nil {
			lineErr(fieldLineError(rec.Line, err))
			continue
		}
		it := importItem{line: rec.Line, hash: h, in: in}
		copy(it.ik[:], store.IndexKey(h))
		if err := sp.add(it); err != nil {
			return fmt.Errorf("import spool: %w", err)
		}
	}
}

func fieldLineError(line int, err error) *ingest.LineError {
	var hf *hashes.FieldError
	var ef *entries.FieldError
	var tf *text.Error
	if errors.As(err, &tf) {
		return &ingest.LineError{Line: line, Field: tf.Field, Reason: tf.Reason}
	}
	switch {
	case errors.As(err, &hf):
		return &ingest.LineError{Line: line, Field: hf.Field, Reason: hf.Reason}
	case errors.As(err, &ef):
		return &ingest.LineError{Line: line, Field: ef.Field, Reason: ef.Reason}
	}
	return &ingest.LineError{Line: line, Reason: err.Error()}
}

// commitImport writes one batch, already in index-key order, in one
// transaction with one audit event whose digest covers the batch's
// canonical content.
func (s *Service) commitImport(a Actor, batch []importItem, importID string, res *ImportResult) error {
	now := s.now().UTC()
	var created, updated, unchanged int
	d := newDigester()
	err := s.db.Update(func(tx *store.Tx) error {
		// An import of millions reads index and entry pages all over the
		// store; unmapped between batches, they stop counting in the
		// node's resident set (they stay in the page cache).
		if err := tx.DropMappedPages(); err != nil {
			return err
		}
		created, updated, unchanged = 0, 0, 0
		d.reset()
		// One record per distinct verdict in the batch (split at
		// records.MaxKeys keys), signed once the batch is written.
		builders := map[string]*recordBuilder{}
		var done []*recordBuilder
		for i := range batch {
			it := &batch[i]
			_, c, changed, err := s.merge(tx, a, it.hash, it.ik[:], it.in, now, func() (*recordBuilder, error) {
				k := inputKey(it.in)
				if rb := builders[k]; rb != nil && len(rb.keys) < records.MaxKeys {
					return rb, nil
				}
				rb, err := s.newRecord(tx, a, records.KindAssessment, now)
				if rb == nil || err != nil {
					return nil, err
				}
				assessmentRecord(rb, it.in)
				builders[k] = rb
				done = append(done, rb)
				return rb, nil
			})
			if err != nil {
				return fmt.Errorf("line %d: %w", it.line, err)
			}
			switch {
			case c:
				created++
			case changed:
				updated++
			default:
				unchanged++
			}
			d.add(it.hash.Key(), it.in)
		}
		for _, rb := range done {
			if err := s.finish(tx, rb); err != nil {
				return err
			}
		}
		return tx.AppendAudit(d.event(a.audit(), now, fmt.Sprintf("import/%s#%d", importID, res.Batches+1)))
	})
	if err != nil {
		return err
	}
	res.Batches++
	res.Accepted += len(batch)
	res.Created += created
	res.Updated += updated
	res.Unchanged += unchanged
	return nil
}

// inputKey identifies a verdict, to group an import batch's records.
func inputKey(in entries.Input) string {
	return fmt.Sprintf("%s|%s|%s|%s|%s", in.Verdict, in.Category, strings.Join(in.Jurisdictions, ","), in.Severity, in.Note)
}
