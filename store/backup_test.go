package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestSnapshotAndCheck: a snapshot is a store that Check accepts, of the
// size announced; Check refuses a file that is not bbolt, a bbolt file
// that is not hashhub's, and a snapshot with a page overwritten.
func TestSnapshotAndCheck(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *Tx) error {
		for i := range 2000 {
			if err := tx.PutMeta("k"+string(rune('a'+i%26))+string(rune(i)), bytes.Repeat([]byte{'x'}, 100)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var announced int64
	if err := db.Snapshot(&buf, func(n int64) error { announced = n; return nil }); err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != announced {
		t.Fatalf("snapshot of %d bytes, %d announced", buf.Len(), announced)
	}
	write := func(b []byte) string {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, FileName), b, 0o600); err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := Check(write(buf.Bytes())); err != nil {
		t.Fatalf("the snapshot: %v", err)
	}
	if err := Check(write([]byte("not a database"))); !errors.Is(err, ErrInvalidStore) {
		t.Fatalf("garbage: %v", err)
	}
	if err := Check(t.TempDir()); !errors.Is(err, ErrInvalidStore) {
		t.Fatalf("no file: %v", err)
	}
	other := t.TempDir()
	b, err := bolt.Open(filepath.Join(other, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err })
	b.Close()
	if err := Check(other); !errors.Is(err, ErrInvalidStore) {
		t.Fatalf("another program's bbolt file: %v", err)
	}
	// Each page in turn overwritten: never a crash, and a page the store
	// uses is an error.
	page := os.Getpagesize()
	refused := 0
	for off := 2 * page; off < buf.Len(); off += page {
		bad := bytes.Clone(buf.Bytes())
		for i := off; i < off+page; i++ {
			bad[i] = 0xa5
		}
		if err := Check(write(bad)); err != nil {
			if !errors.Is(err, ErrInvalidStore) {
				t.Fatalf("page at %d: %v", off, err)
			}
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("no damaged page was noticed")
	}
}

// TestOpenSaysInUse: a store another opener holds is named as in use.
func TestOpenSaysInUse(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = Open(dir, Options{Timeout: 50e6})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second open: %v", err)
	}
}
