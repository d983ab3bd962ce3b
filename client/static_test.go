package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/translog"
)

// treeServer serves a checkpoint and one tile of a published tree.
func treeServer(t testing.TB, checkpoint, tile []byte) *Static {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/"+StaticCheckpoint:
			w.Write(checkpoint)
		case strings.HasPrefix(r.URL.Path, "/log/tile/0/"):
			w.Write(tile)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	s, err := NewStatic(srv.URL, "test")
	if err != nil {
		t.Fatal(err)
	}
	s.c.tries = 1
	return s
}

// TestStaticProofs computes proofs from a real tree's tiles and refuses
// a tile that does not hash to the checkpoint's root.
func TestStaticProofs(t *testing.T) {
	var leaves [][]byte
	var hashes []tlog.Hash
	for i := range 5 {
		leaves = append(leaves, []byte{byte(i)})
		stored, err := tlog.StoredHashes(int64(i), leaves[i], tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(ix))
			for j, x := range ix {
				out[j] = hashes[x]
			}
			return out, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, stored...)
	}
	hr := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for j, x := range ix {
			out[j] = hashes[x]
		}
		return out, nil
	})
	root, err := tlog.TreeHash(5, hr)
	if err != nil {
		t.Fatal(err)
	}
	tile, err := tlog.ReadTileData(tlog.Tile{H: TileHeight, L: 0, N: 0, W: 5}, hr)
	if err != nil {
		t.Fatal(err)
	}
	note := []byte("hashhub/x\n5\n" + root.String() + "\n\n— hashhub/x sig\n")
	s := treeServer(t, note, tile)
	ctx := context.Background()
	if _, err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := s.InclusionProof(ctx, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(p, 5, root, 3, tlog.RecordHash(leaves[3])); err != nil {
		t.Errorf("inclusion proof: %v", err)
	}
	if _, err := s.ConsistencyProof(ctx, 2, 5); err != nil {
		t.Errorf("consistency proof: %v", err)
	}
	bad := append([]byte(nil), tile...)
	bad[0] ^= 1
	s = treeServer(t, note, bad)
	s.Checkpoint(ctx)
	if _, err := s.InclusionProof(ctx, 3, 5); !errors.Is(err, translog.ErrBadProof) {
		t.Errorf("a tampered tile: %v, want ErrBadProof", err)
	}
}

// FuzzStaticProofs: whatever checkpoint and tile a tree serves, the
// reader returns a proof or an error, never panics or loops.
func FuzzStaticProofs(f *testing.F) {
	f.Add([]byte("hashhub/x\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"), []byte{1, 2, 3}, int64(3))
	f.Add([]byte("hashhub/x\n-1\nAAAA\n\n"), []byte{}, int64(-1))
	f.Add([]byte("hashhub/x\n9223372036854775807\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"), []byte{}, int64(0))
	f.Fuzz(func(t *testing.T, checkpoint, tile []byte, index int64) {
		s := treeServer(t, checkpoint, tile)
		ctx := context.Background()
		if _, err := s.Checkpoint(ctx); err != nil {
			return
		}
		if s.tree.N > 1<<20 || s.tree.N < 0 {
			// A size this large asks for more tiles than a test fetches;
			// each missing one is an error, checked by the seed above.
			return
		}
		s.InclusionProof(ctx, index, s.tree.N)
		s.ConsistencyProof(ctx, index, s.tree.N)
	})
}
