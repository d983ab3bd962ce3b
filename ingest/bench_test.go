package ingest

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

const benchLines = 100_000

// benchBody builds benchLines synthetic sha256 lines with distinct values.
func benchBody(header string, line func(hex string) string) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	for i := range benchLines {
		b.WriteString(line(fmt.Sprintf("%064x", uint64(i)*0x9e3779b97f4a7c15)))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// benchRead drains r, failing on anything but records, and returns the
// number of records.
func benchRead(b *testing.B, r Reader) int {
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
}

func BenchmarkNDJSON(b *testing.B) {
	body := benchBody("", func(hex string) string { return `{"algo":"sha256","value":"` + hex + `"}` })
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if n := benchRead(b, NewNDJSON(bytes.NewReader(body), 0)); n != benchLines {
			b.Fatalf("%d records", n)
		}
	}
	b.ReportMetric(float64(benchLines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkCSV(b *testing.B) {
	body := benchBody("algo,value\n", func(hex string) string { return "sha256," + hex })
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewCSV(bytes.NewReader(body), 0)
		if err != nil {
			b.Fatal(err)
		}
		if n := benchRead(b, r); n != benchLines {
			b.Fatalf("%d records", n)
		}
	}
	b.ReportMetric(float64(benchLines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
