package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// DropMappedPages takes the store file's pages out of this process's
// resident set: bbolt reads through a shared, read-only map of the whole
// file, and every page a long job reads (a first build walks the whole
// list) stays counted in the node's RSS until the kernel needs it back.
// The pages stay in the page cache; the next read of one maps it again
// (a minor fault). A job that reads gigabytes calls this between its
// transactions, so its resident set is bounded by what one transaction
// reads, not by the file.
//
// It is called inside a transaction, read or write: bbolt moves its map
// only when a write transaction grows the file, and that waits for every
// open transaction to end (each holds bbolt's map lock for reading), so
// the range cannot be unmapped, and something else mapped there, while it
// is advised. A long read (a snapshot served or published) may call it as
// it goes: the map is shared and read-only, so the pages that other
// transactions read at the same time are simply faulted in again from the
// page cache, with the same bytes.
func (t *Tx) DropMappedPages() error {
	if t.tx.DB() == nil {
		return errors.New("DropMappedPages outside a transaction")
	}
	path, err := mappedPath(t.tx.DB().Path())
	if err != nil {
		return err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		// start-end perms offset dev inode path
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) < 6 || !strings.HasSuffix(line, " "+path) {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED); e != 0 {
			return e
		}
	}
	return sc.Err()
}

// MappedResident is how many bytes of the store file's map are in this
// process's resident set now (/proc/self/smaps): what DropMappedPages
// lets go of. Tests and benchmarks read it.
func (db *DB) MappedResident() (int64, error) {
	path, err := mappedPath(db.bolt.Path())
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	in, kb := false, int64(0)
	for sc.Scan() {
		line := sc.Text()
		// A mapping's header is "start-end perms offset dev inode path";
		// its fields are "Name: value kB".
		if first, _, _ := strings.Cut(line, " "); strings.Contains(first, "-") && !strings.HasSuffix(first, ":") {
			in = strings.HasSuffix(line, " "+path)
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok && in {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("smaps: %q: %w", line, err)
			}
			kb += n
		}
	}
	return kb << 10, sc.Err()
}

// mappedPath is the store file's name as the kernel gives it in
// /proc/self/maps: absolute, with symbolic links resolved.
func mappedPath(file string) (string, error) {
	path, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	return path, nil
}
