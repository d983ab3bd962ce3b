// Package mirror keeps a verified local copy of one hash list, pulled from
// a hashhub node: the client side of release distribution (docs/design.md §4,
// docs/release-format.md).
//
// A mirror trusts nothing the node says until it has checked it against
// two keys pinned when the mirror was made: the node's release key (which
// signs manifests) and its log key (which signs transparency-log
// checkpoints). Each version is accepted only if its manifest is signed by
// the pinned key, chained to the previous one, logged in a checkpoint
// consistent with every earlier one the mirror saw, and if applying its
// delta reproduces the manifest's set root and entry count. Anything else
// is refused with an error naming the check, and changes nothing.
//
// Everything lives in one bbolt file, DIR/mirror.db, so that one
// transaction applies a version step — members, set-root buckets,
// manifest, version, checkpoint — or none of it:
//
//	meta       pinned keys, server, list, node, version, entry count,
//	           first version of the verified chain, checkpoint and the
//	           current manifest's inclusion proof
//	members    bucket(2) | leaf hash(32) → canonical snapshot line, the
//	           node's own member layout, in the snapshot's order
//	leaves     bucket(2) → the bucket's leaf hashes, sorted, then their
//	           keys' fingerprints (leaves.go): a touched bucket is rehashed
//	           from one value, and an entry a delta names is found from its
//	           key without an index
//	tree       bucket(2) → bucket digest, for non-empty buckets only
//	manifests  version(8) → manifest bytes;  sigs  version(8) → signature
//	stage      a snapshot being loaded in batches (stage.go), swapped in
//	           for members, leaves and tree by the step's transaction
package mirror

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
	"github.com/hashhub/hashhub/witness"
)

// FileName is the mirror's one file inside its directory.
const FileName = "mirror.db"

// Format names the layout of mirror.db; Open refuses any other, except
// that opening a mirror of formatV1 for writing converts it.
const Format = "hashhub.mirror.v2"

// formatV1 kept an index (algo:value → member key) and no leaves bucket.
const formatV1 = "hashhub.mirror.v1"

// DefaultSnapshotAfter is how many versions a list must have before an
// empty mirror starts from the snapshot of the latest version instead of
// replaying every delta from version 1. Replaying verifies the whole hash
// chain; starting from a snapshot verifies only the latest manifest (there
// is no earlier version held to chain it to), in exchange for one download
// instead of one per version. A list with fewer versions but more entries
// than a batch is not replayed either (version 1's delta would be one
// transaction holding the whole list): its manifests from version 1 are
// chained, and its contents load from a snapshot in batches.
const DefaultSnapshotAfter = 64

// lockTimeout is how long opening waits for another process (a pull in
// progress) to release the file.
const lockTimeout = 2 * time.Second

// Refusals. Every error Pull or Verify returns for a failed check wraps one
// of these (test with errors.Is) and names the check and the version.
var (
	// ErrSignature: the manifest's signature does not verify with the
	// pinned release key.
	ErrSignature = errors.New("bad signature")
	// ErrWrongKey: the manifest names a signing key other than the pinned
	// one (another node's key, or a rotated key not yet pinned).
	ErrWrongKey = errors.New("signed by a key that is not pinned")
	// ErrMalformed: the manifest is not a canonical hashhub manifest.
	ErrMalformed = errors.New("malformed manifest")
	// ErrWrongList: the manifest is of another list or another node.
	ErrWrongList = errors.New("manifest of another list or node")
	// ErrRollback: the node offers an older version than the mirror holds,
	// or a checkpoint of a smaller log.
	ErrRollback = errors.New("rollback")
	// ErrGap: a version is missing, or the manifest served for version N
	// is a later version's.
	ErrGap = errors.New("gap in versions")
	// ErrVersionMismatch: the manifest served for version N is an earlier
	// version's (a replay).
	ErrVersionMismatch = errors.New("version mismatch (replayed manifest)")
	// ErrChain: the manifest does not chain to the previous one (previous
	// digest, delta origin, creation time), or differs from the one held
	// for the same version.
	ErrChain = errors.New("broken hash chain")
	// ErrExpired: the newest manifest is past its expiry: the node has
	// stopped publishing (or is being kept from the client).
	ErrExpired = errors.New("manifest expired")
	// ErrNotIncluded: the manifest is not in the log's checkpoint.
	ErrNotIncluded = errors.New("manifest not in the transparency log")
	// ErrBadCheckpoint: the checkpoint is malformed or not signed by the
	// pinned log key.
	ErrBadCheckpoint = errors.New("bad checkpoint")
	// ErrInconsistentLog: the checkpoint does not extend the one the
	// mirror last trusted (a forked or rewritten log).
	ErrInconsistentLog = errors.New("log inconsistent with the trusted checkpoint")
	// ErrWitnessPolicy: the checkpoint lacks the cosignatures the pull's
	// witness policy requires (k of n witnesses, from enough jurisdictions).
	ErrWitnessPolicy = errors.New("witness policy not met")
	// ErrDeltaDigest: the delta's length or SHA-256 is not the manifest's.
	ErrDeltaDigest = errors.New("delta digest mismatch")
	// ErrBadLine: a delta or snapshot line is malformed, out of order, or
	// does not fit the mirror's contents (an add of a present entry, a
	// remove of an absent one).
	ErrBadLine = errors.New("bad line")
	// ErrDeltaCounts: the delta's adds, removes or updates are not the
	// manifest's counts.
	ErrDeltaCounts = errors.New("delta counts mismatch")
	// ErrSetRoot: the contents after the step do not have the manifest's
	// set root or entry count.
	ErrSetRoot = errors.New("set root mismatch")
	// ErrTooLarge: a delta or snapshot is longer than its manifest allows
	// (a snapshot: its entry count times the longest canonical line), or
	// than the mirror's cap (MaxBytes). The download stops at the bound.
	ErrTooLarge = errors.New("too large")
	// ErrCorrupt: the mirror file does not hold what the mirror wrote
	// (found by Verify).
	ErrCorrupt = errors.New("mirror file corrupt")
)

// Errors about the mirror itself rather than the node.
var (
	// ErrNoMirror: the directory holds no mirror.
	ErrNoMirror = errors.New("no mirror in this directory")
	// ErrOtherMirror: the directory holds a mirror of another list or
	// server, or with other pinned keys.
	ErrOtherMirror = errors.New("directory holds another mirror")
	// ErrEmpty: the mirror has not pulled a release yet.
	ErrEmpty = errors.New("mirror holds no release yet")
	// ErrImport: the mirror's importer did not take a verified step (see
	// Mirror.Importer); the step is not committed.
	ErrImport = errors.New("import failed")
	// ErrStageMismatch: the lines an interrupted pull staged are not
	// those of the snapshot verified now (the earlier download was cut
	// before its check could refuse it). The stage is dropped, so the
	// next pull loads the snapshot from its first line.
	ErrStageMismatch = errors.New("the staged lines are not the verified snapshot's")
)

// bbolt buckets and meta keys.
var (
	bMeta      = []byte("meta")
	bMembers   = []byte("members")
	bLeaves    = []byte("leaves")
	bTree      = []byte("tree")
	bManifests = []byte("manifests")
	bSigs      = []byte("sigs")
	// bIndex is formatV1's index, dropped when a mirror is converted.
	bIndex = []byte("index")

	allBuckets = [][]byte{bMeta, bMembers, bLeaves, bTree, bManifests, bSigs}
)

const (
	mFormat     = "format"
	mServer     = "server"
	mList       = "list"
	mNode       = "node"
	mReleaseKey = "release_key_pem"
	mLogKey     = "log_key"
	mVersion    = "version"
	mBase       = "base"
	mEntries    = "entries"
	mCheckpoint = "checkpoint"
	mRotations  = "rotations"
	mInclusion  = "inclusion"
)

// memberKeyLen is bucket(2) | leaf hash(32).
const memberKeyLen = 2 + setroot.HashSize

// Mirror is an open mirror. It is not safe for concurrent use; bbolt's
// file lock keeps other processes out while it is open.
type Mirror struct {
	dir      string
	db       *bolt.DB
	verifier *release.Verifier
	// keys are every release key the mirror trusts, by key id: the pinned
	// one and those reached from it through rotation statements.
	keys      map[string]*release.Verifier
	rotations []release.SignedRotation
	// newRotations are followed during a pull and not yet stored.
	newRotations bool
	logKey       string
	// tree is the set-root tree of the committed contents.
	tree *setroot.Tree

	// SnapshotAfter overrides DefaultSnapshotAfter (0 keeps the default).
	SnapshotAfter uint64
	// MaxBytes caps one delta or snapshot download, whatever the signed
	// manifest says (0: DefaultMaxBytes).
	MaxBytes int64
	// WitnessPolicy, if set, is required of every checkpoint a pull uses.
	WitnessPolicy *witness.Policy
	// Importer, if set, is given each verified step before it commits,
	// inside the mirror's transaction: an error rolls the step back, so
	// the mirror never holds a version its importer has not taken. A node
	// uses it to import a peer's list (package federation).
	Importer func(*AppliedStep) error
	// Batch overrides DefaultBatch, the snapshot lines one transaction
	// stages (0 keeps the default).
	Batch int
}

// AppliedStep is one verified version as an importer sees it: the lines
// that took the mirror there (every entry as an add after a snapshot).
// Read them with Range: a delta's are in Changes, a snapshot's are read
// from the spooled download as they are ranged over, so that an importer
// of a large list need not hold it (Changes is nil then).
type AppliedStep struct {
	List     string
	Version  uint64
	Snapshot bool
	Changes  []release.Change
	// lines, if set, yields the snapshot's lines in order.
	lines func(fn func(release.Change) error) error
}

// Range calls fn with each change of the step, in order, stopping at the
// first error fn returns. A snapshot is read again on each call.
func (s *AppliedStep) Range(fn func(release.Change) error) error {
	if s.lines != nil {
		return s.lines(fn)
	}
	for _, c := range s.Changes {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// State is what a mirror holds, as recorded.
type State struct {
	Dir    string `json:"dir"`
	Server string `json:"server"`
	List   string `json:"list"`
	// Node is the publishing node's id, recorded from the first manifest.
	Node string `json:"node,omitempty"`
	// ReleaseKeyID and LogKey are the pinned keys.
	ReleaseKeyID string `json:"release_key_id"`
	LogKey       string `json:"log_key"`
	// Version is the version held (0: none yet); Base the first version of
	// the verified chain (1, or the version a snapshot start began at).
	Version uint64 `json:"version"`
	Base    uint64 `json:"base,omitempty"`
	Entries uint64 `json:"entries"`
	SetRoot string `json:"set_root,omitempty"`
	// Created and Expires are the current manifest's.
	Created string `json:"created,omitempty"`
	Expires string `json:"expires,omitempty"`
	// CheckpointSize is the size of the last trusted log checkpoint.
	CheckpointSize int64 `json:"checkpoint_size"`
}

// Exists reports whether dir holds a mirror file.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, FileName))
	return err == nil
}

// Init creates an empty mirror of list from server in dir, pinning the
// release key (PEM, ECDSA P-256) and the log's note verifier key. Running
// it again with the same arguments is a no-op; a directory that holds a
// mirror of another list or server, or with other keys, is refused:
// pinned keys are never replaced in place.
func Init(dir, server, list string, releaseKeyPEM []byte, logVerifierKey string) error {
	server, err := client.NormalizeServer(server)
	if err != nil {
		return err
	}
	if list == "" {
		return errors.New("mirror: no list name")
	}
	v, err := release.NewVerifier(releaseKeyPEM)
	if err != nil {
		return fmt.Errorf("mirror: pinned %w", err)
	}
	if _, err := note.NewVerifier(logVerifierKey); err != nil {
		return fmt.Errorf("mirror: pinned log key %q: %w", logVerifierKey, err)
	}
	if Exists(dir) {
		m, err := OpenReadOnly(dir)
		if err != nil {
			return err
		}
		defer m.Close()
		st, err := m.State()
		if err != nil {
			return err
		}
		switch {
		case st.List != list || st.Server != server:
			return fmt.Errorf("%w: %s mirrors list %q from %s, not %q from %s", ErrOtherMirror, dir, st.List, st.Server, list, server)
		case st.ReleaseKeyID != v.KeyID() || st.LogKey != logVerifierKey:
			return fmt.Errorf("%w: %s pins other keys (release key %s, log key %s)", ErrOtherMirror, dir, st.ReleaseKeyID, st.LogKey)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("mirror: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	// Created under a temporary name and renamed, so a crash never leaves
	// a mirror file without its pins.
	tmp := path + ".init"
	_ = os.Remove(tmp)
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return fmt.Errorf("mirror: create %s: %w", tmp, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		for k, val := range map[string][]byte{mFormat: []byte(Format), mServer: []byte(server), mList: []byte(list),
			mReleaseKey: releaseKeyPEM, mLogKey: []byte(logVerifierKey)} {
			if err := meta.Put([]byte(k), val); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("mirror: initialise %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("mirror: initialise %s: %w", path, err)
	}
	return nil
}

// Open opens the mirror in dir for pulling. Only one process may have a
// mirror open for writing; Open waits briefly for the lock, then fails.
func Open(dir string) (*Mirror, error) { return open(dir, false) }

// OpenReadOnly opens the mirror in dir for reading (status, verify,
// export); it never writes the file, and several readers may share it.
func OpenReadOnly(dir string) (*Mirror, error) { return open(dir, true) }

func open(dir string, readOnly bool) (*Mirror, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNoMirror, dir)
		}
		return nil, fmt.Errorf("mirror: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: readOnly,
		// A map freelist keeps commits cheap on a large mirror, and a
		// generous map reservation avoids remapping as the file grows.
		// Unlike the node's long-running store, the freelist stays synced:
		// hashctl opens the file on every run, and without a stored
		// freelist bbolt would read the whole file at each open (2.8 s
		// for a 10M-entry mirror).
		FreelistType: bolt.FreelistMapType, InitialMmapSize: 16 << 30})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("mirror: %s is in use by another process (a pull in progress?)", path)
		}
		return nil, fmt.Errorf("mirror: open %s: %w", path, err)
	}
	m := &Mirror{dir: dir, db: db}
	if !readOnly && isV1(db) {
		// Only then: a write transaction changes the file even if it
		// writes nothing, and a refused pull must leave it as it was.
		if err := db.Update(convertV1); err != nil {
			db.Close()
			return nil, fmt.Errorf("mirror: convert %s to %s: %w", path, Format, err)
		}
	}
	if err := db.View(m.load); err != nil {
		db.Close()
		return nil, err
	}
	return m, nil
}

// load reads the pins and rebuilds the set-root tree from the stored
// bucket digests.
func (m *Mirror) load(tx *bolt.Tx) error {
	meta := tx.Bucket(bMeta)
	if meta == nil {
		return fmt.Errorf("%w: %s has no %q bucket", ErrCorrupt, m.dir, bMeta)
	}
	if f := string(meta.Get([]byte(mFormat))); f != Format {
		if f == formatV1 {
			return fmt.Errorf("%w: %s has the older format %q: a pull converts it to %q", ErrCorrupt, m.dir, f, Format)
		}
		return fmt.Errorf("%w: %s has format %q, want %q", ErrCorrupt, m.dir, f, Format)
	}
	for _, b := range allBuckets {
		if tx.Bucket(b) == nil {
			return fmt.Errorf("%w: %s has no %q bucket", ErrCorrupt, m.dir, b)
		}
	}
	v, err := release.NewVerifier(meta.Get([]byte(mReleaseKey)))
	if err != nil {
		return fmt.Errorf("%w: pinned %w", ErrCorrupt, err)
	}
	m.verifier, m.logKey = v, string(meta.Get([]byte(mLogKey)))
	m.keys = map[string]*release.Verifier{v.KeyID(): v}
	if raw := meta.Get([]byte(mRotations)); raw != nil {
		if err := json.Unmarshal(raw, &m.rotations); err != nil {
			return fmt.Errorf("%w: stored rotations: %w", ErrCorrupt, err)
		}
		// Each stored statement is checked again from the pinned key.
		if err := m.followAll(); err != nil {
			return fmt.Errorf("%w: stored rotations: %w", ErrCorrupt, err)
		}
	}
	m.tree = setroot.NewTree()
	return tx.Bucket(bTree).ForEach(func(k, d []byte) error {
		if len(k) != 2 || len(d) != setroot.HashSize {
			return fmt.Errorf("%w: set-root bucket record %x", ErrCorrupt, k)
		}
		m.tree.SetBucket(binary.BigEndian.Uint16(k), setroot.Hash(d))
		return nil
	})
}

// isV1 reports whether db holds a formatV1 mirror.
func isV1(db *bolt.DB) bool {
	v1 := false
	db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bMeta); meta != nil {
			v1 = string(meta.Get([]byte(mFormat))) == formatV1
		}
		return nil
	})
	return v1
}

// convertV1 turns a formatV1 mirror into the current format: the leaves
// of every bucket from one scan of the members, and no index. Other
// formats are left for load to refuse.
func convertV1(tx *bolt.Tx) error {
	meta := tx.Bucket(bMeta)
	if meta == nil || string(meta.Get([]byte(mFormat))) != formatV1 {
		return nil
	}
	members := tx.Bucket(bMembers)
	if members == nil {
		return fmt.Errorf("%w: no members bucket", ErrCorrupt)
	}
	leaves, err := tx.CreateBucketIfNotExists(bLeaves)
	if err != nil {
		return err
	}
	var cur = -1
	set := &leafSet{}
	flush := func() error {
		if cur < 0 || len(set.leaves) == 0 {
			return nil
		}
		err := leaves.Put([]byte{byte(cur >> 8), byte(cur)}, set.encode())
		set = &leafSet{}
		return err
	}
	err = members.ForEach(func(k, line []byte) error {
		key, ok := release.LineKey(line)
		if !ok || len(k) != memberKeyLen {
			return fmt.Errorf("%w: member %x", ErrCorrupt, k)
		}
		b, fp := keyBucket(key)
		if b != binary.BigEndian.Uint16(k) {
			return fmt.Errorf("%w: member %x is not in its key's bucket", ErrCorrupt, k)
		}
		if int(b) != cur {
			if err := flush(); err != nil {
				return err
			}
			cur = int(b)
		}
		set.leaves = append(set.leaves, setroot.Hash(k[2:]))
		set.fps = append(set.fps, fp)
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	if tx.Bucket(bIndex) != nil {
		if err := tx.DeleteBucket(bIndex); err != nil {
			return err
		}
	}
	return meta.Put([]byte(mFormat), []byte(Format))
}

// Close releases the file.
func (m *Mirror) Close() error { return m.db.Close() }

// State reads what the mirror holds.
func (m *Mirror) State() (*State, error) {
	var st *State
	err := m.db.View(func(tx *bolt.Tx) error {
		var err error
		st, err = m.state(tx)
		return err
	})
	return st, err
}

func (m *Mirror) state(tx *bolt.Tx) (*State, error) {
	meta := tx.Bucket(bMeta)
	st := &State{
		Dir: m.dir, Server: string(meta.Get([]byte(mServer))), List: string(meta.Get([]byte(mList))),
		Node: string(meta.Get([]byte(mNode))), ReleaseKeyID: m.verifier.KeyID(), LogKey: m.logKey,
		Version: getU64(meta, mVersion), Base: getU64(meta, mBase), Entries: getU64(meta, mEntries),
	}
	if st.Version > 0 {
		raw := tx.Bucket(bManifests).Get(vkey(st.Version))
		man, err := release.ParseManifest(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: stored manifest %d: %w", ErrCorrupt, st.Version, err)
		}
		st.SetRoot, st.Created, st.Expires = man.SetRoot, man.Created, man.Expires
	}
	if cp := meta.Get([]byte(mCheckpoint)); cp != nil {
		c, err := openCheckpoint(cp, m.logKey)
		if err != nil {
			return nil, fmt.Errorf("%w: stored checkpoint: %w", ErrCorrupt, err)
		}
		st.CheckpointSize = c.Size
	}
	return st, nil
}

// CheckPins reports whether the given keys are the pinned ones; an empty
// argument is not checked. It is how a caller refuses a key given on the
// command line that disagrees with the mirror.
func (m *Mirror) CheckPins(releaseKeyPEM []byte, logVerifierKey string) error {
	if len(releaseKeyPEM) > 0 {
		v, err := release.NewVerifier(releaseKeyPEM)
		if err != nil {
			return err
		}
		if v.KeyID() != m.verifier.KeyID() {
			return fmt.Errorf("%w: the release key given (%s) is not the one pinned (%s)", ErrWrongKey, v.KeyID(), m.verifier.KeyID())
		}
	}
	if logVerifierKey != "" && logVerifierKey != m.logKey {
		return fmt.Errorf("%w: the log key given (%s) is not the one pinned (%s)", ErrWrongKey, logVerifierKey, m.logKey)
	}
	return nil
}

func vkey(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func getU64(b *bolt.Bucket, k string) uint64 {
	v := b.Get([]byte(k))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putU64(b *bolt.Bucket, k string, v uint64) error { return b.Put([]byte(k), vkey(v)) }

// memberKey is where an entry's line lives: its set-root bucket, then the
// line's leaf hash, so a bucket's leaves are one sorted prefix scan.
func memberKey(key string, line []byte) []byte {
	b := setroot.Bucket(key)
	leaf := setroot.LeafHash(line)
	out := make([]byte, 0, memberKeyLen)
	out = append(out, byte(b>>8), byte(b))
	return append(out, leaf[:]...)
}

func hexRoot(h setroot.Hash) string { return hex.EncodeToString(h[:]) }

// followAll trusts every key reachable from the trusted ones through the
// mirror's rotation statements, each checked against the key it replaces.
func (m *Mirror) followAll() error {
	for progress := true; progress; {
		progress = false
		for i := range m.rotations {
			for _, k := range m.keys {
				next, _, err := m.rotations[i].Follow(k)
				if err != nil {
					continue
				}
				if _, ok := m.keys[next.KeyID()]; !ok {
					m.keys[next.KeyID()] = next
					progress = true
				}
			}
		}
	}
	return nil
}

// learnRotations fetches the node's rotation statements and trusts the
// keys they lead to from a key already trusted. A statement that does not
// verify is ignored: it leads nowhere.
func (m *Mirror) learnRotations(ctx context.Context, src Source, keyID string) error {
	ks, ok := src.(KeySource)
	if !ok {
		return nil
	}
	k, err := ks.Keys(ctx)
	if err != nil {
		return fmt.Errorf("fetch keys: %w", err)
	}
	for _, sr := range k.Rotations {
		if !slices.ContainsFunc(m.rotations, func(x release.SignedRotation) bool { return x.Statement == sr.Statement }) {
			m.rotations = append(m.rotations, sr)
		}
	}
	before := len(m.keys)
	if err := m.followAll(); err != nil {
		return err
	}
	if len(m.keys) > before {
		m.newRotations = true
	}
	if _, ok := m.keys[keyID]; !ok {
		return fmt.Errorf("%w: key_id %s, and no rotation signed by a trusted key leads to it", ErrWrongKey, keyID)
	}
	return nil
}

// KeySource is a Source that also serves the node's keys, where rotation
// statements are published.
type KeySource interface {
	Keys(ctx context.Context) (*client.Keys, error)
}

// putRotations stores the rotation statements followed in this pull.
func (m *Mirror) putRotations(tx *bolt.Tx) error {
	if !m.newRotations {
		return nil
	}
	raw, err := json.Marshal(m.rotations)
	if err != nil {
		return err
	}
	return tx.Bucket(bMeta).Put([]byte(mRotations), raw)
}
