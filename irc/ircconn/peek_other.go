//go:build !unix

package ircconn

// canPeek is false where peekReady is not written: connections keep their
// read buffer while they wait.
const canPeek = false

func peekReady(fd uintptr) bool { return true }
