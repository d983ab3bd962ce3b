package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"

	"github.com/hashhub/hashhub/client"
)

// withoutFiles returns the import body r without the file field of each
// line (NDJSON) or the file column (CSV): hashctl hash writes the local
// path a hash came from, which the node ignores, and which must not leave
// the machine. Every other byte is sent as read, one line out for each
// line in, so the node's line numbers still point into the user's file. A
// line that is not a JSON object (or a CSV line that does not parse) is
// sent as is: the node refuses it and stores nothing of it.
func withoutFiles(r io.Reader, format string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		br := bufio.NewReaderSize(r, 64<<10)
		bw := bufio.NewWriterSize(pw, 64<<10)
		strip := stripFileMember
		if format == client.FormatCSV {
			strip = nil // set from the header line
		}
		var err error
		for first := true; ; first = false {
			var line []byte
			line, err = br.ReadBytes('\n')
			if len(line) > 0 {
				if first && format == client.FormatCSV {
					var out []byte
					out, strip = csvHeaderWithoutFile(line)
					line = out
				} else if strip != nil {
					line = strip(line)
				}
				if _, werr := bw.Write(line); werr != nil {
					err = werr
					break
				}
			}
			if err != nil {
				break
			}
		}
		if err == io.EOF {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// stripFileMember returns an NDJSON line without its top-level "file"
// members (keys compared unescaped, as the node does), or line itself.
func stripFileMember(line []byte) []byte {
	if !bytes.Contains(line, []byte("file")) && !bytes.Contains(line, []byte(`\u`)) {
		return line
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return line
	}
	open := dec.InputOffset()
	// Each member's bytes run from the end of the one before (so they
	// begin with its comma, but for the first) to the end of its value.
	var kept [][]byte
	start, cut := open, false
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return line
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return line
		}
		end := dec.InputOffset()
		if k == "file" {
			cut = true
		} else {
			kept = append(kept, line[start:end])
		}
		start = end
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') || !cut {
		return line
	}
	out := append([]byte(nil), line[:open]...)
	for i, m := range kept {
		if i == 0 {
			// The first member kept may have followed a cut one: drop
			// the comma that separated them.
			m = bytes.TrimLeft(m, " \t\r")
			m = bytes.TrimPrefix(m, []byte(","))
		}
		out = append(out, m...)
	}
	return append(out, line[start:]...)
}

// csvHeaderWithoutFile returns the header line without its file column,
// and a function that drops that column from the lines after it (nil when
// there is none).
func csvHeaderWithoutFile(line []byte) ([]byte, func([]byte) []byte) {
	cells, ok := csvCells(line)
	if !ok {
		return line, nil
	}
	col := -1
	for i, c := range cells {
		if strings.TrimSpace(c) == "file" {
			col = i
		}
	}
	if col < 0 {
		return line, nil
	}
	drop := func(line []byte) []byte {
		cells, ok := csvCells(line)
		if !ok || len(cells) <= col {
			return line
		}
		return csvLine(append(cells[:col:col], cells[col+1:]...), line)
	}
	return drop(line), drop
}

// csvCells parses one physical CSV line as the node does (RFC 4180, space
// after a comma allowed); ok is false for a blank or unparsable line.
func csvCells(line []byte) ([]string, bool) {
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, false
	}
	r := csv.NewReader(bytes.NewReader(line))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	cells, err := r.Read()
	if err != nil {
		return nil, false
	}
	if _, err := r.Read(); err != io.EOF {
		return nil, false
	}
	return cells, true
}

// csvLine writes cells as a CSV line with the line ending of like.
func csvLine(cells []string, like []byte) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = bytes.HasSuffix(like, []byte("\r\n"))
	w.Write(cells)
	w.Flush()
	out := b.Bytes()
	if !bytes.HasSuffix(like, []byte("\n")) {
		out = bytes.TrimRight(out, "\r\n")
	}
	return out
}
