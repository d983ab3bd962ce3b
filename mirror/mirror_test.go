package mirror

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
	"github.com/hashhub/hashhub/translog"
)

var (
	a = item("sha256", "a", "A")
	b = item("sha256", "b", "B")
	c = item("md5", "c", "")
	d = item("sha256", "d", "C")
	e = item("md5", "e", "A")
)

func snapshotOf(t *testing.T, p *fakePub) []byte {
	t.Helper()
	rc, _, err := p.Snapshot(context.Background(), p.list, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := io.ReadAll(rc)
	return s
}

func export(t *testing.T, m *Mirror, format string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := m.Export(&buf, format); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestPullIncremental follows a list through adds, an update, a remove and
// an empty release, pulling in two goes, and checks the result offline.
func TestPullIncremental(t *testing.T) {
	p := newFakePub(t)
	p.publish([]release.Change{add(a), add(b), add(c)}, pubOpts{})
	p.publish([]release.Change{add(d), remove(b)}, pubOpts{})
	m, dir := newMirror(t, p)

	res := pull(t, m, p, p.now())
	if res.From != 0 || res.Version != 2 || len(res.Steps) != 2 || res.Entries != 3 || res.Adds != 4 || res.Removes != 1 {
		t.Fatalf("first pull: %+v", res)
	}
	if got, want := export(t, m, ExportNDJSON), string(snapshotOf(t, p)); got != want {
		t.Errorf("export:\n%s\nsnapshot:\n%s", got, want)
	}

	up := a
	up.Severity = "C"
	p.publish([]release.Change{update(up), add(e)}, pubOpts{})
	p.publish(nil, pubOpts{}) // nothing changed: an empty delta
	res = pull(t, m, p, p.now())
	if res.From != 2 || res.Version != 4 || res.Updates != 1 || res.Adds != 1 || res.Entries != 4 || res.Steps[1].Adds+res.Steps[1].Removes+res.Steps[1].Updates != 0 {
		t.Fatalf("second pull: %+v", res)
	}
	st, _ := m.State()
	if st.Base != 1 || st.Version != 4 || st.Node != "fake-node" || st.CheckpointSize != 4 {
		t.Errorf("state: %+v", st)
	}
	if got, want := export(t, m, ExportNDJSON), string(snapshotOf(t, p)); got != want {
		t.Errorf("export:\n%s\nsnapshot:\n%s", got, want)
	}
	csv := export(t, m, ExportCSV)
	if !strings.HasPrefix(csv, CSVHeader) || !strings.Contains(csv, "sha256,"+a.Value+",,C\n") || strings.Count(csv, "\n") != 5 {
		t.Errorf("csv export:\n%s", csv)
	}

	res = pull(t, m, p, p.now())
	if !res.UpToDate || len(res.Steps) != 0 || res.Version != 4 {
		t.Errorf("third pull: %+v", res)
	}
	m.Close()
	rep, err := Verify(dir, p.now())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if rep.Manifests != 4 || rep.Entries != 4 || rep.Expired || len(rep.Notes) != 0 {
		t.Errorf("report: %+v", rep)
	}
	// Offline, later: everything holds but the list has expired.
	rep, err = Verify(dir, p.now().Add(8*24*time.Hour))
	if !errors.Is(err, ErrExpired) || rep == nil || !rep.Expired {
		t.Errorf("verify after expiry: %v %+v", err, rep)
	}
}

// TestSnapshotStart: an empty mirror of a list with many versions starts
// from the latest snapshot, then continues by deltas.
func TestSnapshotStart(t *testing.T) {
	p := newFakePub(t)
	p.publish([]release.Change{add(a), add(b)}, pubOpts{})
	p.publish([]release.Change{add(c)}, pubOpts{})
	p.publish([]release.Change{remove(a), add(d)}, pubOpts{})
	m, dir := newMirror(t, p)
	m.SnapshotAfter = 2
	res := pull(t, m, p, p.now())
	if res.Version != 3 || len(res.Steps) != 1 || !res.Steps[0].Snapshot || res.Entries != 3 {
		t.Fatalf("snapshot start: %+v", res)
	}
	p.publish([]release.Change{add(e)}, pubOpts{})
	res = pull(t, m, p, p.now())
	if res.Version != 4 || res.Entries != 4 || res.Steps[0].Snapshot {
		t.Fatalf("after snapshot start: %+v", res)
	}
	m.Close()
	rep, err := Verify(dir, p.now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Base != 3 || rep.Manifests != 2 || len(rep.Notes) != 1 {
		t.Errorf("report: %+v", rep)
	}
}

// TestCatchUpPastRetention: the node no longer keeps the deltas the
// mirror needs; it verifies the manifests' chain and loads the snapshot.
func TestCatchUpPastRetention(t *testing.T) {
	p := newFakePub(t)
	p.publish([]release.Change{add(a), add(b)}, pubOpts{})
	m, dir := newMirror(t, p)
	pull(t, m, p, p.now())
	p.publish([]release.Change{add(c)}, pubOpts{})
	p.publish([]release.Change{remove(a)}, pubOpts{})
	p.publish([]release.Change{add(d)}, pubOpts{})
	p.oldestDelta = 4
	res := pull(t, m, p, p.now())
	if res.Version != 4 || res.Entries != 3 || len(res.Steps) != 1 || !res.Steps[0].Snapshot {
		t.Fatalf("catch-up: %+v", res)
	}
	if got, want := export(t, m, ExportNDJSON), string(snapshotOf(t, p)); got != want {
		t.Errorf("export %q, snapshot %q", got, want)
	}
	m.Close()
	rep, err := Verify(dir, p.now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Base != 1 || rep.Manifests != 4 {
		t.Errorf("report: %+v", rep)
	}
}

// TestResume: a pull that fails midway keeps the versions before the
// failure, and the next pull goes on from there.
func TestResume(t *testing.T) {
	p := newFakePub(t)
	m, _ := newMirror(t, p)
	p.publish([]release.Change{add(a)}, pubOpts{})
	p.publish([]release.Change{add(b)}, pubOpts{})
	p.publish([]release.Change{add(c)}, pubOpts{})
	src := &failing{Source: p, failDelta: 3}
	res, err := m.Pull(context.Background(), src, p.now(), nil)
	if err == nil || isRefusal(err) || res.Version != 2 {
		t.Fatalf("interrupted pull: %v %+v", err, res)
	}
	if st, _ := m.State(); st.Version != 2 || st.Entries != 2 {
		t.Fatalf("after interruption: %+v", st)
	}
	res = pull(t, m, p, p.now())
	if res.From != 2 || res.Version != 3 || res.Entries != 3 {
		t.Fatalf("resumed: %+v", res)
	}
}

type failing struct {
	Source
	failDelta uint64
}

func (f *failing) Delta(ctx context.Context, list string, from, to uint64) (io.ReadCloser, error) {
	rc, err := f.Source.Delta(ctx, list, from, to)
	if err != nil || to != f.failDelta {
		return rc, err
	}
	return io.NopCloser(io.MultiReader(io.LimitReader(rc, 10), errReader{})), nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// TestRefusals publishes version 1, pulls it, then serves a bad version 2
// (or a bad answer) and checks the refusal names the check and leaves the
// mirror file byte for byte as it was.
func TestRefusals(t *testing.T) {
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := release.NewSigner(otherKey)
	v2 := []release.Change{add(c), remove(b)}

	cases := []struct {
		name  string
		setup func(p *fakePub) Source
		want  error
		msg   string
	}{
		{"wrong set root", func(p *fakePub) Source {
			p.publish(v2, pubOpts{tamper: func(m *release.Manifest) { m.SetRoot = strings.Repeat("ab", 32) }})
			return p
		}, ErrSetRoot, "refused version 2: set root mismatch"},
		{"wrong entry count", func(p *fakePub) Source {
			p.publish(v2, pubOpts{tamper: func(m *release.Manifest) { m.Entries++ }})
			return p
		}, ErrSetRoot, "refused version 2"},
		{"delta counts", func(p *fakePub) Source {
			p.publish(v2, pubOpts{tamper: func(m *release.Manifest) { m.Delta.Adds, m.Delta.Updates = 0, 1 }})
			return p
		}, ErrDeltaCounts, "delta counts mismatch"},
		{"lines out of order", func(p *fakePub) Source {
			lines := deltaBytes([]release.Change{remove(b), add(c)}) // sha256:… before md5:…
			p.publish(v2, pubOpts{delta: lines})
			return p
		}, ErrBadLine, "line 2: not in strictly increasing key order"},
		{"add of a held entry", func(p *fakePub) Source {
			p.publish(nil, pubOpts{delta: deltaBytes([]release.Change{add(a)}), tamper: func(m *release.Manifest) { m.Delta.Adds = 1 }})
			return p
		}, ErrBadLine, "adds an entry the mirror holds"},
		{"remove of an absent entry", func(p *fakePub) Source {
			p.publish(nil, pubOpts{delta: deltaBytes([]release.Change{remove(d)})})
			return p
		}, ErrBadLine, "removes an entry the mirror does not hold"},
		{"non-canonical line", func(p *fakePub) Source {
			line := bytes.Replace(deltaBytes([]release.Change{add(c)}), []byte(`,"value"`), []byte(`, "value"`), 1)
			p.publish([]release.Change{add(c)}, pubOpts{delta: line})
			return p
		}, ErrBadLine, "not in canonical form"},
		{"no final newline", func(p *fakePub) Source {
			p.publish([]release.Change{add(c)}, pubOpts{delta: bytes.TrimSuffix(deltaBytes([]release.Change{add(c)}), []byte("\n"))})
			return p
		}, ErrBadLine, "does not end in a newline"},
		{"broken chain", func(p *fakePub) Source {
			p.publish(v2, pubOpts{tamper: func(m *release.Manifest) { m.Previous = strings.Repeat("0", 64) }})
			return p
		}, ErrChain, "broken hash chain"},
		{"delta from elsewhere", func(p *fakePub) Source {
			p.publish(v2, pubOpts{tamper: func(m *release.Manifest) { m.Delta.From = 0 }})
			return p
		}, ErrChain, "the delta of version 2 is from version 0"},
		{"created before the previous", func(p *fakePub) Source {
			p.publish(v2, pubOpts{tamper: func(m *release.Manifest) { m.Created = "2029-01-01T00:00:00Z" }})
			return p
		}, ErrChain, "before version 1"},
		{"another list", func(p *fakePub) Source {
			p.publish(v2, pubOpts{tamper: func(m *release.Manifest) { m.List = "other" }})
			return p
		}, ErrWrongList, `of list "other"`},
		{"another node", func(p *fakePub) Source {
			p.publish(v2, pubOpts{tamper: func(m *release.Manifest) { m.Node = "imposter" }})
			return p
		}, ErrWrongList, `from node "imposter"`},
		{"expired", func(p *fakePub) Source {
			p.publish(v2, pubOpts{tamper: func(m *release.Manifest) { m.Expires = m.Created }})
			return p
		}, ErrExpired, "refused version 2: manifest expired"},
		{"not logged", func(p *fakePub) Source {
			p.publish(v2, pubOpts{tamper: func(m *release.Manifest) { m.LogIndex = 0 }})
			return p
		}, ErrNotIncluded, "not in the transparency log"},
		{"unknown key", func(p *fakePub) Source {
			p.publish(v2, pubOpts{signer: other})
			return p
		}, ErrWrongKey, "signed by a key that is not pinned"},
		{"forged signature", func(p *fakePub) Source {
			p.publish(v2, pubOpts{})
			p.sigs[1], _ = other.Sign(p.manifests[1])
			return p
		}, ErrSignature, "refused version 2: bad signature"},
		{"non-canonical manifest", func(p *fakePub) Source {
			p.publish(v2, pubOpts{})
			p.manifests[1] = append(p.manifests[1], ' ')
			return p
		}, ErrMalformed, "malformed manifest"},
		{"rollback", func(p *fakePub) Source {
			p.publish(v2, pubOpts{})
			p.pull(t)
			p.latest = 1
			return p
		}, ErrRollback, "refused version 1: rollback"},
		{"gap", func(p *fakePub) Source {
			p.publish(v2, pubOpts{})
			p.publish(nil, pubOpts{})
			p.manifests[1], p.sigs[1] = p.manifests[2], p.sigs[2]
			return p
		}, ErrGap, "the manifest served as version 2 is version 3"},
		{"missing version", func(p *fakePub) Source {
			p.publish(v2, pubOpts{})
			p.publish(nil, pubOpts{})
			return &missing{p, 2}
		}, ErrGap, "no manifest for version 2"},
		{"replay", func(p *fakePub) Source {
			p.publish(v2, pubOpts{})
			p.manifests[1], p.sigs[1] = p.manifests[0], p.sigs[0]
			return p
		}, ErrVersionMismatch, "the manifest served as version 2 is version 1"},
		{"forked log", func(p *fakePub) Source {
			// Same log key, another history: rebuild the log with a
			// different first leaf.
			old := p.log
			p.log = translog.NewMemStorage()
			translog.Append(p.log, []byte("another history"))
			n, _ := old.TreeSize()
			for i := int64(1); i < n; i++ {
				leaf, _ := old.Leaf(i)
				translog.Append(p.log, leaf)
			}
			p.publish(v2, pubOpts{})
			return p
		}, ErrInconsistentLog, "refused checkpoint: log inconsistent"},
		{"checkpoint rollback", func(p *fakePub) Source {
			p.publish(v2, pubOpts{})
			p.pull(t)
			p.log = translog.NewMemStorage()
			translog.Append(p.log, p.manifests[0])
			p.latest = 2
			return p
		}, ErrRollback, "refused checkpoint: rollback"},
		{"checkpoint by another key", func(p *fakePub) Source {
			_, lk, _ := ed25519.GenerateKey(rand.Reader)
			p.logSigner, _ = translog.NewSigner("hashhub/fake-node", lk)
			p.publish(v2, pubOpts{})
			return p
		}, ErrBadCheckpoint, "refused checkpoint: bad checkpoint"},
		{"snapshot with a wrong line", func(p *fakePub) Source {
			p.publish(v2, pubOpts{})
			p.oldestDelta = 3
			snap := snapshotOfState(p)
			p.snapshot = bytes.Replace(snap, []byte(`"severity":"A"`), []byte(`"severity":"B"`), 1)
			return p
		}, ErrSetRoot, "the snapshot has set root"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakePub(t)
			p.publish([]release.Change{add(a), add(b)}, pubOpts{})
			m, dir := newMirror(t, p)
			pull(t, m, p, p.now())
			p.mirror = m
			src := tc.setup(p)
			before := files(t, dir)
			_, err := m.Pull(context.Background(), src, p.now(), nil)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v with %q", err, tc.want, tc.msg)
			}
			t.Log(err)
			sameFiles(t, before, files(t, dir))
			if got := export(t, m, ExportNDJSON); !strings.Contains(got, a.Value) || strings.Count(got, "\n") != 2 && tc.want != ErrRollback {
				t.Errorf("contents after refusal:\n%s", got)
			}
		})
	}
}

// pull brings the test's mirror to p's latest version (a setup step).
func (p *fakePub) pull(t *testing.T) {
	t.Helper()
	pull(t, p.mirror, p, p.now())
}

func snapshotOfState(p *fakePub) []byte {
	rc, _, _ := p.Snapshot(context.Background(), p.list, 0)
	b, _ := io.ReadAll(rc)
	return b
}

type missing struct {
	*fakePub
	version uint64
}

func (m *missing) Manifest(ctx context.Context, list string, v uint64) ([]byte, error) {
	if v == m.version {
		return nil, problem(404)
	}
	return m.fakePub.Manifest(ctx, list, v)
}

// TestUpToDateButExpired: with nothing new, an expired manifest is still
// reported, so a frozen node is noticed.
func TestUpToDateButExpired(t *testing.T) {
	p := newFakePub(t)
	p.publish([]release.Change{add(a)}, pubOpts{})
	m, dir := newMirror(t, p)
	pull(t, m, p, p.now())
	before := files(t, dir)
	_, err := m.Pull(context.Background(), p, p.now().Add(8*24*time.Hour), nil)
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("got %v, want ErrExpired", err)
	}
	sameFiles(t, before, files(t, dir))
}

// TestInit covers re-initialising and refusing another mirror's directory.
func TestInit(t *testing.T) {
	p := newFakePub(t)
	m, dir := newMirror(t, p)
	m.Close()
	if err := Init(dir, "http://127.0.0.1:1/", p.list, p.signer.PublicKeyPEM(), p.logSigner.VerifierKey()); err != nil {
		t.Errorf("same init again: %v", err)
	}
	if err := Init(dir, "http://127.0.0.1:1", "other", p.signer.PublicKeyPEM(), p.logSigner.VerifierKey()); !errors.Is(err, ErrOtherMirror) {
		t.Errorf("other list: %v", err)
	}
	if err := Init(dir, "http://127.0.0.2:1", p.list, p.signer.PublicKeyPEM(), p.logSigner.VerifierKey()); !errors.Is(err, ErrOtherMirror) {
		t.Errorf("other server: %v", err)
	}
	q := newFakePub(t)
	if err := Init(dir, "http://127.0.0.1:1", p.list, q.signer.PublicKeyPEM(), p.logSigner.VerifierKey()); !errors.Is(err, ErrOtherMirror) {
		t.Errorf("other key: %v", err)
	}
	if err := Init(t.TempDir(), "http://127.0.0.1:1", p.list, []byte("not a key"), p.logSigner.VerifierKey()); err == nil {
		t.Error("bad release key accepted")
	}
	if err := Init(t.TempDir(), "http://127.0.0.1:1", p.list, p.signer.PublicKeyPEM(), "nonsense"); err == nil {
		t.Error("bad log key accepted")
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNoMirror) {
		t.Errorf("open empty dir: %v", err)
	}
	if _, err := Verify(dir, time.Now()); !errors.Is(err, ErrEmpty) {
		t.Errorf("verify before a pull: %v", err)
	}
}

// TestVerifyDetectsTampering edits the mirror file behind the mirror's
// back and checks that offline verification notices each edit.
func TestVerifyDetectsTampering(t *testing.T) {
	cases := []struct {
		name string
		edit func(tx *bolt.Tx) error
		want error
	}{
		{"member line", func(tx *bolt.Tx) error {
			// A well-formed line with another severity, left under the old
			// line's member key.
			k, v := tx.Bucket(bMembers).Cursor().First()
			it, err := release.ParseItem(v)
			if err != nil {
				return err
			}
			if it.Severity == "C" {
				it.Severity = "A"
			} else {
				it.Severity = "C"
			}
			return tx.Bucket(bMembers).Put(bytes.Clone(k), it.Line())
		}, ErrCorrupt},
		{"member removed", func(tx *bolt.Tx) error {
			// The member and its stored leaf, consistently: what is left
			// is a well-formed mirror of another set.
			k, _ := tx.Bucket(bMembers).Cursor().First()
			if err := removeLeaf(tx, k); err != nil {
				return err
			}
			return tx.Bucket(bMembers).Delete(bytes.Clone(k))
		}, ErrSetRoot},
		{"stored leaf removed", func(tx *bolt.Tx) error {
			k, _ := tx.Bucket(bMembers).Cursor().First()
			return removeLeaf(tx, k)
		}, ErrCorrupt},
		{"manifest removed", func(tx *bolt.Tx) error { return tx.Bucket(bManifests).Delete(vkey(1)) }, ErrGap},
		{"signature replaced", func(tx *bolt.Tx) error { return tx.Bucket(bSigs).Put(vkey(2), tx.Bucket(bSigs).Get(vkey(1))) }, ErrSignature},
		{"checkpoint replaced", func(tx *bolt.Tx) error {
			return tx.Bucket(bMeta).Put([]byte(mCheckpoint), []byte("hashhub/fake-node\n1\nAAAA\n"))
		}, ErrCorrupt},
		{"inclusion proof", func(tx *bolt.Tx) error {
			return tx.Bucket(bMeta).Put([]byte(mInclusion), bytes.Repeat([]byte{1}, 32))
		}, ErrNotIncluded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakePub(t)
			p.publish([]release.Change{add(a), add(b)}, pubOpts{})
			p.publish([]release.Change{add(c)}, pubOpts{})
			m, dir := newMirror(t, p)
			pull(t, m, p, p.now())
			m.Close()
			db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(tc.edit); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err = Verify(dir, p.now())
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
}

// removeLeaf drops member key k's leaf from its bucket's stored leaves.
func removeLeaf(tx *bolt.Tx, k []byte) error {
	lb := tx.Bucket(bLeaves)
	set, err := decodeLeafSet(lb.Get(k[:2]))
	if err != nil {
		return err
	}
	i, ok := set.search(setroot.Hash(k[2:]))
	if !ok {
		return errors.New("member not among the stored leaves")
	}
	set.remove(i)
	if len(set.leaves) == 0 {
		return lb.Delete(bytes.Clone(k[:2]))
	}
	return lb.Put(bytes.Clone(k[:2]), set.encode())
}

// TestConvertFormatV1 turns a mirror back into the first file format (an
// index of keys, no stored leaves) and checks that opening it for a pull
// converts it, after which it verifies and pulls as before, while a
// read-only open refuses it with a message saying so.
func TestConvertFormatV1(t *testing.T) {
	p := newFakePub(t)
	p.publish([]release.Change{add(a), add(b)}, pubOpts{})
	p.publish([]release.Change{add(c)}, pubOpts{})
	m, dir := newMirror(t, p)
	pull(t, m, p, p.now())
	m.Close()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		index, err := tx.CreateBucket(bIndex)
		if err != nil {
			return err
		}
		err = tx.Bucket(bMembers).ForEach(func(k, line []byte) error {
			it, err := release.ParseItem(line)
			if err != nil {
				return err
			}
			return index.Put([]byte(it.Key()), bytes.Clone(k))
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(bLeaves); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put([]byte(mFormat), []byte(formatV1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(dir, p.now()); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "a pull converts it") {
		t.Fatalf("read-only open of a v1 mirror: %v", err)
	}
	m, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, err := Verify(dir, p.now()); err != nil {
		t.Fatalf("verify after conversion: %v", err)
	}
	m, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p.publish([]release.Change{remove(a), update(item("sha256", "b", "A"))}, pubOpts{})
	pull(t, m, p, p.now())
	if _, err := m.Verify(p.now()); err != nil {
		t.Fatalf("verify after a pull: %v", err)
	}
}
