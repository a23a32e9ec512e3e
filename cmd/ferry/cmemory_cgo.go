//go:build cgo

package main

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

// Hands the pages of free malloc chunks in every arena back to the
// system. Only glibc has the call; elsewhere this does nothing.
static void ferry_release_c_memory(void) {
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}
*/
import "C"

// releaseCMemory is bridge.ReleaseCMemory in a cgo build: SQLite's
// memory lives in the C heap.
var releaseCMemory = func() { C.ferry_release_c_memory() }
