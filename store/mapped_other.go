//go:build !linux

package store

// DropMappedPages does nothing outside Linux (see mapped_linux.go).
func (t *Tx) DropMappedPages() error { return nil }

// MappedResident reports nothing outside Linux (see mapped_linux.go).
func (db *DB) MappedResident() (int64, error) { return 0, nil }
