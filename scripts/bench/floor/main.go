// Command floor measures the storage floor for a bulk import: it reads an
// NDJSON file of hashes, and writes each entry straight into a fresh bbolt
// file — key = the store's 8-byte index key, value = the line — in sorted
// batches, one transaction per batch, with nothing else (no validation of
// policy, no assessments, no audit, no HTTP). scripts/bench/import.sh
// compares a real import against it.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/store"
)

type kv struct{ k, v []byte }

func main() {
	in := flag.String("in", "", "NDJSON file of {algo,value} lines")
	dir := flag.String("dir", os.TempDir(), "directory for the bbolt file")
	batch := flag.Int("batch", hub.DefaultImportBatch, "entries per transaction (the server's import batch)")
	global := flag.Bool("global", false, "sort all entries first, then write them in key order (the best case: what the server's external sort approaches)")
	flag.Parse()
	f, err := os.Open(*in)
	check(err)
	defer f.Close()
	path := filepath.Join(*dir, "floor.db")
	os.Remove(path)
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	check(err)
	defer os.Remove(path)
	defer db.Close()
	check(db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("e")); return err }))

	start := time.Now()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<16)
	var pending []kv
	n := 0
	flush := func() {
		slices.SortFunc(pending, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
		check(db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("e"))
			for _, p := range pending {
				if err := b.Put(p.k, p.v); err != nil {
					return err
				}
			}
			return nil
		}))
		pending = pending[:0]
	}
	var rec struct {
		Algo  string `json:"algo"`
		Value string `json:"value"`
	}
	for sc.Scan() {
		line := sc.Bytes()
		check(json.Unmarshal(line, &rec))
		key := store.IndexKey(hashes.Hash{Algo: rec.Algo, Value: rec.Value})
		pending = append(pending, kv{key, slices.Clone(line)})
		n++
		if len(pending) >= *batch && !*global {
			flush()
		}
	}
	check(sc.Err())
	if *global {
		slices.SortFunc(pending, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
		all := pending
		for len(all) > 0 {
			pending = all[:min(*batch, len(all))]
			all = all[len(pending):]
			flush()
		}
	} else if len(pending) > 0 {
		flush()
	}
	d := time.Since(start)
	name := "floor"
	if *global {
		name = "floor_global"
	}
	fmt.Printf("%s_entries=%d %s_seconds=%.3f %s_rate=%.0f\n", name, n, name, d.Seconds(), name, float64(n)/d.Seconds())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}
