package mirror

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
	"github.com/hashhub/hashhub/translog"
)

// Report is what an offline verification found.
type Report struct {
	State
	// Manifests is how many manifests were checked (Base … Version).
	Manifests uint64 `json:"manifests"`
	// Expired: the current manifest is past its expiry at the time given.
	Expired bool `json:"expired"`
	// Notes say what could not be checked and why that is expected.
	Notes []string `json:"notes,omitempty"`
}

// Verify re-checks the mirror in dir without the network (see
// (*Mirror).Verify). It opens the file read-only and never changes it.
func Verify(dir string, now time.Time) (*Report, error) {
	m, err := OpenReadOnly(dir)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	return m.Verify(now)
}

// Verify re-checks everything the mirror holds against the pinned keys,
// trusting nothing a pull recorded: every stored manifest's signature and
// the hash chain and version sequence between them, the stored
// checkpoint's signature and the current manifest's inclusion in it, the
// stored leaves against the members, and the set root and entry count
// recomputed from scratch (every bucket digest from the members' lines,
// not from the stored leaves or the incremental tree) against the current
// manifest's.
//
// Expiry is checked last: an error wrapping ErrExpired comes with a full
// report and means every other check passed, so a caller may treat it as
// a warning (an archived mirror) or a failure (a platform's live list).
func (m *Mirror) Verify(now time.Time) (*Report, error) {
	var rep *Report
	err := m.db.View(func(tx *bolt.Tx) error {
		st, err := m.state(tx)
		if err != nil {
			return err
		}
		rep = &Report{State: *st}
		if st.Version == 0 {
			return fmt.Errorf("%w: %s mirrors %q but has not pulled a release", ErrEmpty, m.dir, st.List)
		}
		cur, err := m.verifyChain(tx, st, rep)
		if err != nil {
			return err
		}
		if err := m.verifyCheckpoint(tx, cur); err != nil {
			return err
		}
		return m.verifyContents(tx, st, cur)
	})
	if err != nil {
		return rep, err
	}
	if !now.Before(rep.ExpiresTime()) {
		rep.Expired = true
		return rep, fmt.Errorf("version %d: %w at %s (now %s)", rep.Version, ErrExpired, rep.Expires, release.FormatTime(now))
	}
	return rep, nil
}

// ExpiresTime parses Expires (zero if unset).
func (s *State) ExpiresTime() time.Time {
	t, _ := time.Parse(release.TimeFormat, s.Expires)
	return t
}

// verifyChain checks manifests Base … Version and returns the current one.
func (m *Mirror) verifyChain(tx *bolt.Tx, st *State, rep *Report) (*verified, error) {
	if st.Base == 0 || st.Base > st.Version {
		return nil, fmt.Errorf("%w: chain starts at version %d, current version %d", ErrCorrupt, st.Base, st.Version)
	}
	// The node is part of what is checked, not an input to it.
	chk := *st
	chk.Node = ""
	var prev *verified
	for v := st.Base; v <= st.Version; v++ {
		raw := tx.Bucket(bManifests).Get(vkey(v))
		if raw == nil {
			return nil, fmt.Errorf("refused version %d: %w: the mirror holds no manifest for it", v, ErrGap)
		}
		vm, err := m.check(&chk, v, bytes.Clone(raw), bytes.Clone(tx.Bucket(bSigs).Get(vkey(v))))
		if err == nil {
			err = checkChain(prev, vm)
		}
		if err == nil && vm.m.Node != st.Node {
			err = fmt.Errorf("%w: version %d is from node %q, the mirror follows %q", ErrWrongList, v, vm.m.Node, st.Node)
		}
		if err != nil {
			return nil, fmt.Errorf("refused version %d: %w", v, err)
		}
		prev = vm
		rep.Manifests++
	}
	if st.Base > 1 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the mirror started from the snapshot of version %d: versions before it were never held, so the chain is checked from there", st.Base))
	}
	return prev, nil
}

// verifyCheckpoint checks the stored checkpoint's signature and the
// current manifest's inclusion in it.
func (m *Mirror) verifyCheckpoint(tx *bolt.Tx, cur *verified) error {
	meta := tx.Bucket(bMeta)
	cp, err := openCheckpoint(meta.Get([]byte(mCheckpoint)), m.logKey)
	if err != nil {
		return fmt.Errorf("refused checkpoint: %w", err)
	}
	enc := meta.Get([]byte(mInclusion))
	if len(enc)%tlog.HashSize != 0 || len(enc)/tlog.HashSize > translog.MaxProofHashes {
		return fmt.Errorf("%w: stored inclusion proof of %d bytes", ErrCorrupt, len(enc))
	}
	proof := make([]tlog.Hash, len(enc)/tlog.HashSize)
	for i := range proof {
		copy(proof[i][:], enc[i*tlog.HashSize:])
	}
	if err := translog.VerifyInclusion(cp, cur.m.LogIndex, cur.raw, proof); err != nil {
		return fmt.Errorf("refused version %d: %w: %s", cur.m.Version, ErrNotIncluded, detail(err, translog.ErrNotIncluded))
	}
	return nil
}

// verifyContents recomputes every bucket digest from the members' lines
// and checks the stored leaves and the incremental tree against them. It
// streams: the members are read in order, one set-root bucket at a time,
// in as many parts of the bucket range as there are cores (each in its
// own read transaction of the same committed state: the caller's, which
// Verify holds open, keeps it from being freed), and the mapped pages
// read are let go as it goes, so memory does not grow with the list.
func (m *Mirror) verifyContents(tx *bolt.Tx, st *State, cur *verified) error {
	parts := min(runtime.GOMAXPROCS(0), 8)
	digests := make([]setroot.Hash, setroot.Buckets)
	counts := make([]int, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*setroot.Buckets/parts, (p+1)*setroot.Buckets/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[p] = m.db.View(func(tx *bolt.Tx) error {
				n, err := m.verifyBuckets(tx, lo, hi, digests)
				counts[p] = n
				return err
			})
		}()
	}
	wg.Wait()
	m.dropMapped()
	n := 0
	for p := range parts {
		if errs[p] != nil {
			return errs[p]
		}
		n += counts[p]
	}
	stored := 0
	if err := tx.Bucket(bLeaves).ForEach(func(k, v []byte) error {
		stored += len(v) / 40
		return nil
	}); err != nil {
		return err
	}
	if stored != n {
		return fmt.Errorf("%w: %d stored leaves for %d members", ErrCorrupt, stored, n)
	}
	// The tree is built afresh from the digests just computed, not from
	// the stored ones (m.tree, checked against it below).
	fresh := setroot.NewTree()
	for b, d := range digests {
		fresh.SetBucket(uint16(b), d)
	}
	root := fresh.Root()
	if hexRoot(root) != cur.m.SetRoot || uint64(n) != cur.m.Entries || st.Entries != cur.m.Entries {
		return fmt.Errorf("refused version %d: %w: the members have set root %s and %d entries (recorded %d); the manifest says %s and %d",
			cur.m.Version, ErrSetRoot, hexRoot(root), n, st.Entries, cur.m.SetRoot, cur.m.Entries)
	}
	if t := m.tree.Root(); t != root {
		return fmt.Errorf("%w: the stored set-root buckets give %s, the members %s", ErrCorrupt, hexRoot(t), hexRoot(root))
	}
	return nil
}

// verifyBuckets checks the members of set-root buckets lo..hi-1: each a
// canonical line stored under its own bucket and leaf hash, the members
// of a bucket exactly its stored leaves and fingerprints, in order. It
// sets each bucket's digest (the empty bucket's where there are no
// members) and returns how many members it read.
func (m *Mirror) verifyBuckets(tx *bolt.Tx, lo, hi int, digests []setroot.Hash) (int, error) {
	members, lb := tx.Bucket(bMembers), tx.Bucket(bLeaves)
	for b := lo; b < hi; b++ {
		digests[b] = setroot.EmptyBucket()
	}
	c := members.Cursor()
	n, cur, pos := 0, -1, 0
	var set *leafSet
	var leaves []setroot.Hash
	finish := func() error {
		if cur < 0 {
			return nil
		}
		if pos != len(set.leaves) {
			return fmt.Errorf("%w: set-root bucket %d has %d stored leaves and %d members", ErrCorrupt, cur, len(set.leaves), pos)
		}
		digests[cur] = setroot.BucketDigest(leaves)
		return nil
	}
	for k, line := c.Seek([]byte{byte(lo >> 8), byte(lo)}); k != nil; k, line = c.Next() {
		if len(k) != memberKeyLen {
			return n, fmt.Errorf("%w: member key %x", ErrCorrupt, k)
		}
		if int(k[0])<<8|int(k[1]) >= hi {
			break
		}
		it, err := release.ParseItem(line)
		if err != nil {
			return n, fmt.Errorf("%w: member %x: %w", ErrCorrupt, k, err)
		}
		b, fp := keyBucket(it.Key())
		leaf := setroot.LeafHash(line)
		if int(b) != int(k[0])<<8|int(k[1]) || !bytes.Equal(leaf[:], k[2:]) {
			return n, fmt.Errorf("%w: member %x is not where its line belongs", ErrCorrupt, k)
		}
		if int(b) != cur {
			if err := finish(); err != nil {
				return n, err
			}
			cur, pos, leaves = int(b), 0, leaves[:0]
			if set, err = decodeLeafSet(lb.Get(k[:2])); err != nil {
				return n, err
			}
		}
		if pos >= len(set.leaves) || set.leaves[pos] != leaf || set.fps[pos] != fp {
			return n, fmt.Errorf("%w: member %x is not among its bucket's stored leaves", ErrCorrupt, k)
		}
		leaves = append(leaves, leaf)
		pos++
		if n++; n%(1<<15) == 0 {
			m.dropMapped()
		}
	}
	return n, finish()
}

// Export formats.
const (
	ExportNDJSON = "ndjson"
	ExportCSV    = "csv"
)

// CSVHeader is the first line of a CSV export, as the node's CSV snapshot.
const CSVHeader = "algo,value,quality,severity\n"

// Export writes the mirror's current entries, one per line, in the order
// and form of the node's snapshot of the same version (so an NDJSON export
// is byte for byte GET …/snapshot, and an auditor can run the documented
// set-root procedure on it): NDJSON canonical lines, or CSV with a header.
func (m *Mirror) Export(w io.Writer, format string) error {
	if format != ExportNDJSON && format != ExportCSV {
		return fmt.Errorf("export format %q: use %s or %s", format, ExportNDJSON, ExportCSV)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if format == ExportCSV {
		bw.WriteString(CSVHeader)
	}
	err := m.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bMembers).ForEach(func(_, line []byte) error {
			if format == ExportNDJSON {
				bw.Write(line)
				return bw.WriteByte('\n')
			}
			it, err := release.ParseItem(line)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
			q := ""
			if it.Quality != nil {
				q = strconv.Itoa(*it.Quality)
			}
			// No field can hold a comma or quote: hash values are hex or
			// base64, severity is A–C.
			_, err = bw.WriteString(strings.Join([]string{it.Algo, it.Value, q, it.Severity}, ",") + "\n")
			return err
		})
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
