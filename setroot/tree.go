package setroot

import (
	"fmt"
	"math/bits"
)

// Tree holds the 65536 bucket digests of one list and the Merkle nodes above
// them, so that a release after k changes costs O(k·Depth) hashes rather than
// a rebuild, and Root is O(1) when nothing changed.
//
// Nodes are stored heap-style in one array: node 1 is the root, node i has
// children 2i and 2i+1, and bucket b's RFC 6962 leaf is node Buckets+b.
// SetBucket only marks the nodes on the bucket's path stale; Root and Path
// rehash the stale nodes, each once, however many buckets changed below them.
// A Tree takes about 6 MiB.
//
// A Tree is not safe for concurrent use. Root and Path write the nodes they
// rehash, so even they need exclusive access.
//
// Use NewTree, or UnmarshalBinary on a zero Tree.
type Tree struct {
	digests *[Buckets]Hash
	nodes   *[2 * Buckets]Hash
	// stale has bit i set when nodes[i] needs rehashing. Invariant: a stale
	// node's ancestors are all stale, which lets SetBucket stop climbing at
	// the first stale node and lets rehash skip clean subtrees.
	stale *[2 * Buckets / 64]uint64
}

// emptyLevels[d] is the node hash of an empty subtree whose leaves are d
// levels below it: emptyLevels[0] is an empty bucket's leaf hash and
// emptyLevels[Depth] the root of the empty set.
var emptyLevels = func() (levels [Depth + 1]Hash) {
	levels[0] = merkleLeaf(emptyBucket)
	for d := 1; d <= Depth; d++ {
		levels[d] = merkleNode(levels[d-1], levels[d-1])
	}
	return levels
}()

// NewTree returns the tree of the empty set: every bucket empty. It costs no
// hashing, since every node of a level has the same precomputed hash.
func NewTree() *Tree {
	t := &Tree{
		digests: new([Buckets]Hash),
		nodes:   new([2 * Buckets]Hash),
		stale:   new([2 * Buckets / 64]uint64),
	}
	for b := range t.digests {
		t.digests[b] = emptyBucket
	}
	// Level l (nodes 2^l … 2^(l+1)-1) is Depth-l levels above the leaves.
	for l := 0; l <= Depth; l++ {
		h := emptyLevels[Depth-l]
		for i := 1 << l; i < 2<<l; i++ {
			t.nodes[i] = h
		}
	}
	return t
}

// SetBucket records bucket b's new digest (from BucketDigest). It only marks
// the path to the root stale, so setting many buckets and then calling Root
// once shares the rehashing of common ancestors. Setting the digest a bucket
// already has marks nothing.
func (t *Tree) SetBucket(b uint16, digest Hash) {
	if t.digests[b] == digest {
		return
	}
	t.digests[b] = digest
	for i := Buckets + int(b); i > 0 && !t.isStale(i); i >>= 1 {
		t.stale[i/64] |= 1 << (i % 64)
	}
}

// Bucket returns bucket b's current digest.
func (t *Tree) Bucket(b uint16) Hash {
	return t.digests[b]
}

// Root returns the set root, first rehashing the nodes made stale by
// SetBucket since the last call.
func (t *Tree) Root() Hash {
	t.refresh()
	return t.nodes[1]
}

// Path returns bucket b's audit path: the Depth sibling hashes from the
// bucket's leaf up to the root, bottom first, as VerifyProof expects in
// Proof.Path. Like Root, it first rehashes stale nodes, so the path matches
// the current Root.
func (t *Tree) Path(b uint16) []Hash {
	t.refresh()
	path := make([]Hash, 0, Depth)
	for i := Buckets + int(b); i > 1; i >>= 1 {
		path = append(path, t.nodes[i^1])
	}
	return path
}

// MarshalBinary returns the 65536 bucket digests in bucket order, 2 MiB, so a
// server or client can persist the tree between runs instead of rereading
// the whole list. The interior nodes are not stored: UnmarshalBinary rebuilds
// them in a few tens of milliseconds, and storing them would double the size
// for no gain in trust (they are derived data either way).
func (t *Tree) MarshalBinary() ([]byte, error) {
	out := make([]byte, 0, Buckets*HashSize)
	for b := range t.digests {
		out = append(out, t.digests[b][:]...)
	}
	return out, nil
}

// UnmarshalBinary replaces the tree with the bucket digests from
// MarshalBinary and rebuilds every node. On error the tree is unchanged.
func (t *Tree) UnmarshalBinary(data []byte) error {
	if len(data) != Buckets*HashSize {
		return fmt.Errorf("%w: tree is %d bytes, want %d", ErrBadEncoding, len(data), Buckets*HashSize)
	}
	if t.digests == nil {
		*t = Tree{
			digests: new([Buckets]Hash),
			nodes:   new([2 * Buckets]Hash),
			stale:   new([2 * Buckets / 64]uint64),
		}
	}
	for b := range t.digests {
		copy(t.digests[b][:], data[b*HashSize:])
	}
	for b := range t.digests {
		t.nodes[Buckets+b] = merkleLeaf(t.digests[b])
	}
	for i := Buckets - 1; i >= 1; i-- {
		t.nodes[i] = merkleNode(t.nodes[2*i], t.nodes[2*i+1])
	}
	clear(t.stale[:])
	return nil
}

func (t *Tree) isStale(i int) bool {
	return t.stale[i/64]&(1<<(i%64)) != 0
}

// refresh rehashes every stale node, bottom-up, level by level. Walking the
// stale bits of one level at a time touches each stale node once and reads
// the bitmap a word at a time, so clean regions cost almost nothing.
func (t *Tree) refresh() {
	if !t.isStale(1) {
		return
	}
	// The leaf level and the levels up to 64 nodes wide span whole words.
	for lo := Buckets; lo >= 64; lo /= 2 {
		for w := lo / 64; w < 2*lo/64; w++ {
			for word := t.stale[w]; word != 0; word &= word - 1 {
				t.rehash(w*64 + bits.TrailingZeros64(word))
			}
			t.stale[w] = 0
		}
	}
	// The top six levels (nodes 1…63) share word 0; rehash them children
	// first, which in heap order means from the highest index down.
	for word := t.stale[0]; word != 0; word &^= 1 << (63 - bits.LeadingZeros64(word)) {
		t.rehash(63 - bits.LeadingZeros64(word))
	}
	t.stale[0] = 0
}

// rehash recomputes node i from its bucket digest or its children, which
// must already be current.
func (t *Tree) rehash(i int) {
	if i >= Buckets {
		t.nodes[i] = merkleLeaf(t.digests[i-Buckets])
		return
	}
	t.nodes[i] = merkleNode(t.nodes[2*i], t.nodes[2*i+1])
}
