package match

import "syscall"

// mapHuge maps size bytes of zeroed anonymous memory and asks for
// transparent huge pages on it (MADV_HUGEPAGE: honoured when the system's
// transparent_hugepage setting is "madvise" or "always"); nil if the
// mapping fails, and the caller then uses the Go heap.
func mapHuge(size int) []byte {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil
	}
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE) // advice: without it the pages are small
	return b
}

func unmapHuge(b []byte) { _ = syscall.Munmap(b) }
