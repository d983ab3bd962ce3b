package hub

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/records"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/store"
)

// A snapshot step's records name their keys in key order, a record per
// import batch of the origin, while the snapshot comes in set-root order:
// by bucket, the first two bytes of SHA-256(key), which are also the
// first two bytes of the key's index key. To match the two without
// holding either, the records' keys are spooled to a file by index-key
// range (fineParts ranges, the first 12 bits of the index key), and the
// snapshot is read once, one part (consecutive ranges holding about
// PeerBatch keys) at a time: a part's keys are read back and sorted, the
// snapshot's entries of that part looked up in them, and the part's
// entries written in one transaction.
const (
	fineParts = 4096
	// fineChunk is the buffer of one range before it goes to the file.
	fineChunk = 4 << 10
)

func fineOf(ik []byte) int { return int(binary.BigEndian.Uint16(ik)) >> 4 }

// keySpool holds the (index key, record, key) triples of a step's records
// by index-key range: in a buffer per range, spilled to an unlinked
// temporary file in chunks as it fills.
type keySpool struct {
	dir    string
	f      *os.File
	w      *bufio.Writer
	off    int64
	bufs   [][]byte
	chunks [][]keyChunk
	counts []int
}

type keyChunk struct {
	off int64
	n   int
}

func newKeySpool(dir string) *keySpool {
	return &keySpool{dir: dir, bufs: make([][]byte, fineParts), chunks: make([][]keyChunk, fineParts), counts: make([]int, fineParts)}
}

func (ks *keySpool) add(ik *[store.IndexKeyLen]byte, rec int32, key string) error {
	p := fineOf(ik[:])
	b := ks.bufs[p]
	need := len(ik) + 2*binary.MaxVarintLen32 + len(key)
	if b != nil && len(b)+need > cap(b) {
		if err := ks.spill(p, b); err != nil {
			return err
		}
		b = b[:0]
	}
	if b == nil {
		b = make([]byte, 0, max(fineChunk, need))
	}
	b = append(b, ik[:]...)
	b = binary.AppendUvarint(b, uint64(rec))
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	ks.bufs[p] = b
	ks.counts[p]++
	return nil
}

func (ks *keySpool) spill(p int, b []byte) error {
	if ks.f == nil {
		f, err := os.CreateTemp(ks.dir, "peer-keys-*.spool")
		if err != nil {
			return err
		}
		if err := os.Remove(f.Name()); err != nil {
			f.Close()
			return err
		}
		ks.f, ks.w = f, bufio.NewWriterSize(f, 1<<20)
	}
	if _, err := ks.w.Write(b); err != nil {
		return err
	}
	ks.chunks[p] = append(ks.chunks[p], keyChunk{ks.off, len(b)})
	ks.off += int64(len(b))
	return nil
}

// read appends the triples of ranges lo..hi-1 to dst and forgets them.
func (ks *keySpool) read(dst []byte, lo, hi int) ([]byte, error) {
	if ks.w != nil && ks.w.Buffered() > 0 {
		if err := ks.w.Flush(); err != nil {
			return nil, err
		}
	}
	for p := lo; p < hi; p++ {
		for _, c := range ks.chunks[p] {
			n := len(dst)
			dst = slices.Grow(dst, c.n)[:n+c.n]
			if _, err := ks.f.ReadAt(dst[n:], c.off); err != nil {
				return nil, fmt.Errorf("peer step: read key spool: %w", err)
			}
		}
		dst = append(dst, ks.bufs[p]...)
		ks.bufs[p], ks.chunks[p] = nil, nil
	}
	return dst, nil
}

func (ks *keySpool) close() {
	if ks.f != nil {
		ks.f.Close()
	}
}

// keyPair is one key a record names; keyGroup the pairs of one key (in
// (origin, seq) order of their records) and, if the key is in the
// snapshot, the snapshot's hash of it.
type keyPair struct {
	ik  [store.IndexKeyLen]byte
	rec int32
	key string
}

type keyGroup struct {
	ik     [store.IndexKeyLen]byte
	key    string
	recs   []int32
	h      hashes.Hash
	inStep bool
}

// snapPart is one part of a snapshot step being imported: the keys its
// records name, by (index key, key).
type snapPart struct {
	buf    []byte
	pairs  []keyPair
	recs   []int32
	groups []keyGroup
	ws     []peerWork // what the part writes, from work
}

// load reads the part's pairs from the spool; rank maps a record's index
// as spooled to its index in (origin, seq) order.
func (sp *snapPart) load(ks *keySpool, lo, hi int, rank []int32) error {
	var err error
	sp.buf, err = ks.read(sp.buf[:0], lo, hi)
	if err != nil {
		return err
	}
	// One string for the keys of the part; the pairs slice it.
	data := string(sp.buf)
	clear(sp.pairs)
	sp.pairs = sp.pairs[:0]
	for off := 0; off < len(data); {
		var p keyPair
		copy(p.ik[:], data[off:])
		off += len(p.ik)
		rec, w1 := binary.Uvarint(sp.buf[off:])
		off += max(w1, 0)
		n, w2 := binary.Uvarint(sp.buf[off:])
		off += max(w2, 0)
		if w1 <= 0 || w2 <= 0 || rec >= uint64(len(rank)) || off+int(n) > len(data) {
			return fmt.Errorf("peer step: key spool corrupt")
		}
		p.rec, p.key = rank[rec], data[off:off+int(n)]
		off += int(n)
		sp.pairs = append(sp.pairs, p)
	}
	slices.SortFunc(sp.pairs, func(x, y keyPair) int {
		return cmp.Or(bytes.Compare(x.ik[:], y.ik[:]), strings.Compare(x.key, y.key), cmp.Compare(x.rec, y.rec))
	})
	sp.recs = slices.Grow(sp.recs[:0], len(sp.pairs))[:len(sp.pairs)]
	clear(sp.groups)
	sp.groups = sp.groups[:0]
	for i := 0; i < len(sp.pairs); {
		j := i + 1
		for j < len(sp.pairs) && sp.pairs[j].ik == sp.pairs[i].ik && sp.pairs[j].key == sp.pairs[i].key {
			j++
		}
		for k := i; k < j; k++ {
			sp.recs[k] = sp.pairs[k].rec
		}
		sp.groups = append(sp.groups, keyGroup{ik: sp.pairs[i].ik, key: sp.pairs[i].key, recs: sp.recs[i:j:j]})
		i = j
	}
	return nil
}

func (sp *snapPart) find(ik *[store.IndexKeyLen]byte, key string) *keyGroup {
	i, ok := slices.BinarySearchFunc(sp.groups, ik, func(g keyGroup, ik *[store.IndexKeyLen]byte) int {
		return cmp.Or(bytes.Compare(g.ik[:], ik[:]), strings.Compare(g.key, key))
	})
	if !ok {
		return nil
	}
	return &sp.groups[i]
}

// work is what the part writes: every key of the part's records that is
// in the snapshot, and every key of a record not held before that this
// node holds (a retraction of an entry no longer in the list), in index
// order. A key in the snapshot comes with the entry made from its
// records in case this node does not hold it yet (every entry, for a new
// peer): made here, on the goroutine that reads the snapshot, not in the
// part's transaction.
func (sp *snapPart) work(ws []peerWork, fresh []bool, recs []verifiedRecord, now time.Time) []peerWork {
	ws = ws[:0]
	for i := range sp.groups {
		g := &sp.groups[i]
		if g.inStep {
			w := peerWork{ik: g.ik, h: g.h, recs: g.recs, premade: true}
			e := &entries.Entry{Hash: g.h, Created: now, Updated: now}
			for _, r := range g.recs {
				if applyRecord(e, recs[r].rec, recs[r].org.countAs) {
					w.made = e
				}
			}
			ws = append(ws, w)
			continue
		}
		j := slices.IndexFunc(g.recs, func(r int32) bool { return fresh[r] })
		if j < 0 {
			continue
		}
		h, err := hashes.ParseKey(g.key)
		if err != nil {
			continue
		}
		ws = append(ws, peerWork{ik: g.ik, h: h, recs: g.recs[j:], held: true})
	}
	return ws
}

// partWriter writes the parts of a snapshot step on a goroutine of its
// own, in order, one transaction each, and hands each part back to be
// read into again once written. It has two parts to give, so the one
// being written and the next being read are all it holds.
type partWriter struct {
	todo    chan partWrite
	free    chan partFree
	done    chan struct{}
	err     error // the first write's error; read after done
	stopped bool
}

type partWrite struct {
	n  int // parts written with this one
	sp *snapPart
}

// partFree is a part to read into, and the error of the writes before,
// if one failed.
type partFree struct {
	sp  *snapPart
	err error
}

func newPartWriter(write func(n int, ws []peerWork) error) *partWriter {
	w := &partWriter{todo: make(chan partWrite), free: make(chan partFree, 2), done: make(chan struct{})}
	w.free <- partFree{sp: &snapPart{}}
	w.free <- partFree{sp: &snapPart{}}
	go func() {
		defer close(w.done)
		for pw := range w.todo {
			if w.err == nil {
				w.err = write(pw.n, pw.sp.ws)
			}
			clear(pw.sp.ws)
			w.free <- partFree{sp: pw.sp, err: w.err}
		}
	}()
	return w
}

// next waits for a part to read into; it fails once a write has.
func (w *partWriter) next() (*snapPart, error) {
	f := <-w.free
	if f.err != nil {
		return nil, f.err
	}
	return f.sp, nil
}

// put hands part sp, its ws made, to be written.
func (w *partWriter) put(n int, sp *snapPart) { w.todo <- partWrite{n, sp} }

// stop waits for the parts handed over to be written and returns the
// first error; it may be called again.
func (w *partWriter) stop() error {
	if !w.stopped {
		w.stopped = true
		close(w.todo)
		<-w.done
	}
	return w.err
}

// SnapshotRecords are a snapshot step's records verified and the keys
// they name spooled by index-key range (step 1 of applyPeerSnapshot),
// made by PrepareSnapshotRecords ahead of the step so that the work is
// done while the step's entries download. Close lets go of the spool.
type SnapshotRecords struct {
	ks     *keySpool
	recs   []verifiedRecord // kept, in (origin, seq) order
	rank   []int32          // a kept record's place in recs, by its place among the kept as they came
	kept   []bool           // by the record's place in the stream
	refs   []store.RecordRef
	sums   [][sha256.Size]byte
	known  map[string]origin // the origins' keys they were verified with
	counts StepResult        // Records, Own and Unknown
}

// Close lets go of the key spool.
func (sr *SnapshotRecords) Close() {
	if sr != nil {
		sr.ks.close()
	}
}

// PrepareSnapshotRecords verifies a snapshot step's records (each yields
// them, as PeerStep.RangeRecords, the same on every call) and spools
// their keys, for the PeerStep.Prepared of one ApplyPeerStep with the
// same records (it reads the spool once). A step applied after the
// origins' keys changed verifies them again.
func (s *Service) PrepareSnapshotRecords(each func(fn func(records.Signed) error) error) (*SnapshotRecords, error) {
	known, err := s.origins()
	if err != nil {
		return nil, err
	}
	return s.prepareSnapshotRecords(each, known)
}

// sameOrigins reports whether two reads of the origins' keys agree.
func sameOrigins(a, b map[string]origin) bool {
	return maps.EqualFunc(a, b, func(x, y origin) bool { return x.key.Equal(y.key) && x.countAs == y.countAs })
}

func (s *Service) prepareSnapshotRecords(eachRec func(fn func(records.Signed) error) error, known map[string]origin) (*SnapshotRecords, error) {
	ks := newKeySpool(s.TempDir)
	ok := false
	defer func() {
		if !ok {
			ks.close()
		}
	}()
	res := &StepResult{}
	var (
		recs  []verifiedRecord
		kept  []bool              // by the record's place in the stream
		refs  []store.RecordRef   // of the kept records, in stream order
		sums  [][sha256.Size]byte // of their bytes, to write only those verified
		group []records.Signed
		held  int // bytes in group
	)
	verify := func() error {
		vs, err := s.verifyRecords(group, known, res)
		if err != nil {
			return err
		}
		base := len(kept)
		kept = append(kept, make([]bool, len(group))...)
		for i := range vs {
			v := &vs[i]
			kept[base+v.src] = true
			refs = append(refs, store.RecordRef{Origin: v.rec.Origin, Seq: v.rec.Seq})
			sums = append(sums, signedSum(v.signed))
			ri := int32(len(recs))
			for _, k := range v.rec.Keys {
				sum := sha256.Sum256([]byte(k))
				if err := ks.add((*[store.IndexKeyLen]byte)(sum[:store.IndexKeyLen]), ri, k); err != nil {
					return err
				}
			}
			v.rec.Keys, v.signed = nil, records.Signed{}
			recs = append(recs, *v)
		}
		clear(group)
		group, held = group[:0], 0
		return nil
	}
	if err := eachRec(func(sr records.Signed) error {
		group = append(group, records.Signed{Raw: slices.Clone(sr.Raw), Sig: slices.Clone(sr.Sig)})
		held += len(sr.Raw)
		if len(group) >= 4*runtime.GOMAXPROCS(0) || held >= 16<<20 {
			return verify()
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := verify(); err != nil {
		return nil, err
	}
	// Records apply to an entry in (origin, seq) order.
	order := make([]int32, len(recs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(x, y int32) int {
		return cmp.Or(cmp.Compare(recs[x].rec.Origin, recs[y].rec.Origin), cmp.Compare(recs[x].rec.Seq, recs[y].rec.Seq))
	})
	rank := make([]int32, len(recs))
	sorted := make([]verifiedRecord, len(recs))
	for j, i := range order {
		rank[i] = int32(j)
		sorted[j] = recs[i]
	}
	ok = true
	return &SnapshotRecords{ks: ks, recs: sorted, rank: rank, kept: kept, refs: refs, sums: sums, known: known, counts: *res}, nil
}

// applyPeerSnapshot imports a snapshot step in memory bounded by
// PeerBatch, not by the list:
//
//  1. the records are read (RangeRecords, or Records), verified a few at
//     a time on every core, and their keys spooled by index-key range;
//     each record is kept without its keys and bytes (prepareSnapshotRecords,
//     or done ahead: PeerStep.Prepared);
//  2. the snapshot is read once, in set-root order, and written one part
//     of about PeerBatch record keys a transaction (keySpool), each
//     part's transaction on a goroutine of its own while the next part
//     is read (partWriter);
//  3. the records are read again and written in transactions of about
//     PeerBatch × 128 bytes, the last with the peer's cursor.
//
// The records are written after every entry, so a crash before the
// cursor moves leaves each record either not held (and the step applied
// again finds it fresh) or held with every entry it names written.
func (s *Service) applyPeerSnapshot(st *PeerStep, known map[string]origin, res *StepResult) (*StepResult, error) {
	batch := cmp.Or(s.PeerBatch, DefaultPeerBatch)
	now := s.now().UTC()
	eachRec := st.RangeRecords
	if eachRec == nil {
		eachRec = func(fn func(records.Signed) error) error {
			for _, sr := range st.Records {
				if err := fn(sr); err != nil {
					return err
				}
			}
			return nil
		}
	}
	sr := st.Prepared
	if sr == nil || !sameOrigins(sr.known, known) {
		// Not prepared, or prepared with keys that have changed since.
		var err error
		if sr, err = s.prepareSnapshotRecords(eachRec, known); err != nil {
			return nil, err
		}
		defer sr.Close()
	}
	res.Records, res.Own, res.Unknown = sr.counts.Records, sr.counts.Own, sr.counts.Unknown
	ks, recs, rank, kept, refs, sums := sr.ks, sr.recs, sr.rank, sr.kept, sr.refs, sr.sums
	fresh := make([]bool, len(recs))
	if err := s.db.View(func(tx *store.Tx) error {
		for i := range recs {
			fresh[i] = !tx.HasRecord(recs[i].rec.Origin, recs[i].rec.Seq)
		}
		return nil
	}); err != nil {
		return nil, err
	}

	// 2. The entries, a part at a time. Parts are consecutive ranges
	// holding about batch keys.
	type span struct{ lo, hi int }
	var parts []span
	partOf := make([]int32, fineParts)
	for p, lo, n := 0, 0, 0; p < fineParts; p++ {
		partOf[p] = int32(len(parts))
		n += ks.counts[p]
		if n >= batch || p == fineParts-1 {
			parts = append(parts, span{lo, p + 1})
			lo, n = p+1, 0
		}
	}
	res.Applied = true
	// A part's entries are written on a goroutine of their own while the
	// next part is read (the snapshot's lines parsed, their index keys
	// computed and looked up in the next part's keys, which are read back
	// and sorted): on two cores the store's transaction and commit take
	// the time of one stage, not of both. Two parts are in hand at most,
	// the one being read and the one being written.
	w := newPartWriter(func(n int, ws []peerWork) error {
		if len(ws) > 0 {
			if err := s.db.Update(func(tx *store.Tx) error {
				// The part's lookups read index and entry pages all
				// over the store: let the last part's go.
				if err := tx.DropMappedPages(); err != nil {
					return err
				}
				return s.putPeerWork(tx, ws, recs, now, res)
			}); err != nil {
				return err
			}
		}
		if st.Progress != nil {
			st.Progress(n, len(parts))
		}
		return nil
	})
	defer w.stop()
	var (
		part *snapPart
		cur  = -1
	)
	advance := func(to int) error {
		for cur < to {
			if cur >= 0 {
				part.ws = part.work(part.ws, fresh, recs, now)
				w.put(cur+1, part)
				part = nil
			}
			cur++
			if cur < len(parts) {
				var err error
				if part, err = w.next(); err != nil {
					return err
				}
				if err := part.load(ks, parts[cur].lo, parts[cur].hi, rank); err != nil {
					return err
				}
			}
		}
		return nil
	}
	each := st.Range
	if each == nil {
		// Changes given in memory are put in set-root order first.
		cs := slices.Clone(st.Changes)
		slices.SortStableFunc(cs, func(x, y release.Change) int {
			return cmp.Compare(fineOf(store.IndexKey(hashes.Hash{Algo: x.Algo, Value: x.Value})), fineOf(store.IndexKey(hashes.Hash{Algo: y.Algo, Value: y.Value})))
		})
		each = eachOf(cs)
	}
	if err := each(func(c release.Change) error {
		if c.Op == release.OpRemove {
			return nil
		}
		h := hashes.Hash{Algo: c.Algo, Value: c.Value, Quality: c.Quality}
		var ik [store.IndexKeyLen]byte
		copy(ik[:], store.IndexKey(h))
		to := int(partOf[fineOf(ik[:])])
		if to < cur {
			return fmt.Errorf("peer step %s/%s@%d: the snapshot is not in set-root order", st.Peer, st.List, st.Version)
		}
		if err := advance(to); err != nil {
			return err
		}
		if g := part.find(&ik, h.Key()); g != nil {
			g.h, g.inStep = h, true
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := advance(len(parts)); err != nil {
		return nil, err
	}
	if err := w.stop(); err != nil {
		return nil, err
	}

	// 3. The records, then the cursor.
	type toPut struct {
		ref store.RecordRef
		sr  records.Signed
	}
	var (
		chunk     []toPut
		size      int
		i, k      int
		chunkSize = batch * 128
	)
	putRecords := func(tx *store.Tx) error {
		if err := tx.DropMappedPages(); err != nil {
			return err
		}
		for _, h := range chunk {
			if err := tx.PutRecord(h.ref.Origin, h.ref.Seq, h.sr); err != nil {
				return err
			}
		}
		return nil
	}
	if err := eachRec(func(sr records.Signed) error {
		i++
		if i > len(kept) {
			return fmt.Errorf("peer step %s/%s@%d: the records changed while they were imported", st.Peer, st.List, st.Version)
		}
		if !kept[i-1] {
			return nil
		}
		if signedSum(sr) != sums[k] {
			return fmt.Errorf("peer step %s/%s@%d: the records changed while they were imported", st.Peer, st.List, st.Version)
		}
		chunk = append(chunk, toPut{refs[k], records.Signed{Raw: slices.Clone(sr.Raw), Sig: slices.Clone(sr.Sig)}})
		k++
		size += len(sr.Raw)
		if size < chunkSize {
			return nil
		}
		if err := s.db.Update(putRecords); err != nil {
			return err
		}
		chunk, size = nil, 0
		return nil
	}); err != nil {
		return nil, err
	}
	if k != len(refs) {
		return nil, fmt.Errorf("peer step %s/%s@%d: the records changed while they were imported", st.Peer, st.List, st.Version)
	}
	if err := s.db.Update(func(tx *store.Tx) error {
		if err := putRecords(tx); err != nil {
			return err
		}
		return finishPeerStep(tx, st, now, res)
	}); err != nil {
		return nil, err
	}
	return res, nil
}

// signedSum is SHA-256 over a signed record's bytes and signature.
func signedSum(sr records.Signed) [sha256.Size]byte {
	d := sha256.New()
	d.Write(binary.AppendUvarint(nil, uint64(len(sr.Raw))))
	d.Write(sr.Raw)
	d.Write(sr.Sig)
	var sum [sha256.Size]byte
	d.Sum(sum[:0])
	return sum
}
