// Package ircconn is one IRC client connection: one Ferry user on one IRC
// network. It dials (TCP or TLS), registers (CAP LS 302, SASL PLAIN or
// EXTERNAL, nick collision fallback), parses ISUPPORT, answers PINGs, keeps
// the link alive, and sends lines through a flood-controlled queue that
// refuses anything that could inject a second IRC command.
//
// It deliberately knows nothing about Matrix, channels or bridging: the
// caller gets every incoming *irc.Message (tags kept) through a callback and
// decides what it means. gopkg.in/irc.v4 is used only to parse messages; its
// Client cannot negotiate CAP LS 302 with a window for SASL, so the handshake
// is written here.
//
// Goroutines: Dial registers on the caller's goroutine; then the Conn
// keeps one reader for its whole life, parked in a read, which starts a
// short-lived goroutine to handle each batch of lines it reads, and a
// writer only while there are lines to send. Idle keepalive uses the
// connection's read deadline rather than a timer of its own, and the
// writer owns one lazily created timer for flood control, so an idle
// connection costs one parked goroutine with a small stack, and over plain
// TCP no read buffer.
package ircconn
