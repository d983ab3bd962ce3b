package match

import (
	"encoding/binary"
	"encoding/hex"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// PDQ hashes are searched by multi-index hashing (Norouzi, Punjani and
// Fleet): the 256 bits are cut into 12 chunks (4 of 22 bits, 8 of 21),
// and each chunk position has a table from the chunk's value to the slots
// whose hash has that value there. Two hashes within distance r differ,
// summed over the chunks, by at most r bits, so by pigeonhole at least one
// chunk differs by at most r/12 bits (integer division). Probing every
// value within that many bits of each of the query's chunks therefore
// reaches every hash within r, and checking the full distance of each
// candidate removes every hash beyond it: the result is brute force's.
const chunks = 12

// chunkOff and chunkWidth place each chunk, from the most significant bit.
var chunkOff, chunkWidth [chunks]int

func init() {
	off := 0
	for i := range chunks {
		w := 21
		if i < 4 {
			w = 22
		}
		chunkOff[i], chunkWidth[i] = off, w
		off += w
	}
	if off != 256 {
		panic("match: chunks do not cover 256 bits")
	}
}

// pdqHash is a PDQ hash as four words, most significant first (the order
// of its hex spelling).
type pdqHash [4]uint64

func parsePDQ(v string) (pdqHash, bool) {
	var h pdqHash
	var b [32]byte
	if len(v) != 64 {
		return h, false
	}
	if _, err := hex.Decode(b[:], []byte(v)); err != nil {
		return h, false
	}
	for i := range h {
		for _, c := range b[i*8 : i*8+8] {
			h[i] = h[i]<<8 | uint64(c)
		}
	}
	return h, true
}

func (h pdqHash) String() string {
	var b [32]byte
	for i, w := range h {
		for j := range 8 {
			b[i*8+j] = byte(w >> (56 - 8*j))
		}
	}
	return hex.EncodeToString(b[:])
}

func (h *pdqHash) chunk(i int) uint32 {
	off, w := chunkOff[i], chunkWidth[i]
	j, o := off/64, off%64
	x := h[j] << o
	if o+w > 64 {
		x |= h[j+1] >> (64 - o)
	}
	return uint32(x >> (64 - w))
}

func distance(a, b *pdqHash) int {
	return bits.OnesCount64(a[0]^b[0]) + bits.OnesCount64(a[1]^b[1]) +
		bits.OnesCount64(a[2]^b[2]) + bits.OnesCount64(a[3]^b[3])
}

// pdqIndex holds PDQ entries in slots: parallel arrays of hash and
// attributes. Slots below indexed are in the tables; slots from indexed
// on were added since and are searched by a scan (they are few: compactAt
// bounds them), and found for a remove through pending. A removed slot is
// marked dead in place. A rebuild (buildTables, pdqTables) renumbers the
// live slots and makes new tables; it runs outside the index's lock
// (Index.rebuild) and is swapped in under it.
type pdqIndex struct {
	hashes  []pdqHash
	meta    []meta
	live    int
	indexed int
	pending map[pdqHash][]uint32
	// alwaysIndex makes search probe the tables even where a scan would
	// be cheaper, so that tests on small sets exercise them.
	alwaysIndex bool
	// bulk is set during a load: adds are not recorded in pending (a
	// snapshot names each entry once) and compact follows the load.
	bulk    bool
	off     [chunks][]uint32
	post    [chunks][]byte
	idBytes int
	idMask  uint32
	// snap is, while a rebuild is under way outside the lock, the number
	// of slots it was begun with; dirty lists those of them changed since.
	snap  int
	dirty []dirtySlot
	// mem holds the memory of hashes and meta (slots) and of the tables
	// as compact last made them (bigmem.go).
	mem *memHolder
}

// slot3Limit is the slot count from which slot numbers take 4 bytes
// instead of 3 (2^24; tests lower it).
var slot3Limit = 1 << 24

// compactAt is how many slots may wait outside the tables (or lie dead in
// them) before the tables are rebuilt: a scan of that many costs a query
// some tens of microseconds.
var compactAt = 1 << 15

func newPDQIndex() *pdqIndex {
	p := &pdqIndex{pending: map[pdqHash][]uint32{}}
	p.mem = newMemHolder(p)
	p.compact()
	return p
}

// add stores h and returns its slot.
func (p *pdqIndex) add(h pdqHash, m meta) uint32 {
	s := uint32(len(p.hashes))
	p.hashes = append(p.hashes, h)
	p.meta = append(p.meta, m)
	if !p.bulk {
		p.pending[h] = append(p.pending[h], s)
	}
	p.live++
	return s
}

// reserve makes room for n more slots without growing by copying.
func (p *pdqIndex) reserve(n int) {
	if cap(p.hashes)-len(p.hashes) >= n {
		return
	}
	p.hashes = slices.Grow(p.hashes, n)
	p.meta = slices.Grow(p.meta, n)
}

// find returns the live slot holding h for list, if any.
func (p *pdqIndex) find(h pdqHash, list uint16) (uint32, bool) {
	if p.indexed == 0 {
		return p.findPending(h, list)
	}
	c := h.chunk(0)
	for s := p.off[0][c]; s < p.off[0][c+1]; s++ {
		if p.meta[s].live() && p.hashes[s] == h && p.meta[s].list == list {
			return s, true
		}
	}
	return p.findPending(h, list)
}

func (p *pdqIndex) findPending(h pdqHash, list uint16) (uint32, bool) {
	for _, s := range p.pending[h] {
		if p.meta[s].live() && p.meta[s].list == list {
			return s, true
		}
	}
	return 0, false
}

// remove marks slot s dead.
func (p *pdqIndex) remove(s uint32) {
	p.setMeta(s, meta{})
	if int(s) >= p.indexed {
		h := p.hashes[s]
		ps := p.pending[h]
		for j, x := range ps {
			if x == s {
				ps = append(ps[:j], ps[j+1:]...)
				break
			}
		}
		if len(ps) == 0 {
			delete(p.pending, h)
		} else {
			p.pending[h] = ps
		}
	}
	p.live--
}

// needsCompact says whether enough slots wait outside the tables, or
// enough are dead, to rebuild them.
func (p *pdqIndex) needsCompact() bool {
	pending := len(p.hashes) - p.indexed
	dead := len(p.hashes) - p.live
	return pending > compactAt || dead > compactAt && dead > p.live/4
}

// setMeta changes live slot s's attributes (an update, or meta{} for a
// remove), noting the change for a rebuild in progress.
func (p *pdqIndex) setMeta(s uint32, m meta) {
	if int(s) < p.snap {
		p.dirty = append(p.dirty, dirtySlot{s, p.meta[s].list})
	}
	p.meta[s] = m
}

// pdqTables is what a rebuild makes: the live slots renumbered in the
// order of their chunk 0, and the tables over them.
//
// The tables are packed (CSR), built by counting sort: the slots whose
// chunk i is v are those listed in post[i] from off[i][v] to off[i][v+1].
// Slots are numbered in the order of their chunk 0, so chunk 0 needs no
// list at all — its bucket v is the run of slots off[0][v] to
// off[0][v+1] — and the other lists hold slot numbers in idBytes bytes
// each, little-endian: 3 while fewer than 2^24 slots are indexed (30 MB
// a table at 10M instead of 40), 4 beyond.
type pdqTables struct {
	hashes  []pdqHash
	meta    []meta
	n       int
	off     [chunks][]uint32
	post    [chunks][]byte
	idBytes int
	idMask  uint32
	// slots holds hashes and meta, tables off and post.
	slots, tables *bigMem
}

// buildTables makes the tables over the slots of hashes whose attributes
// in metas (as long as hashes) are live, by a counting sort per chunk:
// two passes over the hashes, no per-bucket allocation. It only reads
// hashes and metas, so it runs outside the index's lock on arrays no one
// writes. The tables of chunks 1 to 11 are independent and built on all
// the cores the process may use (GOMAXPROCS).
func buildTables(hashes []pdqHash, metas []meta) *pdqTables {
	t := &pdqTables{slots: &bigMem{}, tables: &bigMem{}}
	off0 := make([]uint32, 1<<chunkWidth[0]+1) // counted in the heap: freed if there is nothing to index
	for s := range hashes {
		if metas[s].live() {
			off0[hashes[s].chunk(0)+1]++
		}
	}
	for v := 1; v < len(off0); v++ {
		off0[v] += off0[v-1]
	}
	n := int(off0[len(off0)-1])
	t.n = n
	// Room for the adds that may wait before and during the next rebuild,
	// so that an add never copies the whole array (320 MB at 10M entries).
	room := n + 2*compactAt + 1
	t.hashes = bigSlice[pdqHash](t.slots, n, room)
	t.meta = bigSlice[meta](t.slots, n, room)
	if n == 0 {
		return t // no tables: they would be 128 MB
	}
	next := make([]uint32, len(off0)-1)
	copy(next, off0)
	for s := range hashes {
		if metas[s].live() {
			c := hashes[s].chunk(0)
			t.hashes[next[c]], t.meta[next[c]] = hashes[s], metas[s]
			next[c]++
		}
	}
	next = nil
	t.off[0] = bigSlice[uint32](t.tables, len(off0), len(off0))
	copy(t.off[0], off0)
	off0 = nil
	t.idBytes, t.idMask = 3, 1<<24-1
	if n >= slot3Limit {
		t.idBytes, t.idMask = 4, ^uint32(0)
	}

	// Each table's memory is allocated here, in one goroutine: a bigMem
	// is not safe for concurrent use.
	for i := 1; i < chunks; i++ {
		w := 1<<chunkWidth[i] + 1
		t.off[i] = bigSlice[uint32](t.tables, w, w)
		// One spare byte: a 3-byte slot number is read as 4 bytes and masked.
		l := n*t.idBytes + 1
		t.post[i] = bigSlice[byte](t.tables, l, l)
	}
	var wg sync.WaitGroup
	var todo atomic.Int32
	todo.Store(1)
	for range min(runtime.GOMAXPROCS(0), chunks-1) {
		wg.Go(func() {
			for i := int(todo.Add(1) - 1); i < chunks; i = int(todo.Add(1) - 1) {
				t.table(i)
			}
		})
	}
	wg.Wait()
	return t
}

// table fills chunk i's offsets and slot lists (allocated, zeroed) over
// all the slots.
func (t *pdqTables) table(i int) {
	hashes, off, post := t.hashes, t.off[i], t.post[i]
	for s := range hashes {
		off[hashes[s].chunk(i)+1]++
	}
	for v := 1; v < len(off); v++ {
		off[v] += off[v-1]
	}
	next := make([]uint32, len(off)-1)
	copy(next, off)
	for s := range hashes {
		c := hashes[s].chunk(i)
		k := int(next[c]) * t.idBytes
		post[k], post[k+1], post[k+2] = byte(s), byte(s>>8), byte(s>>16)
		if t.idBytes == 4 {
			post[k+3] = byte(s >> 24)
		}
		next[c]++
	}
}

// install makes t the index's slots and tables, and returns the memory
// they replace, for the caller to free once no reader can hold it.
func (p *pdqIndex) install(t *pdqTables) *memHolder {
	old := &memHolder{slots: p.mem.slots, tables: p.mem.tables}
	p.hashes, p.meta, p.off, p.post = t.hashes, t.meta, t.off, t.post
	p.idBytes, p.idMask, p.indexed = t.idBytes, t.idMask, t.n
	p.pending = map[pdqHash][]uint32{}
	p.mem.slots, p.mem.tables = t.slots, t.tables
	return old
}

// compact rebuilds the tables in place, under the caller's write lock
// (after a bulk load, when no rebuild is in progress: the index's
// rebuild mutex is held). The old tables go first, so the peak is one
// set of tables and two of slots.
func (p *pdqIndex) compact() {
	for i := range chunks {
		p.off[i], p.post[i] = nil, nil
	}
	p.indexed = 0
	p.mem.tables.free()
	t := buildTables(p.hashes, p.meta)
	p.install(t).slots.free()
}

// dirtySlot is a slot, and its list, whose attributes changed while a
// rebuild was under way.
type dirtySlot struct {
	s    uint32
	list uint16
}

// pdqRebuild is a rebuild under way outside the lock: the slots as they
// were when it began (the hashes of slots below snap never change, so
// their array is shared; their attributes are copied).
type pdqRebuild struct {
	hashes []pdqHash
	meta   []meta
	tmp    *bigMem
	t      *pdqTables
}

// beginRebuild notes the slots as they are (under the write lock) and
// starts recording changes to them.
func (p *pdqIndex) beginRebuild() *pdqRebuild {
	p.snap = len(p.hashes)
	p.dirty = nil
	b := &pdqRebuild{hashes: p.hashes[:p.snap:p.snap], tmp: &bigMem{}}
	b.meta = bigSlice[meta](b.tmp, p.snap, p.snap)
	return b
}

// copyMeta copies the attributes of slots from..to into b: the caller
// holds at least the read lock, a short while per range. A slot changed
// after beginRebuild is in p.dirty, so whichever attributes are copied,
// finishRebuild sets the current ones.
func (p *pdqIndex) copyMeta(b *pdqRebuild, from, to int) {
	copy(b.meta[from:to], p.meta[from:to])
}

// finishRebuild swaps b's tables in (under the write lock), carrying over
// the changes made since beginRebuild: the attributes of the slots
// changed (an update, or a remove that leaves a dead slot in the new
// tables), and the slots added, which wait as pending. It returns the
// memory replaced, for the caller to free after the lock.
func (p *pdqIndex) finishRebuild(b *pdqRebuild) *memHolder {
	t := b.t
	for _, d := range p.dirty {
		h := p.hashes[d.s]
		c := h.chunk(0)
		for x := t.off0(c); x < t.off0(c+1); x++ {
			if t.hashes[x] == h && t.meta[x].live() && t.meta[x].list == d.list {
				t.meta[x] = p.meta[d.s]
				break
			}
		}
	}
	added := p.snap
	hashes, metas := p.hashes, p.meta
	p.snap, p.dirty = 0, nil
	old := p.install(t)
	for s := added; s < len(hashes); s++ {
		if metas[s].live() {
			p.live-- // add counts it again
			p.add(hashes[s], metas[s])
		}
	}
	return old
}

// off0 is where chunk 0's bucket c begins among the slots.
func (t *pdqTables) off0(c uint32) uint32 {
	if t.n == 0 {
		return 0
	}
	return t.off[0][c]
}

// maxT is the most bits per chunk a search probes: beyond it (r ≥ 60) a
// scan is cheaper.
const maxT = 4

// masks[w-21][t] holds every w-bit value with at most t bits set: the
// XORs that take a query's chunk to the values a search of t bits per
// chunk probes (for w = 22, t = 2: 254 of them).
var masks [2][maxT + 1][]uint32

func init() {
	for w := 21; w <= 22; w++ {
		var all []uint32
		for t := 0; t <= maxT; t++ {
			all = appendMasks(all, 0, w, t, 0)
			masks[w-21][t] = slices.Clone(all)
		}
	}
}

// appendMasks appends every value of w bits that is v with exactly t more
// bits set, at positions from or above.
func appendMasks(dst []uint32, v uint32, w, t, from int) []uint32 {
	if t == 0 {
		return append(dst, v)
	}
	for b := from; b < w; b++ {
		dst = appendMasks(dst, v|1<<b, w, t-1, b+1)
	}
	return dst
}

// probes returns how many table values a search of t bits per chunk
// visits in all: Σ_i Σ_{k≤t} C(width_i, k).
func probes(t int) int {
	n := 0
	for i := range chunks {
		n += len(masks[chunkWidth[i]-21][t])
	}
	return n
}

// searchBuf is a search's scratch space, reused through searchBufs so a
// query allocates nothing.
type searchBuf struct {
	lo, hi, cand []uint32
}

var searchBufs = sync.Pool{New: func() any { return new(searchBuf) }}

// search calls fn with each live slot within distance r of q, once each.
//
// Nearly all of a search's time is memory latency: each probed bucket's
// bounds, its slot list and each candidate's hash are in different,
// scattered cache lines. So each chunk is searched in three passes — the
// bounds of all its probes, then all their slot numbers, then the
// candidates' distances — whose loads do not depend on each other within
// a pass, and the CPU keeps many cache misses in flight at once instead
// of waiting for each in turn.
func (p *pdqIndex) search(q pdqHash, r int, fn func(s uint32, d int)) {
	if r < 0 {
		return
	}
	t := r / chunks
	// Each probe costs about one cache miss plus its bucket; when the
	// probes would cost more than looking at every slot, a scan is
	// cheaper, and it is just as exact.
	if t > maxT || p.indexed == 0 || !p.alwaysIndex && probes(t) > p.indexed {
		p.scan(q, r, 0, fn)
		return
	}
	var qc [chunks]uint32
	for i := range chunks {
		qc[i] = q.chunk(i)
	}
	b := searchBufs.Get().(*searchBuf)
	defer searchBufs.Put(b)
	for i := range chunks {
		off := p.off[i]
		lo, hi, cand := b.lo[:0], b.hi[:0], b.cand[:0]
		for _, m := range masks[chunkWidth[i]-21][t] {
			v := qc[i] ^ m
			lo = append(lo, off[v])
			hi = append(hi, off[v+1])
		}
		if i == 0 {
			for k := range lo {
				for s := lo[k]; s < hi[k]; s++ {
					cand = append(cand, s)
				}
			}
		} else {
			post, stride, mask := p.post[i], uint32(p.idBytes), p.idMask
			for k := range lo {
				for j := lo[k]; j < hi[k]; j++ {
					cand = append(cand, binary.LittleEndian.Uint32(post[j*stride:])&mask)
				}
			}
		}
		for _, s := range cand {
			h := &p.hashes[s]
			d := distance(h, &q)
			if d > r || !p.meta[s].live() {
				continue
			}
			// Found already through an earlier chunk within t?
			dup := false
			for j := range i {
				if bits.OnesCount32(h.chunk(j)^qc[j]) <= t {
					dup = true
					break
				}
			}
			if !dup {
				fn(s, d)
			}
		}
		b.lo, b.hi, b.cand = lo, hi, cand
	}
	p.scan(q, r, p.indexed, fn)
}

// scan is brute force over the live slots from the given one on.
func (p *pdqIndex) scan(q pdqHash, r, from int, fn func(s uint32, d int)) {
	for s := from; s < len(p.hashes); s++ {
		if !p.meta[s].live() {
			continue
		}
		if d := distance(&p.hashes[s], &q); d <= r {
			fn(uint32(s), d)
		}
	}
}
