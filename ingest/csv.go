package ingest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// csvReader implements Reader for CSV with a header line.
type csvReader struct {
	lines *lineReader
	src   lineSource
	csv   *csv.Reader
	col   [numColumns]int // cell index of each column, or -1 if absent
	width int             // number of columns in the header
	err   error           // sticky error that ended the import
}

// Columns, in the order of csvReader.col.
const (
	colAlgo = iota
	colValue
	colQuality
	colCategory
	colJurisdictions
	colSeverity
	colNote
	colFile
	numColumns
)

// columnNames maps a column index to its header name.
var columnNames = [numColumns]string{
	colAlgo:          fieldAlgo,
	colValue:         fieldValue,
	colQuality:       fieldQuality,
	colCategory:      fieldCategory,
	colJurisdictions: fieldJurisdictions,
	colSeverity:      fieldSeverity,
	colNote:          fieldNote,
	colFile:          fieldFile,
}

// NewCSV returns a Reader for CSV (RFC 4180 quoting, comma-separated). It
// reads and checks the header line before returning: the header must be
// the first line of the body and name the columns algo and value, and may
// name quality, category, jurisdictions, severity, note and file (ignored by the
// node), in any order,
// each at most once. Column names are matched exactly (lower-case) after
// trimming surrounding white space. An unknown, repeated or missing column
// is an error wrapping ErrBadHeader; a binary first line is ErrNotText.
// maxLine is as for NewNDJSON.
//
// In data lines, every cell is trimmed of surrounding white space (CSV
// writers often put a space after each comma). An empty quality cell means
// no quality; jurisdictions are separated by ';' within their cell, and
// empty items are dropped. A line with more or fewer cells than the header
// is a LineError, as is a non-integer quality or an empty algo or value.
//
// Each physical line is parsed on its own so that the line cap and the
// per-line error recovery hold; as a consequence, quoted cells cannot
// contain line breaks (such a line is a LineError, and so is the line that
// holds the rest of the cell).
func NewCSV(r io.Reader, maxLine int) (Reader, error) {
	c := &csvReader{lines: newLineReader(r, maxLine)}
	c.csv = csv.NewReader(&c.src)
	c.csv.FieldsPerRecord = -1 // checked here, for a clearer message
	c.csv.ReuseRecord = true
	c.csv.TrimLeadingSpace = true // so that `sha256, "…"` parses as quoted
	if err := c.header(); err != nil {
		return nil, err
	}
	return c, nil
}

// header reads the first line and records where each column is.
func (c *csvReader) header() error {
	line, long, err := c.lines.next()
	switch {
	case err == io.EOF:
		return fmt.Errorf("%w: the body is empty", ErrBadHeader)
	case err != nil:
		return fmt.Errorf("reading CSV header: %w", err)
	}
	if notText(line, long) != "" {
		return fmt.Errorf("line 1: %w", ErrNotText)
	}
	if long {
		return fmt.Errorf("%w: header line longer than %d bytes", ErrBadHeader, c.lines.max)
	}
	if blank(line) {
		return fmt.Errorf("%w: the first line must be the header, but it is blank", ErrBadHeader)
	}
	cells, err := c.parse(line)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadHeader, err)
	}

	c.width = len(cells)
	for i := range c.col {
		c.col[i] = -1
	}
	for i, cell := range cells {
		name := strings.TrimSpace(cell)
		col := -1
		for j, known := range columnNames {
			if name == known {
				col = j
				break
			}
		}
		switch {
		case col < 0:
			return fmt.Errorf("%w: unknown column %q (known: %s)", ErrBadHeader, clip(name), strings.Join(columnNames[:], ", "))
		case c.col[col] >= 0:
			return fmt.Errorf("%w: column %q appears twice", ErrBadHeader, name)
		}
		c.col[col] = i
	}
	for _, col := range []int{colAlgo, colValue} {
		if c.col[col] < 0 {
			return fmt.Errorf("%w: missing required column %q", ErrBadHeader, columnNames[col])
		}
	}
	return nil
}

// parse splits one physical line into cells. The slice is reused by the
// next call; the strings are not.
func (c *csvReader) parse(line []byte) ([]string, error) {
	c.src.b = line
	cells, err := c.csv.Read()
	c.src.b = nil
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// encoding/csv reports a quote left open at the end of the
			// line one column past the end.
			if errors.Is(pe.Err, csv.ErrQuote) && pe.Column > len(line) {
				return nil, fmt.Errorf("unterminated quoted cell (quoted cells cannot span lines)")
			}
			return nil, fmt.Errorf("invalid CSV at column %d: %w", pe.Column, pe.Err)
		}
		return nil, fmt.Errorf("invalid CSV: %w", err)
	}
	return cells, nil
}

// Next implements Reader.
func (c *csvReader) Next() (Record, error) {
	if c.err != nil {
		return Record{}, c.err
	}
	for {
		line, long, err := c.lines.next()
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("reading line %d: %w", c.lines.n+1, err)
			}
			c.err = err
			return Record{}, err
		}
		n := c.lines.n
		if long {
			return Record{}, c.lines.tooLong()
		}
		if blank(line) {
			continue
		}
		if why := notText(line, false); why != "" {
			return Record{}, &LineError{Line: n, Reason: why}
		}
		cells, err := c.parse(line)
		if err != nil {
			return Record{}, &LineError{Line: n, Reason: err.Error()}
		}
		if len(cells) != c.width {
			return Record{}, &LineError{Line: n, Reason: fmt.Sprintf("line has %d cells, the header has %d", len(cells), c.width)}
		}
		return c.record(n, cells)
	}
}

// record builds a Record from the cells of line n.
func (c *csvReader) record(n int, cells []string) (Record, error) {
	cell := func(col int) string {
		if i := c.col[col]; i >= 0 {
			return strings.TrimSpace(cells[i])
		}
		return ""
	}
	rec := Record{
		Line:     n,
		Algo:     cell(colAlgo),
		Value:    cell(colValue),
		Category: cell(colCategory),
		Severity: cell(colSeverity),
		Note:     cell(colNote),
		File:     cell(colFile),
	}
	if f := missing(&rec); f != "" {
		return Record{}, &LineError{Line: n, Field: f, Reason: fmt.Sprintf("%q is required", f)}
	}
	if q := cell(colQuality); q != "" {
		v, err := strconv.Atoi(q)
		if err != nil {
			return Record{}, &LineError{Line: n, Field: fieldQuality, Reason: fmt.Sprintf("%q must be an integer, not %q", fieldQuality, clip(q))}
		}
		rec.Quality = &v
	}
	if js := cell(colJurisdictions); js != "" {
		for j := range strings.SplitSeq(js, ";") {
			if j = strings.TrimSpace(j); j != "" {
				rec.Jurisdictions = append(rec.Jurisdictions, j)
			}
		}
	}
	return rec, nil
}

// lineSource feeds encoding/csv one line at a time: it yields the current
// line and then io.EOF, and can be refilled after that, because csv.Reader
// (through its bufio.Reader) asks again after an EOF.
type lineSource struct{ b []byte }

func (s *lineSource) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}
