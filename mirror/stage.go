package mirror

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/hashhub/hashhub/setroot"
)

// A snapshot is loaded in batches, so that a mirror's memory is
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
// and the verified state never goes back.
//
// Staging runs while the snapshot downloads: the check (snapshot.go)
// hands each run of whole set-root buckets, checked line by line, with
// each line's member key and fingerprint, to a goroutine that writes it
// while the next run is read and checked, so the reading (parseSnapshot's
// own goroutine), the checks and the writes share both cores, and no line
// is parsed or hashed twice. The lines staged are therefore not yet known
// to be the signed set — the stage is not trusted for that: the swap
// compares every staged bucket digest with the tree the whole download
// was verified against (their root is the manifest's set root), and a
// refused snapshot's stage is dropped.
//
// A pull interrupted while staging (killed, a network failure, a refused
// import) resumes with the same manifest: the snapshot is downloaded and
// checked again, and the lines already staged are skipped — the snapshot
// of one set root is one sequence of lines, so they are the same lines,
// and if they are not (an earlier download was another's, cut before its
// refusal) the digests differ at the swap. A stage of another manifest is
// dropped by the first batch written.

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

// stagedLines returns how many lines of the manifest with digest are
// staged already (0 when the stage is another manifest's), writing
// nothing.
func (m *Mirror) stagedLines(digest string, entries uint64) (uint64, error) {
	var done uint64
	err := m.db.View(func(tx *bolt.Tx) error {
		if s := tx.Bucket(bStage); s != nil && string(s.Get(sDigest)) == digest {
			if done = getU64(s, string(sLines)); done > entries {
				done = 0
			}
		}
		return nil
	})
	return done, err
}

// newStage replaces any stage with an empty one for the manifest with
// digest.
func newStage(tx *bolt.Tx, digest string) (*bolt.Bucket, error) {
	if tx.Bucket(bStage) != nil {
		if err := tx.DeleteBucket(bStage); err != nil {
			return nil, err
		}
	}
	s, err := tx.CreateBucket(bStage)
	if err != nil {
		return nil, err
	}
	for _, b := range [][]byte{bMembers, bLeaves, bTree} {
		if _, err := s.CreateBucket(b); err != nil {
			return nil, err
		}
	}
	if err := s.Put(sDigest, []byte(digest)); err != nil {
		return nil, err
	}
	return s, putU64(s, string(sLines), 0)
}

// dropStage deletes the stage, if there is one.
func (m *Mirror) dropStage() error {
	return m.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bStage) == nil {
			return nil
		}
		return tx.DeleteBucket(bStage)
	})
}

// stageBatch is a run of checked snapshot lines, whole set-root buckets
// in set-root order, that one transaction stages. Its slices are bbolt's
// values until the commit, and reused after it.
type stageBatch struct {
	lines []byte   // the lines, back to back, without newlines
	ends  []int    // where each line ends in lines
	keys  []byte   // each line's member key, memberKeyLen bytes
	fps   []uint64 // each line's key fingerprint
	upto  uint64   // lines staged once this batch is: the stage's "lines"
}

func (sb *stageBatch) add(b uint16, fp uint64, leaf *setroot.Hash, line []byte) {
	sb.lines = append(sb.lines, line...)
	sb.ends = append(sb.ends, len(sb.lines))
	sb.keys = append(sb.keys, byte(b>>8), byte(b))
	sb.keys = append(sb.keys, leaf[:]...)
	sb.fps = append(sb.fps, fp)
}

func (sb *stageBatch) len() int { return len(sb.ends) }

func (sb *stageBatch) key(i int) []byte { return sb.keys[i*memberKeyLen : (i+1)*memberKeyLen] }

// bucket is line i's set-root bucket.
func (sb *stageBatch) bucket(i int) uint16 { k := sb.key(i); return uint16(k[0])<<8 | uint16(k[1]) }

func (sb *stageBatch) reset() {
	sb.lines, sb.ends, sb.keys, sb.fps = sb.lines[:0], sb.ends[:0], sb.keys[:0], sb.fps[:0]
}

// write puts the batch's members, and each bucket's leaves and digest,
// into the stage s.
func (sb *stageBatch) write(s *bolt.Bucket) error {
	members, lb, tb := s.Bucket(bMembers), s.Bucket(bLeaves), s.Bucket(bTree)
	// Member keys arrive in key order (bucket, then leaf): every put is
	// an append, and full pages stay full (bbolt splits at half a page by
	// default, which made the file twice the size of its data).
	members.FillPercent, lb.FillPercent, tb.FillPercent = 1, 1, 1
	var set leafSet
	start := 0
	for i := range sb.len() {
		k := sb.key(i)
		if err := members.Put(k, sb.lines[start:sb.ends[i]]); err != nil {
			return err
		}
		start = sb.ends[i]
		set.leaves = append(set.leaves, setroot.Hash(k[2:]))
		set.fps = append(set.fps, sb.fps[i])
		if i+1 < sb.len() && sb.bucket(i+1) == sb.bucket(i) {
			continue
		}
		d := set.digest()
		if err := lb.Put(k[:2], set.encode()); err != nil {
			return err
		}
		if err := tb.Put(k[:2], d[:]); err != nil {
			return err
		}
		set.leaves, set.fps = set.leaves[:0], set.fps[:0]
	}
	return putU64(s, string(sLines), sb.upto)
}

// stager stages a snapshot's batches on its own goroutine while the
// caller checks the lines that follow. At most three batches exist at a
// time: one being filled, one waiting, one being written.
type stager struct {
	m        *Mirror
	limit    int
	cur      *stageBatch
	upto     uint64 // lines handed over so far, the ones already staged included
	wrote    bool   // a batch has been handed over (the mirror file changes)
	batches  chan *stageBatch
	free     chan *stageBatch
	quit     chan struct{} // closed when the goroutine stops on an error
	finished chan struct{} // closed when the goroutine returns
	err      error         // why it stopped; read after quit or finished
}

// startStager stages the lines after the first done (which the stage of
// the manifest with digest holds already), reporting each batch.
func (m *Mirror) startStager(digest string, done, entries, v uint64, progress func(string)) *stager {
	s := &stager{m: m, limit: m.batch(), cur: &stageBatch{}, upto: done,
		batches: make(chan *stageBatch, 1), free: make(chan *stageBatch, 2),
		quit: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(s.finished)
		fresh := done == 0
		for sb := range s.batches {
			err := m.db.Update(func(tx *bolt.Tx) error {
				st := tx.Bucket(bStage)
				if fresh {
					var err error
					if st, err = newStage(tx, digest); err != nil {
						return err
					}
				}
				return sb.write(st)
			})
			if err != nil {
				s.err = fmt.Errorf("stage snapshot: %w", err)
				close(s.quit)
				for range s.batches {
				}
				return
			}
			fresh = false
			progress(fmt.Sprintf("version %d: staged %d of %d entries", v, sb.upto, entries))
			m.dropMapped()
			sb.reset()
			select {
			case s.free <- sb:
			default:
			}
		}
	}()
	return s
}

// add appends a checked line to the batch being filled, handing the batch
// over first if it is full and line starts another bucket.
func (s *stager) add(b uint16, fp uint64, leaf *setroot.Hash, line []byte) error {
	if n := s.cur.len(); n >= s.limit && s.cur.bucket(n-1) != b {
		if err := s.send(); err != nil {
			return err
		}
	}
	s.cur.add(b, fp, leaf, line)
	s.upto++
	return nil
}

func (s *stager) send() error {
	s.cur.upto = s.upto
	select {
	case s.batches <- s.cur:
	case <-s.quit:
		return s.err
	}
	s.wrote = true
	select {
	case s.cur = <-s.free:
	default:
		s.cur = &stageBatch{}
	}
	return nil
}

// finish stages the last batch and waits for every batch to be written.
func (s *stager) finish() error {
	var err error
	if s.cur.len() > 0 {
		err = s.send()
	}
	close(s.batches)
	<-s.finished
	if err != nil {
		return err
	}
	return s.err
}

// stop ends the staging after a failed download or check, waiting for
// the batch being written. drop drops the stage: the lines in it are not
// to be trusted, even at a resume.
func (s *stager) stop(drop bool) error {
	close(s.batches)
	<-s.finished
	if !drop {
		return nil
	}
	return s.m.dropStage()
}

// checkStage checks that the stage holds all entries lines of the
// manifest with digest, in buckets with tree's digests: tree is the
// verified snapshot's. A stage whose digests differ is another
// download's (see above): ErrStageMismatch, after which the caller drops
// it.
func checkStage(tx *bolt.Tx, digest string, entries uint64, tree *setroot.Tree) error {
	s := tx.Bucket(bStage)
	if s == nil || string(s.Get(sDigest)) != digest || getU64(s, string(sLines)) != entries {
		return fmt.Errorf("%w: the staged snapshot is not the one verified", ErrCorrupt)
	}
	staged := 0
	err := s.Bucket(bTree).ForEach(func(k, v []byte) error {
		staged++
		if len(k) != 2 {
			return ErrStageMismatch
		}
		if d := tree.Bucket(uint16(k[0])<<8 | uint16(k[1])); !bytes.Equal(v, d[:]) {
			return ErrStageMismatch
		}
		return nil
	})
	if err != nil {
		return err
	}
	empty, nonEmpty := setroot.EmptyBucket(), 0
	for b := range setroot.Buckets {
		if tree.Bucket(uint16(b)) != empty {
			nonEmpty++
		}
	}
	if staged != nonEmpty {
		return ErrStageMismatch
	}
	return nil
}

// swapStage replaces the live contents with the stage, which checkStage
// has passed. It runs inside the transaction that records the version.
func swapStage(tx *bolt.Tx) error {
	s := tx.Bucket(bStage)
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
