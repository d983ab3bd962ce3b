// Package store is hashhub's persistence on bbolt: one file in the data
// directory. It knows buckets, keys and transactions, and nothing of policy:
// the domain decides what to write, the store writes it atomically.
//
// Keys are laid out for range scans: append-only data (the audit chain, the
// change feed, the creation index) is keyed by big-endian sequence numbers so
// inserts always go to the end of the tree and scans run in order.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/hashhub/hashhub/entries"
)

// Bucket names.
var (
	bMeta     = []byte("meta")
	bOrgs     = []byte("orgs")
	bOrgNames = []byte("org_names")
	bUsers    = []byte("users")
	bClients  = []byte("clients")
	bEntries  = []byte("entries")
	bIndex    = []byte("entry_index")
	bChanges  = []byte("changes")
	bFeedback = []byte("feedback")
	bDisputes = []byte("disputes")
	bLists    = []byte("lists")
	bAudit    = []byte("audit")
	bIdem     = []byte("idempotency")

	allBuckets = [][]byte{bMeta, bOrgs, bOrgNames, bUsers, bClients, bEntries, bIndex,
		bChanges, bFeedback, bDisputes, bLists, bAudit, bIdem, bListState, bLogHashes, bLogLeaves, bPeers,
		bWitnessLogs, bWitnessEvidence, bCosignatures, bRecords, bPeerCursors}
)

// backfills index what a store already holds into a bucket a later
// version added; each runs once, in the transaction that creates its
// bucket.
var backfills = map[string]func(*Tx) error{}

// ErrNotFound is returned when a key is absent. Not-found is an error, never
// a nil value.
var ErrNotFound = errors.New("not found")

// ErrInUse is returned by Open when another process holds the store's
// lock: a running node (or an offline tool) has it open.
var ErrInUse = errors.New("store is in use by another process")

// DefaultTimeout is how long Open waits for the store's lock.
const DefaultTimeout = 2 * time.Second

// InitialMmapSize is the address space reserved for the store file (64
// GiB); a store that outgrows it still works, but writes that grow it wait
// for open read transactions.
const InitialMmapSize = 64 << 30

// FileName is the database file inside the data directory.
const FileName = "hashhub.db"

// DB is an open store.
type DB struct {
	bolt *bolt.DB
	path string
}

// Options tune Open.
type Options struct {
	// ReadOnly opens with a shared lock (for offline verification while no
	// server holds the file).
	ReadOnly bool
	// Timeout waits this long for the file lock (DefaultTimeout).
	Timeout time.Duration
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, o Options) (*DB, error) {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	path := filepath.Join(dir, FileName)
	if o.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  o.Timeout,
		ReadOnly: o.ReadOnly,
		// First fit: a transaction's new pages come from the lowest free
		// ones, so a release build's few thousand pages lie close together
		// rather than anywhere in a file of gigabytes, and their write and
		// fsync cost the same at 1M and 10M entries (docs/PERFORMANCE.md;
		// the map freelist picks free spans in map order). Imports measure
		// the same with either.
		FreelistType:   bolt.FreelistArrayType,
		NoFreelistSync: true,
		// Reserve address space up front so that a long read (a snapshot
		// download) never blocks the writer: bbolt cannot grow its map
		// while a read transaction is open. On 64-bit Linux this is
		// address space only; the file grows as data is written.
		InitialMmapSize: InitialMmapSize,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		// bbolt says only "timeout": name the cause.
		return nil, fmt.Errorf("open store %q: %w (waited %s for its lock; is a node running on it?)", path, ErrInUse, o.Timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	db := &DB{bolt: b, path: path}
	if !o.ReadOnly {
		err = b.Update(func(tx *bolt.Tx) error {
			var created [][]byte
			for _, name := range allBuckets {
				if tx.Bucket(name) == nil {
					created = append(created, name)
				}
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			for _, name := range created {
				if fill := backfills[string(name)]; fill != nil {
					if err := fill(&Tx{tx: tx}); err != nil {
						return fmt.Errorf("fill %s: %w", name, err)
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("create buckets: %w", err)
		}
	}
	return db, nil
}

// Close closes the file.
func (db *DB) Close() error { return db.bolt.Close() }

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Bolt exposes the underlying database for backup and tests.
func (db *DB) Bolt() *bolt.DB { return db.bolt }

// Tx is a store transaction.
type Tx struct {
	tx *bolt.Tx
	// arena holds encoded keys and values written in this transaction:
	// bbolt references them until commit, and carving them from large
	// chunks spares the allocator a small object per write.
	arena   []byte
	scratch []byte
}

const arenaChunk = 1 << 20

// keep copies b into the transaction's arena and returns the copy, which
// stays valid until the transaction ends.
func (t *Tx) keep(b []byte) []byte {
	if len(b) > arenaChunk/8 {
		return append([]byte(nil), b...)
	}
	if cap(t.arena)-len(t.arena) < len(b) {
		t.arena = make([]byte, 0, arenaChunk)
	}
	n := len(t.arena)
	t.arena = append(t.arena, b...)
	return t.arena[n:len(t.arena):len(t.arena)]
}

func (t *Tx) seqKey(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return t.keep(k[:])
}

func (t *Tx) encodeEntry(e *entries.Entry) []byte {
	t.scratch = encodeEntry(t.scratch[:0], e)
	return t.keep(t.scratch)
}

// Update runs fn in a read-write transaction, committed (and fsynced) when
// fn returns nil and rolled back otherwise.
func (db *DB) Update(fn func(*Tx) error) error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx}) })
}

// View runs fn in a read-only transaction. Keep it short.
func (db *DB) View(fn func(*Tx) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx}) })
}

func (t *Tx) b(name []byte) *bolt.Bucket { return t.tx.Bucket(name) }

func (t *Tx) get(bucket []byte, key string, v any) error {
	raw := t.b(bucket).Get([]byte(key))
	if raw == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s/%q: %w", bucket, key, err)
	}
	return nil
}

func (t *Tx) put(bucket []byte, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s/%q: %w", bucket, key, err)
	}
	return t.b(bucket).Put([]byte(key), raw)
}

// scan calls fn for each key ≥ from (all when empty) with the given prefix
// until fn returns false or an error.
func (t *Tx) scan(bucket []byte, prefix, from string, fn func(k, v []byte) (bool, error)) error {
	c := t.b(bucket).Cursor()
	start := prefix
	if from > start {
		start = from
	}
	for k, v := c.Seek([]byte(start)); k != nil; k, v = c.Next() {
		if len(prefix) > 0 && (len(k) < len(prefix) || string(k[:len(prefix)]) != prefix) {
			return nil
		}
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func seqKey(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}

// Meta reads a node-level setting.
func (t *Tx) Meta(key string, v any) error { return t.get(bMeta, key, v) }

// PutMeta writes a node-level setting.
func (t *Tx) PutMeta(key string, v any) error { return t.put(bMeta, key, v) }
