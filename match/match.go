// Package match finds a platform's hashes in the lists it mirrors: exact
// algorithms (md5, sha1, sha256, photodna) by key lookup, PDQ by an exact
// Hamming-radius search (multi-index hashing, pdq.go) whose results are
// always those of brute force. See docs/matching.md.
//
// An Index is safe for concurrent use: lookups share a read lock, and a
// change — one entry, or a whole delta through Apply — takes the write
// lock, so a reader sees a delta entirely or not at all. Updates are in
// place: an add appends a pending slot (scanned by every PDQ query), a
// remove marks its slot dead. When enough have gathered, the PDQ tables
// are rebuilt in the background, outside the lock, and swapped in under
// it (Index.rebuild), so a lookup never waits for a rebuild.
package match

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/release"
)

// DefaultDistance is the PDQ match distance when a query sets none: the
// threshold Meta recommends for PDQ (and HMA's default).
const DefaultDistance = 31

// MinQuality is the PDQ quality below which a query hash is not matched
// unless the query asks (Query.LowQuality): such hashes come from nearly
// featureless images and match a great deal of innocent material.
const MinQuality = 50

// MaxDistance bounds a query's distance: 256 bits differ at most.
const MaxDistance = 256

// Errors. ErrBadQuery wraps every problem with a query's hash or
// parameters; ErrBadEntry every problem with an entry given to the index.
var (
	ErrBadQuery     = errors.New("bad query")
	ErrBadEntry     = errors.New("bad entry")
	ErrTooManyLists = errors.New("too many lists in one index")
)

// Entry is one list entry as the index returns it.
type Entry struct {
	List     string `json:"list"`
	Algo     string `json:"algo"`
	Value    string `json:"value"`
	Category string `json:"category,omitempty"`
	Severity string `json:"severity,omitempty"`
	// Quality is the entry's PDQ quality, if the list gave one.
	Quality *int `json:"quality,omitempty"`
	// Version is a release of the list that contained the entry: the one
	// the index was built from, or the delta that added or updated it.
	// The list's inclusion proof for that version proves the match.
	Version uint64 `json:"version"`
}

// Key is the entry's key within its list, algo:value.
func (e *Entry) Key() string { return e.Algo + ":" + e.Value }

// Query is one hash to look up.
type Query struct {
	Algo  string
	Value string
	// Quality is the query hash's PDQ quality, if known.
	Quality *int
	// MaxDistance is the PDQ radius; nil means DefaultDistance. Ignored
	// for exact algorithms.
	MaxDistance *int
	// LowQuality asks to match a PDQ hash whose quality is below
	// MinQuality anyway.
	LowQuality bool
}

// Match is one entry a query matched, at a Hamming distance (0 for exact
// algorithms).
type Match struct {
	Entry
	Distance int `json:"distance"`
}

// Result is a query's answer.
type Result struct {
	Matches []Match `json:"matches"`
	// SkippedLowQuality says the query was not matched at all because its
	// PDQ quality is below MinQuality and it did not ask for LowQuality.
	SkippedLowQuality bool `json:"skipped_low_quality,omitempty"`
}

// meta is an entry's attributes, packed into 8 bytes (80 MB at 10M
// entries): the list as an index into the index's list table, the
// severity letter with liveBit set while the entry is in the index, and
// quality as -1 when absent.
type meta struct {
	version uint32
	list    uint16
	sev     byte
	quality int8
}

// liveBit marks a slot that holds an entry (severity letters are ASCII).
const liveBit = 0x80

func (m meta) live() bool { return m.sev&liveBit != 0 }

func (m meta) severity() byte { return m.sev &^ liveBit }

// ListInfo is what an index knows of a list beyond its entries: release
// lines carry no category, which is the list's (its policy's) to say.
type ListInfo struct {
	Name     string
	Category string
}

// Index holds the entries of one or more lists.
type Index struct {
	mu     sync.RWMutex
	lists  []ListInfo
	listID map[string]uint16
	pdq    *pdqIndex
	md5    *exact[[16]byte]
	sha1   *exact[[20]byte]
	sha256 *exact[[32]byte]
	photo  *exact[[144]byte]
	// bulk defers PDQ compaction to the end of a load (LoadSnapshot).
	bulk bool
	// rebuildMu is held through a rebuild of the PDQ tables, so there is
	// one at a time (and one extra set of tables in memory at most); it
	// is taken before mu, never while holding it. rebuilding says a
	// background rebuild has been started (under mu); background counts
	// it, for tests to wait on.
	rebuildMu  sync.Mutex
	rebuilding bool
	background sync.WaitGroup
}

// New returns an empty index.
func New() *Index {
	return &Index{
		listID: map[string]uint16{},
		pdq:    newPDQIndex(),
		md5:    newExact[[16]byte](),
		sha1:   newExact[[20]byte](),
		sha256: newExact[[32]byte](),
		photo:  newExact[[144]byte](),
	}
}

// SetList records a list's category (and the list itself). Entries
// already in the index take the new category.
func (ix *Index) SetList(info ListInfo) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	id, err := ix.list(info.Name)
	if err != nil {
		return err
	}
	ix.lists[id].Category = info.Category
	return nil
}

func (ix *Index) list(name string) (uint16, error) {
	if id, ok := ix.listID[name]; ok {
		return id, nil
	}
	if len(ix.lists) >= 1<<16 {
		return 0, ErrTooManyLists
	}
	id := uint16(len(ix.lists))
	ix.lists = append(ix.lists, ListInfo{Name: name})
	ix.listID[name] = id
	return id, nil
}

// Len returns the number of entries held.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.pdq.live + ix.md5.len() + ix.sha1.len() + ix.sha256.len() + ix.photo.len()
}

// key is a parsed hash: exactly one of its fields is meaningful, per algo.
type key struct {
	algo  string
	pdq   pdqHash
	bytes []byte
}

// parse validates algo and value through package hashes (which says
// precisely what is wrong) and decodes the canonical value.
func parse(algo, value string, quality *int) (key, hashes.Hash, error) {
	h, err := hashes.Parse(algo, value, quality)
	if err != nil {
		return key{}, h, err
	}
	k := key{algo: h.Algo}
	switch h.Algo {
	case "pdq":
		p, ok := parsePDQ(h.Value)
		if !ok {
			return k, h, fmt.Errorf("pdq value %q does not decode", h.Value)
		}
		k.pdq = p
	case "md5", "sha1", "sha256":
		k.bytes, err = hex.DecodeString(h.Value)
	case "photodna":
		k.bytes, err = base64.StdEncoding.DecodeString(h.Value)
	default:
		return k, h, fmt.Errorf("algorithm %q has no index", h.Algo)
	}
	return k, h, err
}

// Add puts an entry in the index, or replaces the attributes of the entry
// with the same list, algo and value (a delta's update).
func (ix *Index) Add(e Entry) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.add(e)
}

func (ix *Index) add(e Entry) error {
	pe, err := prepare(e)
	if err != nil {
		return err
	}
	list, err := ix.list(e.List)
	if err != nil {
		return err
	}
	ix.insert(list, &pe)
	return nil
}

// prepared is an entry parsed and packed, list aside: the part of an add
// that needs no lock, so that a load can do it on several cores.
type prepared struct {
	k key
	m meta
}

// prepare checks and packs e (all but its list).
func prepare(e Entry) (prepared, error) {
	k, h, err := parse(e.Algo, e.Value, e.Quality)
	if err != nil {
		return prepared{}, fmt.Errorf("%w: %w", ErrBadEntry, err)
	}
	return pack(k, h.Quality, e.Severity, e.Version)
}

// prepareItem packs an item release.ParseItem has checked — its value is
// canonical, its algorithm known and its severity valid — decoding the
// value without checking it a second time.
func prepareItem(it *release.Item, version uint64) (prepared, error) {
	k := key{algo: it.Algo}
	var err error
	switch it.Algo {
	case "pdq":
		var ok bool
		if k.pdq, ok = parsePDQ(it.Value); !ok {
			err = fmt.Errorf("pdq value %q does not decode", it.Value)
		}
	case "md5", "sha1", "sha256":
		k.bytes, err = hex.DecodeString(it.Value)
	case "photodna":
		k.bytes, err = base64.StdEncoding.DecodeString(it.Value)
	default:
		err = fmt.Errorf("algorithm %q has no index", it.Algo)
	}
	if err != nil {
		return prepared{}, fmt.Errorf("%w: %w", ErrBadEntry, err)
	}
	return pack(k, it.Quality, it.Severity, version)
}

func pack(k key, quality *int, severity string, version uint64) (prepared, error) {
	if version > 1<<32-1 {
		return prepared{}, fmt.Errorf("%w: version %d", ErrBadEntry, version)
	}
	m := meta{version: uint32(version), quality: -1, sev: liveBit}
	switch severity {
	case "":
	case "A", "B", "C":
		m.sev |= severity[0]
	default:
		return prepared{}, fmt.Errorf("%w: severity %q", ErrBadEntry, severity)
	}
	if quality != nil {
		m.quality = int8(*quality)
	}
	return prepared{k: k, m: m}, nil
}

// insert puts a prepared entry of list in the index, or replaces the
// attributes of the entry already there.
func (ix *Index) insert(list uint16, pe *prepared) {
	k, m := &pe.k, pe.m
	m.list = list
	switch k.algo {
	case "pdq":
		if s, ok := ix.pdq.find(k.pdq, list); ok {
			ix.pdq.setMeta(s, m)
			return
		}
		ix.pdq.add(k.pdq, m)
		ix.maybeRebuild()
	case "md5":
		ix.md5.put([16]byte(k.bytes), m)
	case "sha1":
		ix.sha1.put([20]byte(k.bytes), m)
	case "sha256":
		ix.sha256.put([32]byte(k.bytes), m)
	case "photodna":
		ix.photo.put([144]byte(k.bytes), m)
	}
}

// Remove takes list's entry algo:value out of the index; it reports
// whether there was one.
func (ix *Index) Remove(list, algo, value string) (bool, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.remove(list, algo, value)
}

func (ix *Index) remove(list, algo, value string) (bool, error) {
	k, _, err := parse(algo, value, nil)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrBadEntry, err)
	}
	id, ok := ix.listID[list]
	if !ok {
		return false, nil
	}
	switch k.algo {
	case "pdq":
		s, ok := ix.pdq.find(k.pdq, id)
		if ok {
			ix.pdq.remove(s)
			ix.maybeRebuild()
		}
		return ok, nil
	case "md5":
		return ix.md5.del([16]byte(k.bytes), id), nil
	case "sha1":
		return ix.sha1.del([20]byte(k.bytes), id), nil
	case "sha256":
		return ix.sha256.del([32]byte(k.bytes), id), nil
	default:
		return ix.photo.del([144]byte(k.bytes), id), nil
	}
}

// Apply makes a delta's changes to list at version, all under one lock:
// readers see the index before the delta or after it. It stops at the
// first bad change, having applied those before it; lines a mirror has
// verified are never bad.
func (ix *Index) Apply(list string, version uint64, changes []release.Change) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.apply(list, version, changes)
}

func (ix *Index) apply(list string, version uint64, changes []release.Change) error {
	for i := range changes {
		if err := ix.applyOne(list, version, &changes[i]); err != nil {
			return fmt.Errorf("change %d (%s): %w", i+1, changes[i].Key(), err)
		}
	}
	return nil
}

// applyOne applies one change of list's version.
func (ix *Index) applyOne(list string, version uint64, c *release.Change) error {
	switch c.Op {
	case release.OpAdd, release.OpUpdate:
		return ix.add(itemEntry(list, version, &c.Item))
	case release.OpRemove:
		_, err := ix.remove(list, c.Algo, c.Value)
		return err
	}
	return fmt.Errorf("%w: op %q", ErrBadEntry, c.Op)
}

// RemoveList drops every entry of list (before a snapshot replaces it).
func (ix *Index) RemoveList(list string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.removeList(list)
}

func (ix *Index) removeList(list string) {
	id, ok := ix.listID[list]
	if !ok {
		return
	}
	for s := range ix.pdq.meta {
		if m := ix.pdq.meta[s]; m.live() && m.list == id {
			ix.pdq.remove(uint32(s))
		}
	}
	ix.md5.dropList(id)
	ix.sha1.dropList(id)
	ix.sha256.dropList(id)
	ix.photo.dropList(id)
}

func itemEntry(list string, version uint64, it *release.Item) Entry {
	return Entry{List: list, Algo: it.Algo, Value: it.Value, Quality: it.Quality, Severity: it.Severity, Version: version}
}

// ParseQuery checks a query's hash and distance, and returns the error a
// caller shows for bad input (wrapping ErrBadQuery).
func ParseQuery(q Query) error {
	_, _, err := parseQuery(q)
	return err
}

func parseQuery(q Query) (key, int, error) {
	k, _, err := parse(q.Algo, q.Value, q.Quality)
	if err != nil {
		return k, 0, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	r := DefaultDistance
	if q.MaxDistance != nil {
		r = *q.MaxDistance
		if r < 0 || r > MaxDistance {
			return k, 0, fmt.Errorf("%w: max distance %d is not within 0 to %d", ErrBadQuery, r, MaxDistance)
		}
	}
	return k, r, nil
}

// Lookup answers a query: every entry within the query's distance (PDQ)
// or equal to it (other algorithms), in no particular order.
func (ix *Index) Lookup(q Query) (Result, error) {
	k, r, err := parseQuery(q)
	if err != nil {
		return Result{}, err
	}
	if k.algo == "pdq" && q.Quality != nil && *q.Quality < MinQuality && !q.LowQuality {
		return Result{SkippedLowQuality: true}, nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var res Result
	emit := func(m meta, value string, d int) {
		res.Matches = append(res.Matches, ix.match(m, k.algo, value, d))
	}
	switch k.algo {
	case "pdq":
		ix.pdq.search(k.pdq, r, func(s uint32, d int) {
			emit(ix.pdq.meta[s], ix.pdq.hashes[s].String(), d)
		})
	case "md5":
		ix.md5.get([16]byte(k.bytes), func(m meta) { emit(m, q.canonical(), 0) })
	case "sha1":
		ix.sha1.get([20]byte(k.bytes), func(m meta) { emit(m, q.canonical(), 0) })
	case "sha256":
		ix.sha256.get([32]byte(k.bytes), func(m meta) { emit(m, q.canonical(), 0) })
	case "photodna":
		ix.photo.get([144]byte(k.bytes), func(m meta) { emit(m, q.canonical(), 0) })
	}
	return res, nil
}

// canonical is the query's value as the list spells it.
func (q Query) canonical() string {
	h, _ := hashes.Parse(q.Algo, q.Value, nil)
	return h.Value
}

func (ix *Index) match(m meta, algo, value string, d int) Match {
	l := ix.lists[m.list]
	e := Entry{List: l.Name, Category: l.Category, Algo: algo, Value: value, Version: uint64(m.version)}
	if sev := m.severity(); sev != 0 {
		e.Severity = string(sev)
	}
	if m.quality >= 0 {
		q := int(m.quality)
		e.Quality = &q
	}
	return Match{Entry: e, Distance: d}
}

// Compact rebuilds the PDQ tables over every entry, as a write does in
// the background when enough entries wait outside the tables; a caller
// may at a quiet moment. Lookups and writes go on meanwhile (see
// rebuild); Compact returns once the new tables are in.
func (ix *Index) Compact() {
	ix.rebuild()
}

// maybeRebuild starts a background rebuild of the PDQ tables when enough
// entries wait outside them (or lie dead in them) and none is under way.
// The caller holds the write lock.
func (ix *Index) maybeRebuild() {
	if ix.bulk || ix.rebuilding || !ix.pdq.needsCompact() {
		return
	}
	ix.rebuilding = true
	ix.background.Go(func() {
		for {
			ix.rebuild()
			ix.mu.Lock()
			again := !ix.bulk && ix.pdq.needsCompact()
			ix.rebuilding = again
			ix.mu.Unlock()
			if !again {
				return
			}
		}
	})
}

// rebuildHook, when set (by tests), runs in each rebuild after its
// snapshot is taken, outside the lock.
var rebuildHook func()

// rebuild makes new PDQ tables without holding the lock while it builds
// them, so lookups and writes never wait for it: under the write lock it
// notes the slots (their hashes never change once added; it copies their
// attributes, a range at a time under the read lock), builds the tables
// from that copy with no lock, and swaps them in under the write lock,
// carrying over what changed meanwhile (pdqIndex.finishRebuild). A
// lookup meanwhile searches the old tables and scans the adds since, as
// between rebuilds: its results are always exact.
//
// Memory: while it builds, the old slots and tables and the new ones are
// all held — about twice the PDQ index — plus the copy of the attributes
// (8 bytes a slot). rebuildMu keeps it to one rebuild at a time.
func (ix *Index) rebuild() {
	ix.rebuildMu.Lock()
	defer ix.rebuildMu.Unlock()
	ix.mu.Lock()
	b := ix.pdq.beginRebuild()
	ix.mu.Unlock()
	const step = 1 << 16
	for from := 0; from < len(b.meta); from += step {
		ix.mu.RLock()
		ix.pdq.copyMeta(b, from, min(from+step, len(b.meta)))
		ix.mu.RUnlock()
	}
	if rebuildHook != nil {
		rebuildHook()
	}
	b.t = buildTables(b.hashes, b.meta)
	b.tmp.free()
	b.meta = nil
	ix.mu.Lock()
	old := ix.pdq.finishRebuild(b)
	ix.mu.Unlock()
	old.free() // no lookup can hold the old arrays now
}

// CountExactMD5 reports how many of the given md5 digests (16 bytes each)
// are in the index: the batch path of an exact lookup, without building
// a Result per query.
func (ix *Index) CountExactMD5(qs [][16]byte) int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := 0
	for _, q := range qs {
		if _, ok := ix.md5.head[q]; ok {
			n++
		}
	}
	return n
}
