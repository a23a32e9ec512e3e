//go:build cgo && linux

package probe

/*
#include <stdlib.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
// held: bytes glibc has taken from the system for malloc (all arenas and
// mmapped chunks); inuse: bytes of it in allocated chunks.
static int probe_mallinfo(size_t *held, size_t *inuse) {
	struct mallinfo2 m = mallinfo2();
	*held = m.arena + m.hblkhd;
	*inuse = m.uordblks + m.hblkhd;
	return 1;
}
#else
static int probe_mallinfo(size_t *held, size_t *inuse) { return 0; }
#endif
*/
import "C"

// cMalloc is what the C allocator holds and has allocated (SQLite and
// everything else cgo calls allocate there), where glibc tells.
func cMalloc() (held, inUse uint64, ok bool) {
	var h, u C.size_t
	if C.probe_mallinfo(&h, &u) == 0 {
		return 0, 0, false
	}
	return uint64(h), uint64(u), true
}
