// Command mkmirror makes a large verified mirror quickly, for timing
// hashctl match serve (scripts/bench/match/http.sh) without a node: an
// in-process publisher builds releases as a node does (canonical delta
// lines sorted by key, set root, ECDSA-signed manifest chained to the one
// before, a transparency-log leaf and signed checkpoint) and the mirror
// package pulls them, every check included, in steps of -step entries so
// that no step holds the whole list in one transaction.
//
// The list is synthetic PDQ in families of near-duplicates (a seed and
// 0-11 members 1-40 bits from it, as scripts/bench/match makes them) plus
// -md5 random md5 entries. Beside the mirror it writes query files for
// wrk, one value a line: pdq.txt (half a stored hash moved 0-16 bits, all
// hits; half random, all misses) and md5.txt (half stored, half random).
//
//	go run ./scripts/bench/match/mkmirror -n 10000000 -md5 1000000 -out DIR
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	crand "crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/mirror"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
	"github.com/hashhub/hashhub/translog"
)

func main() {
	n := flag.Int("n", 1_000_000, "PDQ entries")
	md5s := flag.Int("md5", 100_000, "md5 entries")
	step := flag.Int("step", 1_000_000, "entries per release (and per mirror transaction)")
	queries := flag.Int("queries", 20_000, "values in each query file")
	out := flag.String("out", "", "`DIR` to write: DIR/mirror, DIR/pdq.txt, DIR/md5.txt")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "mkmirror: -out DIR is required")
		os.Exit(2)
	}
	if err := run(*n, *md5s, *step, *queries, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkmirror:", err)
		os.Exit(1)
	}
}

// pub is an in-process publisher of one list, served to the mirror as a
// mirror.Source.
type pub struct {
	list      string
	signer    *release.Signer
	logSigner *translog.Signer
	log       *translog.MemStorage
	// leaves holds each set-root bucket's leaf hashes, sorted.
	leaves    [setroot.Buckets][]setroot.Hash
	tree      *setroot.Tree
	entries   uint64
	manifests [][]byte
	sigs      [][]byte
	delta     []byte // the newest version's
	start     time.Time
}

func newPub() (*pub, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := release.NewSigner(key)
	if err != nil {
		return nil, err
	}
	_, lk, err := ed25519.GenerateKey(crand.Reader)
	if err != nil {
		return nil, err
	}
	ls, err := translog.NewSigner("hashhub/bench-node", lk)
	if err != nil {
		return nil, err
	}
	return &pub{list: "bench", signer: signer, logSigner: ls, log: translog.NewMemStorage(), tree: setroot.NewTree(),
		start: time.Now().Add(-time.Hour)}, nil
}

// publish makes the next version from adds (items the list does not hold).
func (p *pub) publish(adds []release.Item) error {
	slices.SortFunc(adds, func(a, b release.Item) int { return release.CompareKeys(a.Key(), b.Key()) })
	var delta bytes.Buffer
	touched := map[uint16]bool{}
	for i := range adds {
		c := release.Change{Op: release.OpAdd, Item: adds[i]}
		delta.Write(c.Line())
		delta.WriteByte('\n')
		b := setroot.Bucket(adds[i].Key())
		p.leaves[b] = append(p.leaves[b], setroot.LeafHash(adds[i].Line()))
		touched[b] = true
	}
	for b := range touched {
		setroot.SortLeaves(p.leaves[b])
		p.tree.SetBucket(b, setroot.BucketDigest(p.leaves[b]))
	}
	p.entries += uint64(len(adds))
	root := p.tree.Root()
	v := uint64(len(p.manifests)) + 1
	prev := ""
	if v > 1 {
		prev = release.Digest(p.manifests[v-2])
	}
	size, err := p.log.TreeSize()
	if err != nil {
		return err
	}
	created := p.start.Add(time.Duration(v) * time.Second)
	raw := delta.Bytes()
	m := &release.Manifest{Format: release.Format, Node: "bench-node", List: p.list, Version: v, Previous: prev,
		Created: release.FormatTime(created), Expires: release.FormatTime(created.Add(30 * 24 * time.Hour)),
		KeyID: p.signer.KeyID(), Entries: p.entries, SetRoot: hex.EncodeToString(root[:]), LogIndex: size,
		Delta: release.Delta{From: v - 1, Adds: uint64(len(adds)), SHA256: release.Digest(raw), Bytes: int64(len(raw))}}
	enc := m.Encode()
	if _, err := translog.Append(p.log, enc); err != nil {
		return err
	}
	sig, err := p.signer.Sign(enc)
	if err != nil {
		return err
	}
	p.manifests, p.sigs, p.delta = append(p.manifests, enc), append(p.sigs, sig), raw
	return nil
}

func notFound() error { return &client.Problem{Title: "Not Found", Status: http.StatusNotFound} }

func (p *pub) LatestRelease(_ context.Context, list string) (*client.LatestRelease, error) {
	return &client.LatestRelease{List: list, Latest: uint64(len(p.manifests)), Entries: p.entries, OldestDelta: uint64(len(p.manifests))}, nil
}

func (p *pub) Checkpoint(context.Context) ([]byte, error) {
	size, _ := p.log.TreeSize()
	root, err := translog.Root(p.log, size)
	if err != nil {
		return nil, err
	}
	return p.logSigner.Sign(size, root)
}

func (p *pub) ConsistencyProof(_ context.Context, old, n int64) ([]tlog.Hash, error) {
	return translog.ConsistencyProof(p.log, old, n)
}

func (p *pub) InclusionProof(_ context.Context, i, n int64) ([]tlog.Hash, error) {
	return translog.InclusionProof(p.log, i, n)
}

func (p *pub) Manifest(_ context.Context, _ string, v uint64) ([]byte, error) {
	if v == 0 || v > uint64(len(p.manifests)) {
		return nil, notFound()
	}
	return p.manifests[v-1], nil
}

func (p *pub) ManifestSignature(_ context.Context, _ string, v uint64) ([]byte, error) {
	if v == 0 || v > uint64(len(p.sigs)) {
		return nil, notFound()
	}
	return p.sigs[v-1], nil
}

func (p *pub) Delta(_ context.Context, _ string, from, to uint64) (io.ReadCloser, error) {
	if to != uint64(len(p.manifests)) || from != to-1 {
		return nil, notFound() // only the newest delta: the mirror pulls each as it is made
	}
	return io.NopCloser(bytes.NewReader(p.delta)), nil
}

func (p *pub) Snapshot(context.Context, string, uint64) (io.ReadCloser, uint64, error) {
	return nil, 0, notFound()
}

type hash [4]uint64

func (h hash) hex() string {
	var b [32]byte
	for i, w := range h {
		for j := range 8 {
			b[i*8+j] = byte(w >> (56 - 8*j))
		}
	}
	return hex.EncodeToString(b[:])
}

func flip(r *rand.Rand, h hash, k int) hash {
	for _, bit := range r.Perm(256)[:k] {
		h[bit/64] ^= 1 << (bit % 64)
	}
	return h
}

func run(n, md5s, step, queries int, out string) error {
	dir := filepath.Join(out, "mirror")
	p, err := newPub()
	if err != nil {
		return err
	}
	if err := mirror.Init(dir, "http://127.0.0.1:1", p.list, p.signer.PublicKeyPEM(), p.logSigner.VerifierKey()); err != nil {
		return err
	}
	m, err := mirror.Open(dir)
	if err != nil {
		return err
	}
	defer m.Close()
	m.SnapshotAfter = 1 << 30
	m.Batch = 1 << 30 // version 1 comes as a delta too: this publisher keeps no snapshots

	r := rand.New(rand.NewPCG(11, 12))
	hundred := 100
	var storedPDQ []hash
	var storedMD5 []string
	batch := make([]release.Item, 0, step)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		t0 := time.Now()
		if err := p.publish(batch); err != nil {
			return err
		}
		res, err := m.Pull(context.Background(), p, time.Now(), nil)
		if err != nil {
			return fmt.Errorf("pull version %d: %w", len(p.manifests), err)
		}
		fmt.Printf("version %d: %d entries (%.1f s)\n", res.Version, res.Entries, time.Since(t0).Seconds())
		batch = batch[:0]
		return nil
	}
	add := func(it release.Item) error {
		batch = append(batch, it)
		if len(batch) == step {
			return flush()
		}
		return nil
	}
	keepEvery := max(1, n/queries)
	made := 0
	for made < n {
		seed := hash{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}
		family := []hash{seed}
		for k := r.IntN(12); k > 0; k-- {
			h := flip(r, seed, 1+r.IntN(40))
			if !slices.Contains(family, h) {
				family = append(family, h)
			}
		}
		for _, h := range family {
			if made == n {
				break
			}
			if made%keepEvery == 0 {
				storedPDQ = append(storedPDQ, h)
			}
			made++
			if err := add(release.Item{Algo: "pdq", Value: h.hex(), Quality: &hundred, Severity: "B"}); err != nil {
				return err
			}
		}
	}
	raw := make([]byte, 16)
	for i := range md5s {
		for j := range raw {
			raw[j] = byte(r.Uint32())
		}
		v := hex.EncodeToString(raw)
		if i%max(1, md5s/queries) == 0 {
			storedMD5 = append(storedMD5, v)
		}
		if err := add(release.Item{Algo: "md5", Value: v, Severity: "A"}); err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}

	write := func(name string, next func(i int) string) error {
		f, err := os.Create(filepath.Join(out, name))
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		for i := range queries {
			fmt.Fprintln(w, next(i))
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return f.Close()
	}
	if err := write("pdq.txt", func(i int) string {
		if i%2 == 0 && len(storedPDQ) > 0 {
			return flip(r, storedPDQ[r.IntN(len(storedPDQ))], r.IntN(17)).hex()
		}
		return hash{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}.hex()
	}); err != nil {
		return err
	}
	return write("md5.txt", func(i int) string {
		if i%2 == 0 && len(storedMD5) > 0 {
			return storedMD5[r.IntN(len(storedMD5))]
		}
		for j := range raw {
			raw[j] = byte(r.Uint32())
		}
		return hex.EncodeToString(raw)
	})
}
