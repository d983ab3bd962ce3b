package store

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// mappedRss is the resident size, in kB, of this process's mappings of
// the file at path (/proc/self/smaps).
func mappedRss(t *testing.T, path string) int {
	t.Helper()
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	in, kb := false, 0
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) > 0 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = strings.HasSuffix(line, " "+path)
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok && in {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("smaps: %q: %v", line, err)
			}
			kb += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kb
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
	path := db.bolt.Path()
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
		read := mappedRss(t, path)
		if read < values*size/1024/2 {
			t.Fatalf("after reading %d kB through the map, %d kB of it are resident", values*size/1024, read)
		}
		if err := tx.DropMappedPages(); err != nil {
			return err
		}
		if after := mappedRss(t, path); after > read/8 {
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
