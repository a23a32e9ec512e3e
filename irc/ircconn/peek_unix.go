//go:build unix

package ircconn

import "syscall"

// canPeek says whether peekReady works here, so that a plain TCP
// connection can wait for data without a read buffer.
const canPeek = true

// peekReady is a syscall.RawConn.Read callback: false (park until the
// poller says readable) while the socket has nothing to read, true once it
// has data, EOF or an error. MSG_PEEK leaves the data where it is; the
// byte it reads into stays on the stack.
func peekReady(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
	return err != syscall.EAGAIN
}
