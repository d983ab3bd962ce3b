package hashes

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Algorithm validates and canonicalises values of one hash algorithm.
//
// Implementations must be safe for concurrent use and must not keep
// references to the values they are given.
type Algorithm interface {
	// Name is the algorithm's registry name: exact, lower-case, e.g. "sha256".
	Name() string
	// Canonical returns the validated canonical form of value, or a
	// *FieldError with Field "value" saying what is wrong.
	Canonical(value string) (string, error)
	// Match says how values of this algorithm are compared.
	Match() MatchKind
}

// qualityChecker is implemented by algorithms that accept a quality score
// alongside the value (PDQ today; TMK and vPDQ would too). Parse refuses a
// quality for any algorithm that does not implement it.
type qualityChecker interface {
	// checkQuality returns a *FieldError with Field "quality" if q is out
	// of the algorithm's range.
	checkQuality(q int) error
}

// MatchKind says how two values of an algorithm are compared when
// searching for matches.
type MatchKind string

// Match kinds.
const (
	// Exact values match only when their canonical forms are equal.
	Exact MatchKind = "exact"
	// Hamming values match when the number of differing bits is within
	// a threshold; see [HammingDistance].
	Hamming MatchKind = "hamming"
)

// maxNameLen bounds algorithm names so that error messages quoting a
// hostile name stay short.
const maxNameLen = 32

// registry is an immutable snapshot of the registered algorithms. Lookup
// reads it without locking (it sits on the bulk-import hot path); Register,
// which in practice only runs from init functions, replaces it wholesale.
type registry struct {
	byName map[string]Algorithm
	names  []string // sorted
}

var (
	current    atomic.Pointer[registry]
	registerMu sync.Mutex // serialises writers of current
)

// Register adds a to the registry. It is meant to be called from the init
// function of the file that defines the algorithm, and panics if the name
// is empty, not lower-case, too long or already taken, or if a reports an
// unknown MatchKind: those are programming errors that must fail at start-up.
func Register(a Algorithm) {
	if a == nil {
		panic("hashes: Register of nil Algorithm")
	}
	name := a.Name()
	if !validName(name) {
		panic(fmt.Sprintf("hashes: algorithm name %q must be 1 to %d characters of a-z and 0-9", name, maxNameLen))
	}
	if m := a.Match(); m != Exact && m != Hamming {
		panic(fmt.Sprintf("hashes: algorithm %q has unknown match kind %q", name, m))
	}

	registerMu.Lock()
	defer registerMu.Unlock()
	old := current.Load()
	next := &registry{byName: map[string]Algorithm{name: a}, names: []string{name}}
	if old != nil {
		if _, dup := old.byName[name]; dup {
			panic(fmt.Sprintf("hashes: algorithm %q registered twice", name))
		}
		for n, alg := range old.byName {
			next.byName[n] = alg
		}
		next.names = append(next.names, old.names...)
	}
	slices.Sort(next.names)
	current.Store(next)
}

// validName reports whether name is acceptable as a registry name.
func validName(name string) bool {
	if name == "" || len(name) > maxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// snapshot returns the current registry, never nil.
func snapshot() *registry {
	if r := current.Load(); r != nil {
		return r
	}
	return &registry{}
}

// Lookup returns the algorithm registered under name. Names are matched
// exactly: "SHA256" and " sha256" are refused, with a reason that points
// at "sha256", because silently accepting variants would let the same
// list be spelled differently by different submitters. The error is a
// *FieldError with Field "algo" that wraps ErrUnknownAlgorithm.
func Lookup(name string) (Algorithm, error) {
	reg := snapshot()
	if a, ok := reg.byName[name]; ok {
		return a, nil
	}
	return nil, &FieldError{Field: "algo", Reason: unknownReason(reg, name), Err: ErrUnknownAlgorithm}
}

// unknownReason explains why name is not an algorithm, with a hint when
// the caller was close.
func unknownReason(reg *registry, name string) string {
	switch {
	case name == "":
		return "algorithm is required; known: " + strings.Join(reg.names, ", ")
	case len(name) > maxNameLen:
		return fmt.Sprintf("unknown algorithm (name longer than %d bytes); known: %s", maxNameLen, strings.Join(reg.names, ", "))
	}
	trimmed := strings.TrimSpace(name)
	if lower := strings.ToLower(trimmed); lower != name {
		if _, ok := reg.byName[lower]; ok {
			if trimmed != name {
				return fmt.Sprintf("unknown algorithm %q: names have no surrounding whitespace; did you mean %q?", name, lower)
			}
			return fmt.Sprintf("unknown algorithm %q: names are lower-case; did you mean %q?", name, lower)
		}
	}
	return fmt.Sprintf("unknown algorithm %q; known: %s", name, strings.Join(reg.names, ", "))
}

// Names returns the registered algorithm names in sorted order. The slice
// is the caller's to modify.
func Names() []string {
	return slices.Clone(snapshot().names)
}

// fixedLen is implemented by algorithms whose canonical values all have
// one length (every algorithm registered today).
type fixedLen interface {
	canonicalLen() int
}

// MaxCanonicalLen returns the length of the longest canonical value of
// algorithm name: its fixed length when it has one, MaxValueLen otherwise,
// and 0 for a name that is not registered. A client uses it to bound what
// a list of n entries can weigh before it reads a byte of it.
func MaxCanonicalLen(name string) int {
	a, ok := snapshot().byName[name]
	if !ok {
		return 0
	}
	if f, ok := a.(fixedLen); ok {
		return f.canonicalLen()
	}
	return MaxValueLen
}
