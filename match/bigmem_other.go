//go:build !linux

package match

// mapHuge is Linux-only; elsewhere the arrays live in the Go heap.
func mapHuge(size int) []byte { return nil }

func unmapHuge(b []byte) {}
