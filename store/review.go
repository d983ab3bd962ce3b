package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// bReview is the review queue's index: the entries some list still waits
// on, keyed by rank (one byte, 0 first) and the entry's sequence number,
// so that the queue is a range scan in the order analysts work through it.
// The value names the organisations that have assessed the entry, one per
// line, so that a queue for one organisation skips what it has assessed
// without decoding an entry. The domain decides rank and membership (see
// hub's review index); the store keeps one key per entry.
var bReview = []byte("review_queue")

// ReviewRanks is how many ranks the review index has.
const ReviewRanks = 2

func init() { allBuckets = append(allBuckets, bReview) }

func reviewKey(rank byte, seq uint64) []byte {
	var k [9]byte
	k[0] = rank
	binary.BigEndian.PutUint64(k[1:], seq)
	return k[:]
}

// ReviewPos is a position in the review index: rank in the top byte, the
// entry's sequence number below. It serves as the queue's cursor.
func ReviewPos(rank byte, seq uint64) uint64 { return uint64(rank)<<56 | seq&(1<<56-1) }

// PutReview files the entry seq at rank with the organisations that
// assessed it, removing it from any other rank (unless fresh: a new entry
// is in no rank yet, and an import of millions spares the deletes).
func (t *Tx) PutReview(seq uint64, rank byte, orgs []string, fresh bool) error {
	if rank >= ReviewRanks {
		return fmt.Errorf("review rank %d out of range", rank)
	}
	b := t.b(bReview)
	for r := byte(0); r < ReviewRanks && !fresh; r++ {
		if r != rank {
			if err := b.Delete(reviewKey(r, seq)); err != nil {
				return err
			}
		}
	}
	return b.Put(t.keep(reviewKey(rank, seq)), t.keep([]byte(strings.Join(orgs, "\n"))))
}

// DropReview removes the entry seq from the review index.
func (t *Tx) DropReview(seq uint64) error {
	b := t.b(bReview)
	for r := byte(0); r < ReviewRanks; r++ {
		if err := b.Delete(reviewKey(r, seq)); err != nil {
			return err
		}
	}
	return nil
}

// ClearReview empties the review index (before rebuilding it).
func (t *Tx) ClearReview() error {
	if err := t.tx.DeleteBucket(bReview); err != nil {
		return err
	}
	_, err := t.tx.CreateBucket(bReview)
	return err
}

// ReviewAfter calls fn for the review index after position pos (see
// ReviewPos) in order, saying whether the organisation org assessed the
// entry (read from the index, not the entry); fn returns false to stop.
func (t *Tx) ReviewAfter(pos uint64, org string, fn func(rank byte, seq uint64, assessed bool) (bool, error)) error {
	c := t.b(bReview).Cursor()
	start := reviewKey(byte(pos>>56), pos&(1<<56-1)+1)
	if pos == 0 {
		start = reviewKey(0, 0)
	}
	o := []byte(org)
	for k, v := c.Seek(start); k != nil; k, v = c.Next() {
		if len(k) != 9 {
			return fmt.Errorf("review key %x: %w", k, errCorrupt)
		}
		more, err := fn(k[0], binary.BigEndian.Uint64(k[1:]), assessedBy(v, o))
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// ReviewCount is how many entries the review index holds.
func (t *Tx) ReviewCount() int { return t.b(bReview).Stats().KeyN }

func assessedBy(v, org []byte) bool {
	for len(v) > 0 {
		line := v
		if i := bytes.IndexByte(v, '\n'); i >= 0 {
			line, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if bytes.Equal(line, org) {
			return true
		}
	}
	return false
}

// bReviewCounts counts each person's reviews per UTC day, keyed
// "user\x00YYYY-MM-DD", a big-endian uint64 each.
var bReviewCounts = []byte("review_counts")

func init() { allBuckets = append(allBuckets, bReviewCounts) }

// AddReview counts one review by user on day (YYYY-MM-DD).
func (t *Tx) AddReview(user, day string) error {
	k := []byte(user + "\x00" + day)
	b := t.b(bReviewCounts)
	var n uint64
	if v := b.Get(k); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	return b.Put(t.keep(k), t.seqKey(n+1))
}

// Reviews is how many reviews user made on day.
func (t *Tx) Reviews(user, day string) int {
	if v := t.b(bReviewCounts).Get([]byte(user + "\x00" + day)); len(v) == 8 {
		return int(binary.BigEndian.Uint64(v))
	}
	return 0
}
