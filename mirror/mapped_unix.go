//go:build unix

package mirror

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dropMapped tells the kernel that the pages of the mirror file this
// process has read through bbolt's read-only shared mapping are not
// needed now. They stay in the page cache (a later read maps them again,
// without disk I/O if memory allows); they only stop counting as this
// process's resident memory, which otherwise grows towards the file's
// size on a scan of a large mirror (verify, a batched load, the swap that
// frees the contents it replaces). The mapping is never written through
// (bbolt writes with pwrite), so nothing is lost. Best effort: an error
// changes nothing but the figure.
func (m *Mirror) dropMapped() {
	fi, err := os.Stat(m.db.Path())
	if err != nil || fi.Size() == 0 {
		return
	}
	// bbolt reports where its mapping starts; the mapping is page aligned
	// and covers at least the file.
	addr := m.db.Info().Data
	data := unsafe.Slice(*(**byte)(unsafe.Pointer(&addr)), int(fi.Size()))
	_ = unix.Madvise(data, unix.MADV_DONTNEED)
}
