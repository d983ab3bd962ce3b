package match

import (
	"runtime"
	"unsafe"
)

// bigMem holds the memory of an index's large arrays — the PDQ hashes,
// attributes and tables, about 860 MB at 10M entries — outside the Go
// heap where the system allows, so that it can ask for huge pages
// (bigmem_linux.go). A search reads thousands of scattered cache lines
// across that memory; with 4 KB pages nearly every read also misses the
// TLB and walks the page tables, with 2 MB pages far fewer do. The
// arrays hold no pointers, so the garbage collector need not see them.
//
// A bigMem is freed whole once nothing refers to its arrays: by compact
// when it replaces them, or by a cleanup when the index is collected.
type bigMem struct {
	regions [][]byte
}

// bigSlice returns a zeroed slice of n Ts (with room for c) from m.
func bigSlice[T any](m *bigMem, n, c int) []T {
	var zero T
	size := c * int(unsafe.Sizeof(zero))
	if size < hugeMin {
		return make([]T, n, c)
	}
	b := mapHuge(size)
	if b == nil {
		return make([]T, n, c)
	}
	m.regions = append(m.regions, b)
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), c)[:n]
}

// free returns m's memory to the system: the caller guarantees that no
// slice from it is used again.
func (m *bigMem) free() {
	for _, b := range m.regions {
		unmapHuge(b)
	}
	m.regions = nil
}

// memHolder is what an index's cleanup frees: the bigMems in use, which
// compact replaces — one for the slots (hashes and attributes), one for
// the tables, so that the old tables can go before the new slots are
// made.
type memHolder struct{ slots, tables *bigMem }

func (h *memHolder) free() {
	h.slots.free()
	h.tables.free()
}

// hugeMin is the smallest array worth a mapping of its own (a huge page).
const hugeMin = 2 << 20

func newMemHolder(owner *pdqIndex) *memHolder {
	h := &memHolder{slots: &bigMem{}, tables: &bigMem{}}
	runtime.AddCleanup(owner, func(h *memHolder) { h.free() }, h)
	return h
}
