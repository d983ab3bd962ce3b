package store

import (
	"strconv"
	"strings"
	"testing"
)

func mappedKB(t *testing.T, db *DB) int {
	t.Helper()
	n, err := db.MappedResident()
	if err != nil {
		t.Fatal(err)
	}
	return int(n >> 10)
}

// A read transaction lets go of the pages it read: a long read (a
// snapshot served) does not keep the file in the node's resident set.
func TestDropMappedPagesInReadTransaction(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const values, size = 512, 64 << 10 // 32 MiB
	err = db.Update(func(tx *Tx) error {
		b, err := tx.tx.CreateBucket([]byte("mapped-test"))
		if err != nil {
			return err
		}
		v := []byte(strings.Repeat("x", size))
		for i := range values {
			if err := b.Put([]byte(strconv.Itoa(100000+i)), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error {
		sum := 0
		err := tx.tx.Bucket([]byte("mapped-test")).ForEach(func(_, v []byte) error {
			for i := 0; i < len(v); i += 4096 {
				sum += int(v[i])
			}
			return nil
		})
		if err != nil {
			return err
		}
		if sum != values*size/4096*'x' {
			t.Fatalf("read back %d", sum)
		}
		read := mappedKB(t, db)
		if read < values*size/1024/2 {
			t.Fatalf("after reading %d kB through the map, %d kB of it are resident", values*size/1024, read)
		}
		if err := tx.DropMappedPages(); err != nil {
			return err
		}
		if after := mappedKB(t, db); after > read/8 {
			t.Fatalf("after DropMappedPages %d kB of the file are still resident (%d before)", after, read)
		}
		// The bytes are still there to read.
		v := tx.tx.Bucket([]byte("mapped-test")).Get([]byte("100007"))
		if len(v) != size || v[size-1] != 'x' {
			t.Fatalf("after DropMappedPages a value reads %d bytes", len(v))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var closed *Tx
	if err := db.View(func(tx *Tx) error { closed = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := closed.DropMappedPages(); err == nil {
		t.Fatal("DropMappedPages on an ended transaction: no error")
	}
}
