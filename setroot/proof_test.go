package setroot_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hashhub/hashhub/setroot"
)

// proofFixture is a set dense enough that buckets hold several entries, so
// proofs have real neighbours; it returns the set and one entry's key.
func proofFixture(t testing.TB) (*set, string) {
	t.Helper()
	s := newSet()
	for i := range 100_000 {
		v := sha256.Sum256(fmt.Appendf(nil, "proof %d", i))
		key := fmt.Sprintf("sha256:%x", v)
		s.put(key, fmt.Appendf(nil, "{\"algo\":\"sha256\",\"value\":\"%x\",\"severity\":\"A\"}", v))
	}
	// Pick an entry that shares its bucket.
	for key := range s.lines {
		if len(s.buckets[setroot.Bucket(key)]) >= 3 {
			return s, key
		}
	}
	t.Fatal("no bucket with three entries")
	return nil, ""
}

func TestVerifyProof(t *testing.T) {
	s, key := proofFixture(t)
	root := s.tree.Root()
	line := s.lines[key]
	b := setroot.Bucket(key)

	// Every entry of the bucket proves with the same Leaves and Path.
	for k, l := range s.lines {
		if setroot.Bucket(k) == b {
			if err := setroot.VerifyProof(root, k, l, s.proof(k)); err != nil {
				t.Fatalf("valid proof refused: %v", err)
			}
		}
	}

	// otherKey is in a different bucket from key.
	var otherKey string
	for k := range s.lines {
		if setroot.Bucket(k) != b {
			otherKey = k
			break
		}
	}

	tests := []struct {
		name   string
		root   setroot.Hash
		key    string
		line   []byte
		modify func(p *setroot.Proof)
		want   error
	}{
		{name: "wrong line", line: []byte(`{"algo":"sha256","value":"x","severity":"B"}`), want: setroot.ErrNotInBucket},
		{name: "line with newline", line: append(slices.Clone(line), '\n'), want: setroot.ErrNotInBucket},
		{name: "key of another bucket", key: otherKey, want: setroot.ErrWrongBucket},
		{name: "proof names another bucket", modify: func(p *setroot.Proof) { p.Bucket ^= 1 }, want: setroot.ErrWrongBucket},
		{name: "entry's leaf removed", modify: func(p *setroot.Proof) {
			i, _ := slices.BinarySearchFunc(p.Leaves, setroot.LeafHash(line), cmpHash)
			p.Leaves = slices.Delete(p.Leaves, i, i+1)
		}, want: setroot.ErrNotInBucket},
		{name: "neighbour's leaf removed", modify: func(p *setroot.Proof) {
			i, _ := slices.BinarySearchFunc(p.Leaves, setroot.LeafHash(line), cmpHash)
			p.Leaves = slices.Delete(p.Leaves, (i+1)%len(p.Leaves), (i+1)%len(p.Leaves)+1)
		}, want: setroot.ErrRootMismatch},
		{name: "leaves unsorted", modify: func(p *setroot.Proof) { slices.Reverse(p.Leaves) }, want: setroot.ErrMalformedProof},
		{name: "path too short", modify: func(p *setroot.Proof) { p.Path = p.Path[:setroot.Depth-1] }, want: setroot.ErrMalformedProof},
		{name: "path too long", modify: func(p *setroot.Proof) { p.Path = append(p.Path, setroot.Hash{}) }, want: setroot.ErrMalformedProof},
		{name: "path reversed", modify: func(p *setroot.Proof) { slices.Reverse(p.Path) }, want: setroot.ErrRootMismatch},
		{name: "wrong root", root: setroot.NewTree().Root(), want: setroot.ErrRootMismatch},
	}
	// One bit flipped at every level of the path.
	for level := range setroot.Depth {
		tests = append(tests, struct {
			name   string
			root   setroot.Hash
			key    string
			line   []byte
			modify func(p *setroot.Proof)
			want   error
		}{
			name:   fmt.Sprintf("path tampered at level %d", level),
			modify: func(p *setroot.Proof) { p.Path[level][level] ^= 0x80 },
			want:   setroot.ErrRootMismatch,
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, k, l := root, key, line
			if tt.root != (setroot.Hash{}) {
				r = tt.root
			}
			if tt.key != "" {
				k = tt.key
			}
			if tt.line != nil {
				l = tt.line
			}
			p := s.proof(key)
			if tt.modify != nil {
				tt.modify(&p)
			}
			err := setroot.VerifyProof(r, k, l, p)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyProof = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestProofAfterUpdate checks that Path reflects buckets set since the last
// Root, and that a proof against the old root fails once the entry changed.
func TestProofAfterUpdate(t *testing.T) {
	s, key := proofFixture(t)
	oldRoot := s.tree.Root()
	oldProof := s.proof(key)
	newLine := []byte(`{"changed":true}`)
	s.put(key, newLine) // no Root call in between: Path must refresh itself
	p := s.proof(key)
	if err := setroot.VerifyProof(s.tree.Root(), key, newLine, p); err != nil {
		t.Fatalf("proof after update: %v", err)
	}
	if err := setroot.VerifyProof(oldRoot, key, newLine, p); !errors.Is(err, setroot.ErrRootMismatch) {
		t.Fatalf("new proof against old root = %v, want ErrRootMismatch", err)
	}
	if err := setroot.VerifyProof(s.tree.Root(), key, s.lines[key], oldProof); !errors.Is(err, setroot.ErrNotInBucket) {
		t.Fatalf("old proof against new root = %v, want ErrNotInBucket", err)
	}
}

// FuzzVerifyProof feeds arbitrary proofs to VerifyProof. It must never panic,
// and whatever it accepts must pass the checks written out here directly.
func FuzzVerifyProof(f *testing.F) {
	// Seed with a valid proof, so mutations start from the interesting case.
	s := newSet()
	for i := range 100_000 {
		s.put(fmt.Sprintf("md5:%032x", i), fmt.Appendf(nil, "line %d", i))
	}
	key := "md5:" + fmt.Sprintf("%032x", 77)
	p := s.proof(key)
	root := s.tree.Root()
	f.Add(root[:], key, s.lines[key], p.Bucket, flatten(p.Leaves), flatten(p.Path))
	f.Add(root[:], key, s.lines[key], p.Bucket, flatten(p.Leaves), flatten(p.Path[:15]))
	f.Add([]byte{}, "", []byte{}, uint16(0), []byte{}, []byte{})
	f.Add(make([]byte, 32), "md5:", []byte("x"), setroot.Bucket("md5:"), make([]byte, 33), make([]byte, 16*32+1))

	f.Fuzz(func(t *testing.T, rootBytes []byte, key string, line []byte, bucket uint16, leafBytes, pathBytes []byte) {
		var root setroot.Hash
		copy(root[:], rootBytes)
		p := setroot.Proof{Bucket: bucket, Leaves: toHashes(leafBytes), Path: toHashes(pathBytes)}
		if setroot.VerifyProof(root, key, line, p) != nil {
			return
		}
		if bucket != setroot.Bucket(key) || len(p.Path) != setroot.Depth || !slices.Contains(p.Leaves, setroot.LeafHash(line)) {
			t.Fatal("VerifyProof accepted a proof that fails a basic check")
		}
		digest := setroot.BucketDigest(p.Leaves)
		node := sha256.Sum256(append([]byte{0}, digest[:]...))
		for level, sib := range p.Path {
			if bucket>>level&1 == 1 {
				node = sha256.Sum256(slices.Concat([]byte{1}, sib[:], node[:]))
			} else {
				node = sha256.Sum256(slices.Concat([]byte{1}, node[:], sib[:]))
			}
		}
		if node != root {
			t.Fatal("VerifyProof accepted a proof that does not reach the root")
		}
	})
}

// toHashes cuts b into 32-byte hashes, dropping a short tail.
func toHashes(b []byte) []setroot.Hash {
	var hs []setroot.Hash
	for len(b) >= setroot.HashSize {
		hs = append(hs, setroot.Hash(b[:setroot.HashSize]))
		b = b[setroot.HashSize:]
	}
	return hs
}

// flatten is the inverse of toHashes.
func flatten(hs []setroot.Hash) []byte {
	var b []byte
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}
