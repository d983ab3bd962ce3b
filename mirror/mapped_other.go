//go:build !unix

package mirror

// dropMapped does nothing where madvise is not available.
func (m *Mirror) dropMapped() {}
