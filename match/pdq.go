package match

import (
	"encoding/hex"
	"math/bits"
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
// attributes. Slots below indexed are in the tables, each table packed
// (CSR): the slots whose chunk i is v are post[i][off[i][v]:off[i][v+1]].
// Slots from indexed on were added since and are searched by a scan (they
// are few: compactAt bounds them), and found for a remove through
// pending. A removed slot is marked dead in place. compact renumbers the
// live slots and rebuilds the tables.
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
	bulk bool
	off  [chunks][]uint32
	post [chunks][]uint32
}

// compactAt is how many slots may wait outside the tables (or lie dead in
// them) before the tables are rebuilt: a scan of that many costs a query
// some tens of microseconds.
var compactAt = 1 << 15

func newPDQIndex() *pdqIndex {
	p := &pdqIndex{pending: map[pdqHash][]uint32{}}
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

// find returns the live slot holding h for list, if any.
func (p *pdqIndex) find(h pdqHash, list uint16) (uint32, bool) {
	if p.indexed == 0 {
		return p.findPending(h, list)
	}
	c := h.chunk(0)
	for _, s := range p.post[0][p.off[0][c]:p.off[0][c+1]] {
		if p.meta[s].live && p.hashes[s] == h && p.meta[s].list == list {
			return s, true
		}
	}
	return p.findPending(h, list)
}

func (p *pdqIndex) findPending(h pdqHash, list uint16) (uint32, bool) {
	for _, s := range p.pending[h] {
		if p.meta[s].live && p.meta[s].list == list {
			return s, true
		}
	}
	return 0, false
}

// remove marks slot s dead.
func (p *pdqIndex) remove(s uint32) {
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
	p.meta[s] = meta{}
	p.live--
}

// needsCompact says whether enough slots wait outside the tables, or
// enough are dead, to rebuild them.
func (p *pdqIndex) needsCompact() bool {
	pending := len(p.hashes) - p.indexed
	dead := len(p.hashes) - p.live
	return pending > compactAt || dead > compactAt && dead > p.live/4
}

// compact keeps the live slots, renumbered in order, and rebuilds the
// tables over all of them by a counting sort per chunk: two passes over
// the hashes, no per-bucket allocation.
func (p *pdqIndex) compact() {
	// Room for the adds that may wait before the next rebuild, so that an
	// add never copies the whole array (320 MB at 10M entries).
	hashes := make([]pdqHash, 0, p.live+compactAt+1)
	metas := make([]meta, 0, p.live+compactAt+1)
	for s := range p.hashes {
		if p.meta[s].live {
			hashes = append(hashes, p.hashes[s])
			metas = append(metas, p.meta[s])
		}
	}
	p.hashes, p.meta = nil, nil // let the old arrays go before the tables are made
	for i := range chunks {
		p.off[i], p.post[i] = nil, nil
		if len(hashes) == 0 {
			continue // an empty index has no tables (they are 128 MB)
		}
		off := make([]uint32, 1<<chunkWidth[i]+1)
		for s := range hashes {
			off[hashes[s].chunk(i)+1]++
		}
		for v := 1; v < len(off); v++ {
			off[v] += off[v-1]
		}
		post := make([]uint32, len(hashes))
		next := make([]uint32, len(off)-1)
		copy(next, off)
		for s := range hashes {
			c := hashes[s].chunk(i)
			post[next[c]] = uint32(s)
			next[c]++
		}
		p.off[i], p.post[i] = off, post
	}
	p.hashes, p.meta = hashes, metas
	p.indexed = len(hashes)
	p.pending = map[pdqHash][]uint32{}
}

// probes returns how many table values a search of t bits per chunk
// visits in all: Σ_i Σ_{k≤t} C(width_i, k).
func probes(t int) int {
	n := 0
	for i := range chunks {
		c := 1
		for k := 0; k <= t; k++ {
			n += c
			c = c * (chunkWidth[i] - k) / (k + 1)
		}
	}
	return n
}

// search calls fn with each live slot within distance r of q, once each.
func (p *pdqIndex) search(q pdqHash, r int, fn func(s uint32, d int)) {
	if r < 0 {
		return
	}
	t := r / chunks
	// Each probe costs about one cache miss plus its bucket; when the
	// probes would cost more than looking at every slot, a scan is
	// cheaper, and it is just as exact.
	if t > 4 || p.indexed == 0 || !p.alwaysIndex && probes(t) > p.indexed {
		p.scan(q, r, 0, fn)
		return
	}
	var qc [chunks]uint32
	for i := range chunks {
		qc[i] = q.chunk(i)
	}
	for i := range chunks {
		off, post := p.off[i], p.post[i]
		visit := func(v uint32) {
			for _, s := range post[off[v]:off[v+1]] {
				h := &p.hashes[s]
				d := distance(h, &q)
				if d > r || !p.meta[s].live {
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
		}
		flips(qc[i], chunkWidth[i], t, 0, visit)
	}
	p.scan(q, r, p.indexed, fn)
}

// flips calls visit with v and every value that differs from v in at most
// t of its w bits at positions from or above.
func flips(v uint32, w, t, from int, visit func(uint32)) {
	visit(v)
	if t == 0 {
		return
	}
	for b := from; b < w; b++ {
		flips(v^1<<b, w, t-1, b+1, visit)
	}
}

// scan is brute force over the live slots from the given one on.
func (p *pdqIndex) scan(q pdqHash, r, from int, fn func(s uint32, d int)) {
	for s := from; s < len(p.hashes); s++ {
		if !p.meta[s].live {
			continue
		}
		if d := distance(&p.hashes[s], &q); d <= r {
			fn(uint32(s), d)
		}
	}
}
