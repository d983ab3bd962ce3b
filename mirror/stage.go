package mirror

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"

	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
)

// A verified snapshot is loaded in batches, so that a mirror's memory is
// bounded by the batch and not by the list: bbolt keeps every page a
// transaction dirties, and every value put, until the commit, which for one
// transaction of a 10M-entry snapshot was 7.9 GB.
//
// The batches go into a staging bucket beside the live contents, never
// into them:
//
//	stage      manifest → SHA-256 (hex) of the manifest being loaded
//	           lines    → snapshot lines staged so far (a bucket boundary)
//	           members, leaves, tree → as the top-level buckets
//
// Readers (status, verify, export, a match index) and an interrupted pull
// see only the top-level buckets, which keep the version last verified
// until one last transaction swaps the staged buckets in, with the
// manifests and the version: so no half-loaded version is ever visible,
// and the verified state never goes back. A pull interrupted while
// staging (killed, a network failure, a refused import) resumes with the
// same manifest: the snapshot is downloaded and verified again, and the
// lines already staged are skipped — the snapshot of one set root is one
// sequence of lines, so they are the same lines. A stage of another
// manifest is dropped first.

// DefaultBatch is how many snapshot lines one transaction stages (0 in
// Mirror.Batch). It rounds up to the end of a set-root bucket, so a
// bucket's leaves are written whole. 50,000 lines of ~130 bytes keep a
// transaction's values and dirty pages near 25 MB.
const DefaultBatch = 50_000

var (
	bStage  = []byte("stage")
	sDigest = []byte("manifest")
	sLines  = []byte("lines")
)

func (m *Mirror) batch() int {
	if m.Batch > 0 {
		return m.Batch
	}
	return DefaultBatch
}

// prepareStage returns how many lines of the manifest with digest are
// staged already, dropping a stage of any other manifest.
func (m *Mirror) prepareStage(digest string, entries uint64) (uint64, error) {
	var done uint64
	err := m.db.Update(func(tx *bolt.Tx) error {
		if s := tx.Bucket(bStage); s != nil {
			if string(s.Get(sDigest)) == digest {
				if done = getU64(s, string(sLines)); done <= entries {
					return nil
				}
			}
			if err := tx.DeleteBucket(bStage); err != nil {
				return err
			}
		}
		done = 0
		s, err := tx.CreateBucket(bStage)
		if err != nil {
			return err
		}
		for _, b := range [][]byte{bMembers, bLeaves, bTree} {
			if _, err := s.CreateBucket(b); err != nil {
				return err
			}
		}
		if err := s.Put(sDigest, []byte(digest)); err != nil {
			return err
		}
		return putU64(s, string(sLines), 0)
	})
	return done, err
}

// lineReader reads spooled snapshot lines with one line of look-ahead.
type lineReader struct {
	br   *bufio.Reader
	line []byte
	n    uint64
	err  error
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, release.MaxLine+1)}
}

// peek returns the next line (without its newline) and false at the end
// or on an error (lr.err).
func (lr *lineReader) peek() ([]byte, bool) {
	if lr.line != nil {
		return lr.line, true
	}
	if lr.err != nil {
		return nil, false
	}
	line, err := lr.br.ReadSlice('\n')
	switch {
	case err == io.EOF && len(line) == 0:
		lr.err = io.EOF
		return nil, false
	case err != nil:
		// The spool holds only lines spoolSnapshot checked.
		lr.err = fmt.Errorf("%w: spooled snapshot line %d: %v", ErrCorrupt, lr.n+1, err)
		return nil, false
	}
	lr.line = line[:len(line)-1]
	return lr.line, true
}

func (lr *lineReader) next() {
	lr.line = nil
	lr.n++
}

// end returns nil at the end of the lines, or what stopped them.
func (lr *lineReader) end() error {
	if errors.Is(lr.err, io.EOF) {
		return nil
	}
	return lr.err
}

// stageSnapshot writes the spooled, verified snapshot r into the stage,
// skipping the done lines already there, one batch per transaction.
func (m *Mirror) stageSnapshot(r io.Reader, done, entries uint64, v uint64, progress func(string)) error {
	lr := newLineReader(r)
	for lr.n < done {
		if _, ok := lr.peek(); !ok {
			return fmt.Errorf("%w: the stage holds %d lines of a snapshot of %d", ErrCorrupt, done, lr.n)
		}
		lr.next()
	}
	if done > 0 {
		progress(fmt.Sprintf("version %d: resuming the snapshot load at line %d of %d", v, done, entries))
	}
	limit := m.batch()
	for {
		if _, ok := lr.peek(); !ok {
			return lr.end()
		}
		err := m.db.Update(func(tx *bolt.Tx) error {
			s := tx.Bucket(bStage)
			members, lb, tb := s.Bucket(bMembers), s.Bucket(bLeaves), s.Bucket(bTree)
			cur, wrote := -1, 0
			var set leafSet
			flush := func() error {
				k := []byte{byte(cur >> 8), byte(cur)}
				d := set.digest()
				if err := lb.Put(k, set.encode()); err != nil {
					return err
				}
				set = leafSet{}
				return tb.Put(k, d[:])
			}
			for {
				line, ok := lr.peek()
				if !ok {
					if err := lr.end(); err != nil {
						return err
					}
					break
				}
				key, ok := release.LineKey(line)
				if !ok {
					return fmt.Errorf("%w: spooled snapshot line %d", ErrCorrupt, lr.n+1)
				}
				b, fp := keyBucket(key)
				if int(b) != cur {
					if cur >= 0 {
						if err := flush(); err != nil {
							return err
						}
						if wrote >= limit {
							break
						}
					}
					cur = int(b)
				}
				leaf := setroot.LeafHash(line)
				set.leaves = append(set.leaves, leaf)
				set.fps = append(set.fps, fp)
				// bbolt keeps the value until the commit: line is reused.
				if err := members.Put(memberKeyOf(b, &leaf), bytes.Clone(line)); err != nil {
					return err
				}
				lr.next()
				wrote++
			}
			if len(set.leaves) > 0 {
				if err := flush(); err != nil {
					return err
				}
			}
			return putU64(s, string(sLines), lr.n)
		})
		if err != nil {
			return err
		}
		progress(fmt.Sprintf("version %d: staged %d of %d entries", v, lr.n, entries))
		m.dropMapped()
	}
}

// swapStage replaces the live contents with the stage, which must hold
// all entries lines of the manifest with digest. It runs inside the
// transaction that records the version.
func swapStage(tx *bolt.Tx, digest string, entries uint64) error {
	s := tx.Bucket(bStage)
	if s == nil || string(s.Get(sDigest)) != digest || getU64(s, string(sLines)) != entries {
		return fmt.Errorf("%w: the staged snapshot is not the one verified", ErrCorrupt)
	}
	if tx.Bucket(bIndex) != nil {
		if err := tx.DeleteBucket(bIndex); err != nil {
			return err
		}
	}
	for _, b := range [][]byte{bMembers, bLeaves, bTree} {
		if err := tx.DeleteBucket(b); err != nil {
			return err
		}
		if err := tx.MoveBucket(b, s, nil); err != nil {
			return err
		}
	}
	return tx.DeleteBucket(bStage)
}
