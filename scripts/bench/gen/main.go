// Command gen writes synthetic hash entries for benchmarks and demos: an
// even mix of md5, sha256 and pdq (with a quality) values from a seeded
// generator, as NDJSON (default) or CSV. The values are random bytes, not
// hashes of anything.
package main

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
)

func main() {
	n := flag.Int("n", 1_000_000, "number of entries")
	seed := flag.Uint64("seed", 1, "random seed (same seed, same entries)")
	format := flag.String("format", "ndjson", "ndjson or csv")
	out := flag.String("o", "-", "output file (- for stdout)")
	flag.Parse()
	w := os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	defer bw.Flush()
	rng := rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15))
	var raw [32]byte
	if *format == "csv" {
		fmt.Fprintln(bw, "algo,value,quality")
	}
	for i := 0; i < *n; i++ {
		for j := 0; j < len(raw); j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8; k++ {
				raw[j+k] = byte(v >> (8 * k))
			}
		}
		algo, val, q := "md5", hex.EncodeToString(raw[:16]), -1
		switch i % 3 {
		case 1:
			algo, val = "sha256", hex.EncodeToString(raw[:])
		case 2:
			algo, val, q = "pdq", hex.EncodeToString(raw[:]), 50+int(raw[0])%51
		}
		switch {
		case *format == "csv" && q >= 0:
			fmt.Fprintf(bw, "%s,%s,%d\n", algo, val, q)
		case *format == "csv":
			fmt.Fprintf(bw, "%s,%s,\n", algo, val)
		case q >= 0:
			fmt.Fprintf(bw, `{"algo":%q,"value":%q,"quality":%d}`+"\n", algo, val, q)
		default:
			fmt.Fprintf(bw, `{"algo":%q,"value":%q}`+"\n", algo, val)
		}
	}
}
