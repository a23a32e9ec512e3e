//go:build !cgo

package main

// Without cgo there is no C heap to trim (and no SQLite).
var releaseCMemory func()
