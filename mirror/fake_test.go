package mirror

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
	"github.com/hashhub/hashhub/translog"
)

// fakePub is an in-process publisher of one list: it builds releases the
// way a node does (canonical delta lines, set root, signed manifest, log
// leaf) and serves them as a Source. Tests reach into it to build releases
// a real node never would: a wrong set root, unsorted lines, a forged
// signature.
type fakePub struct {
	t          testing.TB
	list, node string
	signer     *release.Signer
	logSigner  *translog.Signer
	log        *translog.MemStorage
	state      map[string]release.Item
	manifests  [][]byte // index v-1
	sigs       [][]byte
	deltas     [][]byte
	clock      time.Time
	expiry     time.Duration
	// oldestDelta: deltas to versions below it answer 410.
	oldestDelta uint64
	// latest, if set, is what LatestRelease says instead of the truth.
	latest uint64
	// snapshot, if set, replaces the snapshot body.
	snapshot []byte
	// mirror is the test's mirror, for setup steps that pull.
	mirror *Mirror
}

func newFakePub(t testing.TB) *fakePub {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := release.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	_, lk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := translog.NewSigner("hashhub/fake-node", lk)
	if err != nil {
		t.Fatal(err)
	}
	return &fakePub{t: t, list: "verified", node: "fake-node", signer: signer, logSigner: ls, log: translog.NewMemStorage(),
		state: map[string]release.Item{}, clock: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), expiry: 7 * 24 * time.Hour}
}

// now is a time at which the newest manifest is current.
func (p *fakePub) now() time.Time { return p.clock.Add(time.Hour) }

// pubOpts bends a release.
type pubOpts struct {
	// delta replaces the canonical delta bytes (the manifest digests
	// whatever is served, so only later checks can catch it).
	delta []byte
	// tamper edits the manifest before it is signed.
	tamper func(*release.Manifest)
	// signer signs instead of the publisher's key.
	signer *release.Signer
}

func item(algo, seed, sev string) release.Item {
	h := sha256.Sum256([]byte(seed))
	v := hex.EncodeToString(h[:])
	if algo == "md5" {
		v = v[:32]
	}
	return release.Item{Algo: algo, Value: v, Severity: sev}
}

func add(it release.Item) release.Change    { return release.Change{Op: release.OpAdd, Item: it} }
func update(it release.Item) release.Change { return release.Change{Op: release.OpUpdate, Item: it} }
func remove(it release.Item) release.Change {
	return release.Change{Op: release.OpRemove, Item: release.Item{Algo: it.Algo, Value: it.Value}}
}

func deltaBytes(changes []release.Change) []byte {
	var b bytes.Buffer
	for _, c := range changes {
		b.Write(c.Line())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// publish builds the next version from changes.
func (p *fakePub) publish(changes []release.Change, o pubOpts) *release.Manifest {
	p.t.Helper()
	changes = slices.Clone(changes)
	slices.SortFunc(changes, func(a, b release.Change) int { return release.CompareKeys(a.Key(), b.Key()) })
	var d release.Delta
	for _, c := range changes {
		switch c.Op {
		case release.OpAdd:
			d.Adds++
			p.state[c.Key()] = c.Item
		case release.OpRemove:
			d.Removes++
			delete(p.state, c.Key())
		default:
			d.Updates++
			p.state[c.Key()] = c.Item
		}
	}
	delta := deltaBytes(changes)
	if o.delta != nil {
		delta = o.delta
	}
	root, n := setroot.Compute(p.items())
	v := uint64(len(p.manifests)) + 1
	d.From, d.SHA256, d.Bytes = v-1, release.Digest(delta), int64(len(delta))
	prev := ""
	if v > 1 {
		prev = release.Digest(p.manifests[v-2])
	}
	p.clock = p.clock.Add(time.Minute)
	size, err := p.log.TreeSize()
	if err != nil {
		p.t.Fatal(err)
	}
	m := &release.Manifest{Format: release.Format, Node: p.node, List: p.list, Version: v, Previous: prev,
		Created: release.FormatTime(p.clock), Expires: release.FormatTime(p.clock.Add(p.expiry)),
		KeyID: p.signer.KeyID(), Entries: uint64(n), SetRoot: hex.EncodeToString(root[:]), Delta: d, LogIndex: size}
	signer := p.signer
	if o.signer != nil {
		signer = o.signer
		m.KeyID = signer.KeyID()
	}
	if o.tamper != nil {
		o.tamper(m)
	}
	raw := m.Encode()
	if _, err := translog.Append(p.log, raw); err != nil {
		p.t.Fatal(err)
	}
	sig, err := signer.Sign(raw)
	if err != nil {
		p.t.Fatal(err)
	}
	p.manifests, p.sigs, p.deltas = append(p.manifests, raw), append(p.sigs, sig), append(p.deltas, delta)
	return m
}

// items yields the current state as (key, canonical line).
func (p *fakePub) items() func(func(string, []byte) bool) {
	return func(yield func(string, []byte) bool) {
		for _, k := range slices.Sorted(maps.Keys(p.state)) {
			it := p.state[k]
			if !yield(k, it.Line()) {
				return
			}
		}
	}
}

func problem(status int) error {
	return &client.Problem{Title: http.StatusText(status), Status: status}
}

func (p *fakePub) LatestRelease(_ context.Context, list string) (*client.LatestRelease, error) {
	if list != p.list {
		return nil, problem(http.StatusNotFound)
	}
	l := uint64(len(p.manifests))
	if p.latest != 0 {
		l = p.latest
	}
	return &client.LatestRelease{List: list, Latest: l, OldestDelta: max(1, p.oldestDelta)}, nil
}

func (p *fakePub) Checkpoint(context.Context) ([]byte, error) {
	size, _ := p.log.TreeSize()
	root, err := translog.Root(p.log, size)
	if err != nil {
		return nil, err
	}
	return p.logSigner.Sign(size, root)
}

func (p *fakePub) ConsistencyProof(_ context.Context, old, n int64) ([]tlog.Hash, error) {
	return translog.ConsistencyProof(p.log, old, n)
}

func (p *fakePub) InclusionProof(_ context.Context, i, n int64) ([]tlog.Hash, error) {
	return translog.InclusionProof(p.log, i, n)
}

func (p *fakePub) Manifest(_ context.Context, _ string, v uint64) ([]byte, error) {
	if v == 0 || v > uint64(len(p.manifests)) {
		return nil, problem(http.StatusNotFound)
	}
	return p.manifests[v-1], nil
}

func (p *fakePub) ManifestSignature(_ context.Context, _ string, v uint64) ([]byte, error) {
	if v == 0 || v > uint64(len(p.sigs)) {
		return nil, problem(http.StatusNotFound)
	}
	return p.sigs[v-1], nil
}

func (p *fakePub) Delta(_ context.Context, _ string, from, to uint64) (io.ReadCloser, error) {
	if to != from+1 || to > uint64(len(p.deltas)) {
		return nil, fmt.Errorf("fake: delta %d→%d not served", from, to)
	}
	if to < p.oldestDelta {
		return nil, problem(http.StatusGone)
	}
	return io.NopCloser(bytes.NewReader(p.deltas[to-1])), nil
}

func (p *fakePub) Snapshot(_ context.Context, _ string, v uint64) (io.ReadCloser, uint64, error) {
	latest := uint64(len(p.manifests))
	if v != 0 && v != latest {
		return nil, 0, problem(http.StatusGone)
	}
	if p.snapshot != nil {
		return io.NopCloser(bytes.NewReader(p.snapshot)), latest, nil
	}
	// In member order, as a node writes it.
	type member struct {
		key  []byte
		line []byte
	}
	var ms []member
	for k, line := range p.items() {
		ms = append(ms, member{memberKey(k, line), line})
	}
	slices.SortFunc(ms, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	var b bytes.Buffer
	for _, m := range ms {
		b.Write(m.line)
		b.WriteByte('\n')
	}
	return io.NopCloser(&b), latest, nil
}

// newMirror initialises a mirror of p's list pinned to p's keys.
func newMirror(t *testing.T, p *fakePub) (*Mirror, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mirror")
	if err := Init(dir, "http://127.0.0.1:1", p.list, p.signer.PublicKeyPEM(), p.logSigner.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	m, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, dir
}

// files reads every file in dir, to compare before and after a refusal.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func sameFiles(t *testing.T, before, after map[string][]byte) {
	t.Helper()
	if len(before) != len(after) {
		t.Errorf("files before %v, after %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}
	for name, b := range before {
		if !bytes.Equal(b, after[name]) {
			t.Errorf("%s changed (%d bytes before, %d after)", name, len(b), len(after[name]))
		}
	}
}

// pull runs a pull and fails the test on error.
func pull(t *testing.T, m *Mirror, src Source, now time.Time) *Result {
	t.Helper()
	res, err := m.Pull(context.Background(), src, now, nil)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	return res
}
