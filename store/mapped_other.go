//go:build !linux

package store

// DropMappedPages does nothing outside Linux (see mapped_linux.go).
func (t *Tx) DropMappedPages() error { return nil }
