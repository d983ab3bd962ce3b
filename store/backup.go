package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// ErrInvalidStore is returned by Check for a file that is not a sound
// hashhub store.
var ErrInvalidStore = errors.New("not a valid hashhub store")

// Snapshot writes a consistent copy of the store file to w from one read
// transaction: writers go on meanwhile (a long read costs them nothing,
// InitialMmapSize having reserved the address space) and the copy is the
// store as of the moment the transaction began. size is called first with
// the copy's exact length, which an archive header needs before the bytes.
func (db *DB) Snapshot(w io.Writer, size func(int64) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		if err := size(tx.Size()); err != nil {
			return err
		}
		_, err := tx.WriteTo(w)
		return err
	})
}

// requiredBuckets are the buckets every hashhub store has held since its
// first version; later buckets are created when a node opens the store.
var requiredBuckets = [][]byte{bMeta, bOrgs, bUsers, bClients, bAudit}

// Check opens the store in dir read-only and checks it page by page
// (bbolt's own consistency check) and that it is hashhub's. It is how a
// restore refuses a damaged or foreign file before it replaces anything.
func Check(dir string) error {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidStore, err)
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: DefaultTimeout})
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrInvalidStore, path, err)
	}
	defer b.Close()
	// bbolt's check panics, on a goroutine of its own where no recover
	// reaches, at a page that is not what its parent says it is. Reading
	// every page here first, where a panic can be caught, turns a damaged
	// page into an error before bbolt's check runs.
	if err := readAll(b); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrInvalidStore, path, err)
	}
	return b.View(func(tx *bolt.Tx) error {
		for _, name := range requiredBuckets {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("%w: %q has no %q bucket", ErrInvalidStore, path, name)
			}
		}
		for err := range tx.Check() {
			return fmt.Errorf("%w: %q: %w", ErrInvalidStore, path, err)
		}
		return nil
	})
}

// readAll reads every key of every bucket, nested ones included, and turns
// a panic of bbolt's page checks into an error.
func readAll(b *bolt.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("damaged page: %v", r)
		}
	}()
	var walk func(bk *bolt.Bucket) error
	walk = func(bk *bolt.Bucket) error {
		c := bk.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				if sub := bk.Bucket(k); sub != nil {
					if err := walk(sub); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return b.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, bk *bolt.Bucket) error { return walk(bk) })
	})
}
