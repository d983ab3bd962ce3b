package match

import (
	"encoding/hex"
	"math/bits"
)

// PDQ hashes are searched by multi-index hashing (Norouzi, Punjani and
// Fleet): the 256 bits are cut into chunks chunk-bit sub-hashes, and each
// chunk position has a table from the chunk's value to the slots whose
// hash has that value there. Two hashes within distance r differ, summed
// over the chunks, by at most r bits, so by pigeonhole at least one chunk
// differs by at most r/chunks bits (integer division). Probing every
// value within that many bits of each of the query's chunks therefore
// reaches every hash within r, and checking the full distance of each
// candidate removes every hash beyond it: the result is brute force's.
const (
	chunks    = 16
	chunkBits = 256 / chunks
	buckets   = 1 << chunkBits
)

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

func (h pdqHash) chunk(i int) uint16 {
	return uint16(h[i/4] >> (48 - 16*(i%4)))
}

func distance(a, b *pdqHash) int {
	return bits.OnesCount64(a[0]^b[0]) + bits.OnesCount64(a[1]^b[1]) +
		bits.OnesCount64(a[2]^b[2]) + bits.OnesCount64(a[3]^b[3])
}

// pdqIndex holds PDQ entries in slots: parallel arrays of hash and
// attributes, with freed slots reused. tables[i][v] lists the live slots
// whose chunk i is v.
type pdqIndex struct {
	hashes []pdqHash
	meta   []meta
	free   []uint32
	live   int
	tables [chunks][][]uint32
}

func newPDQIndex() *pdqIndex {
	p := &pdqIndex{}
	for i := range p.tables {
		p.tables[i] = make([][]uint32, buckets)
	}
	return p
}

// add stores h and returns its slot.
func (p *pdqIndex) add(h pdqHash, m meta) uint32 {
	var s uint32
	if n := len(p.free); n > 0 {
		s = p.free[n-1]
		p.free = p.free[:n-1]
		p.hashes[s], p.meta[s] = h, m
	} else {
		s = uint32(len(p.hashes))
		p.hashes = append(p.hashes, h)
		p.meta = append(p.meta, m)
	}
	for i := range p.tables {
		c := h.chunk(i)
		p.tables[i][c] = append(p.tables[i][c], s)
	}
	p.live++
	return s
}

// find returns the live slot holding h for list, if any.
func (p *pdqIndex) find(h pdqHash, list uint16) (uint32, bool) {
	for _, s := range p.tables[0][h.chunk(0)] {
		if p.hashes[s] == h && p.meta[s].list == list {
			return s, true
		}
	}
	return 0, false
}

// remove frees slot s.
func (p *pdqIndex) remove(s uint32) {
	h := p.hashes[s]
	for i := range p.tables {
		c := h.chunk(i)
		b := p.tables[i][c]
		for j, x := range b {
			if x == s {
				b[j] = b[len(b)-1]
				b = b[:len(b)-1]
				break
			}
		}
		if len(b) == 0 {
			b = nil // give a drained bucket's memory back
		}
		p.tables[i][c] = b
	}
	p.meta[s] = meta{}
	p.free = append(p.free, s)
	p.live--
}

// probes returns how many table values a search of radius t per chunk
// visits in all: chunks · Σ_{k≤t} C(chunkBits, k).
func probes(t int) int {
	n, c := 0, 1
	for k := 0; k <= t; k++ {
		n += c
		c = c * (chunkBits - k) / (k + 1)
	}
	return chunks * n
}

// search calls fn with each live slot within distance r of q, once each.
func (p *pdqIndex) search(q pdqHash, r int, fn func(s uint32, d int)) {
	if r < 0 {
		return
	}
	t := r / chunks
	// A slot is expected in live/buckets entries per probe: when the
	// probes would visit more than every slot, a scan is cheaper, and
	// it is just as exact.
	if t >= chunkBits || probes(t) >= buckets {
		p.scan(q, r, fn)
		return
	}
	for i := range chunks {
		qc := q.chunk(i)
		tab := p.tables[i]
		visit := func(v uint16) {
			for _, s := range tab[v] {
				h := &p.hashes[s]
				d := distance(h, &q)
				if d > r {
					continue
				}
				// Found already through an earlier chunk within t?
				dup := false
				for j := range i {
					if bits.OnesCount16(h.chunk(j)^q.chunk(j)) <= t {
						dup = true
						break
					}
				}
				if !dup {
					fn(s, d)
				}
			}
		}
		flips(qc, t, 0, visit)
	}
}

// flips calls visit with v and every value that differs from v in at most
// t bits at positions from or above.
func flips(v uint16, t, from int, visit func(uint16)) {
	visit(v)
	if t == 0 {
		return
	}
	for b := from; b < chunkBits; b++ {
		flips(v^1<<b, t-1, b+1, visit)
	}
}

// scan is brute force over the live slots.
func (p *pdqIndex) scan(q pdqHash, r int, fn func(s uint32, d int)) {
	for s := range p.hashes {
		if !p.meta[s].live {
			continue
		}
		if d := distance(&p.hashes[s], &q); d <= r {
			fn(uint32(s), d)
		}
	}
}

// compact moves every table's buckets into one allocation per table, each
// bucket at exactly its length: appends after a bulk load leave buckets
// with up to twice the room they need, which at 10M entries is hundreds
// of megabytes. A later add to a full bucket moves that bucket alone.
func (p *pdqIndex) compact() {
	for i := range p.tables {
		n := 0
		for _, b := range p.tables[i] {
			n += len(b)
		}
		arena := make([]uint32, 0, n)
		for v, b := range p.tables[i] {
			if len(b) == 0 {
				p.tables[i][v] = nil
				continue
			}
			at := len(arena)
			arena = append(arena, b...)
			p.tables[i][v] = arena[at:len(arena):len(arena)]
		}
	}
	p.hashes = slicesClip(p.hashes)
	p.meta = slicesClip(p.meta)
}

func slicesClip[T any](s []T) []T {
	if cap(s) == len(s) {
		return s
	}
	return append(make([]T, 0, len(s)), s...)
}
