package setroot_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hashhub/hashhub/setroot"
)

func TestEmptySet(t *testing.T) {
	if got, want := setroot.EmptyBucket(), sha256.Sum256(nil); got != want {
		t.Fatalf("EmptyBucket = %x, want SHA-256 of nothing %x", got, want)
	}
	if got := setroot.BucketDigest(nil); got != setroot.EmptyBucket() {
		t.Fatalf("BucketDigest(nil) = %x, want EmptyBucket", got)
	}
	digests := make([]setroot.Hash, setroot.Buckets)
	for i := range digests {
		digests[i] = setroot.EmptyBucket()
	}
	want := naiveRoot(digests)
	root, n := setroot.Compute(all(nil))
	if n != 0 || root != want {
		t.Fatalf("Compute(empty) = %x, %d; want %x, 0", root, n, want)
	}
	if got := setroot.NewTree().Root(); got != want {
		t.Fatalf("NewTree().Root() = %x, want %x", got, want)
	}
}

func TestBucket(t *testing.T) {
	// Bucket is the first two bytes of SHA-256(key), big-endian.
	key := "md5:00112233445566778899aabbccddeeff"
	h := sha256.Sum256([]byte(key))
	if got, want := setroot.Bucket(key), uint16(h[0])<<8|uint16(h[1]); got != want {
		t.Fatalf("Bucket = %d, want %d", got, want)
	}
}

// TestTreeMatchesNaive sets random buckets in batches, reading the root
// between batches so that partly stale trees are exercised, and compares
// with RFC 6962 computed from scratch.
func TestTreeMatchesNaive(t *testing.T) {
	src := rand.NewChaCha8([32]byte{3})
	rng := rand.New(src)
	tree := setroot.NewTree()
	digests := make([]setroot.Hash, setroot.Buckets)
	for i := range digests {
		digests[i] = setroot.EmptyBucket()
	}
	// Batch sizes include the edges: one bucket, the first and last bucket,
	// and more buckets than exist (so every node goes stale).
	for _, n := range []int{1, 0, 2, 100, 5000, 70000} {
		for j := range n {
			b := uint16(rng.Uint32())
			switch j {
			case 0:
				b = 0
			case 1:
				b = setroot.Buckets - 1
			}
			var d setroot.Hash
			src.Read(d[:])
			digests[b] = d
			tree.SetBucket(b, d)
		}
		if got, want := tree.Root(), naiveRoot(digests); got != want {
			t.Fatalf("after %d SetBucket: Root = %x, want %x", n, got, want)
		}
	}
	for b := range setroot.Buckets {
		if tree.Bucket(uint16(b)) != digests[b] {
			t.Fatalf("Bucket(%d) is not the digest set", b)
		}
	}
}

// TestIncrementalMatchesCompute builds a set by inserting in random order,
// then deletes and updates entries, checking the incremental root against
// Compute over the remaining set at each stage.
func TestIncrementalMatchesCompute(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var entries []entry
	for i := range 20_000 {
		v := fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
		entries = append(entries, entry{"md5:" + v, fmt.Appendf(nil, "{\"algo\":\"md5\",\"value\":%q,\"severity\":%q}", v, "ABC"[i%3:i%3+1])})
	}
	s := newSet()
	check := func(stage string) {
		t.Helper()
		want, n := setroot.Compute(all(s.entries()))
		if n != len(s.lines) {
			t.Fatalf("%s: Compute counted %d, set has %d", stage, n, len(s.lines))
		}
		if got := s.tree.Root(); got != want {
			t.Fatalf("%s: Tree root %x, Compute %x", stage, got, want)
		}
	}
	for i, j := range rng.Perm(len(entries)) {
		s.put(entries[j].key, entries[j].line)
		if i == 0 || i == 999 {
			check(fmt.Sprintf("after %d inserts", i+1))
		}
	}
	check("after all inserts")

	for _, j := range rng.Perm(len(entries))[:5000] {
		s.remove(entries[j].key)
	}
	check("after 5000 deletes")

	// An attribute change keeps the key, so the bucket, and changes the leaf.
	n := 0
	for key, line := range s.lines {
		if n++; n > 1000 {
			break
		}
		s.put(key, append(line[:len(line)-3:len(line)-3], "Z\"}"...))
	}
	check("after 1000 updates")

	for key := range s.lines {
		s.remove(key)
	}
	check("after deleting everything")
	if s.tree.Root() != setroot.NewTree().Root() {
		t.Fatal("emptied tree's root differs from the empty set's")
	}
}

func TestSetBucketUnchangedDigest(t *testing.T) {
	tree := setroot.NewTree()
	before := tree.Root()
	tree.SetBucket(42, setroot.EmptyBucket())
	if tree.Root() != before {
		t.Fatal("setting a bucket to its current digest changed the root")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	src := rand.NewChaCha8([32]byte{9})
	rng := rand.New(src)
	tree := setroot.NewTree()
	for range 3000 {
		var d setroot.Hash
		src.Read(d[:])
		tree.SetBucket(uint16(rng.Uint32()), d)
	}
	// Marshal before Root on purpose: the digests are current even while
	// nodes are stale.
	data, err := tree.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != setroot.Buckets*setroot.HashSize {
		t.Fatalf("MarshalBinary gave %d bytes", len(data))
	}
	var back setroot.Tree // the zero Tree must accept UnmarshalBinary
	if err := back.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if back.Root() != tree.Root() {
		t.Fatal("root differs after round trip")
	}
	for _, b := range []uint16{0, 1, 12345, setroot.Buckets - 1} {
		if fmt.Sprint(back.Path(b)) != fmt.Sprint(tree.Path(b)) {
			t.Fatalf("Path(%d) differs after round trip", b)
		}
	}
	// The restored tree keeps working incrementally.
	tree.SetBucket(7, setroot.Hash{1})
	back.SetBucket(7, setroot.Hash{1})
	if back.Root() != tree.Root() {
		t.Fatal("root differs after updating both")
	}
}

func TestUnmarshalBadLength(t *testing.T) {
	tree := setroot.NewTree()
	root := tree.Root()
	for _, n := range []int{0, 32, setroot.Buckets*setroot.HashSize - 1, setroot.Buckets*setroot.HashSize + 1} {
		err := tree.UnmarshalBinary(make([]byte, n))
		if !errors.Is(err, setroot.ErrBadEncoding) {
			t.Errorf("UnmarshalBinary(%d bytes) = %v, want ErrBadEncoding", n, err)
		}
	}
	if tree.Root() != root {
		t.Fatal("failed UnmarshalBinary changed the tree")
	}
}

func TestPathLength(t *testing.T) {
	tree := setroot.NewTree()
	for _, b := range []uint16{0, 1, 32768, setroot.Buckets - 1} {
		if p := tree.Path(b); len(p) != setroot.Depth {
			t.Fatalf("Path(%d) has %d hashes, want %d", b, len(p), setroot.Depth)
		}
	}
}

func TestParseRoot(t *testing.T) {
	want := setroot.NewTree().Root()
	got, err := setroot.ParseRoot(hexRoot(want))
	if err != nil || got != want {
		t.Fatalf("ParseRoot(%s) = %x, %v", hexRoot(want), got, err)
	}
	for _, s := range []string{
		"",
		hexRoot(want)[:62],
		hexRoot(want) + "00",
		"90F0951505390E5D3756748A16B2845D2A14085069CC46FFBDD34A8661F1F5D5", // upper case
		"g0f0951505390e5d3756748a16b2845d2a14085069cc46ffbdd34a8661f1f5d5",
	} {
		if _, err := setroot.ParseRoot(s); !errors.Is(err, setroot.ErrBadEncoding) {
			t.Errorf("ParseRoot(%q) = %v, want ErrBadEncoding", s, err)
		}
	}
}

func FuzzParseRoot(f *testing.F) {
	f.Add("90f0951505390e5d3756748a16b2845d2a14085069cc46ffbdd34a8661f1f5d5")
	f.Add("90F0951505390E5D3756748A16B2845D2A14085069CC46FFBDD34A8661F1F5D5")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := setroot.ParseRoot(s)
		if err == nil && hexRoot(h) != s {
			t.Fatalf("ParseRoot(%q) accepted a non-canonical spelling", s)
		}
	})
}
