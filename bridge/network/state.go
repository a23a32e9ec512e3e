package network

import (
	"errors"
	"fmt"
)

// StateKind is a login's connection state.
type StateKind string

const (
	StateConnecting          StateKind = "connecting"
	StateConnected           StateKind = "connected"
	StateTransientDisconnect StateKind = "transient-disconnect"
	// StateBadCredentials and StateLoggedOut need the user to act.
	StateBadCredentials StateKind = "bad-credentials"
	StateLoggedOut      StateKind = "logged-out"
	// StateStopped: the network has stopped trying to connect (the remote
	// side told it not to come back on its own, e.g. another program took
	// the session). The user's `reconnect`, or the administrator, has to
	// start it again; the message says which.
	StateStopped StateKind = "stopped"
	// StateUnknownError: something unexpected, which the network retries.
	StateUnknownError StateKind = "unknown-error"
)

// NeedsAction says whether the user has to do something to recover.
func (k StateKind) NeedsAction() bool {
	return k == StateBadCredentials || k == StateLoggedOut || k == StateStopped
}

type State struct {
	Kind StateKind
	// Message is a human explanation, shown to the user as Markdown
	// whose one intended formatting is code spans ("send `reconnect`"):
	// words from outside in it go through Literal.
	Message string
}

// UserError is an error whose Message is fit to show to the Matrix user.
// Message is Markdown, as State's is, wherever the core shows it (a
// command's answer, the notice in a room that an event was not bridged):
// its one intended formatting is code spans (CodeSpan); words from
// outside in it (a nick, a channel, a server's or a library's words) go
// through Literal, whose escapes the rendering takes off again: shown
// as plain text, they would show their backslashes.
type UserError struct {
	Message string
	Err     error
}

func (e *UserError) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return fmt.Sprintf("%s: %v", e.Message, e.Err)
}

func (e *UserError) Unwrap() error { return e.Err }

// UserErrorf makes a UserError with a formatted message and no cause.
func UserErrorf(format string, args ...any) error {
	return &UserError{Message: fmt.Sprintf(format, args...)}
}

// UserMessage is the text to show a Matrix user for err: the message of
// the outermost UserError, or fallback when there is none.
func UserMessage(err error, fallback string) string {
	var ue *UserError
	if errors.As(err, &ue) {
		return ue.Message
	}
	return fallback
}

// ErrWrongAccount is returned by per-chat optional capabilities when the
// chat belongs to a part of the network this login cannot reach.
var ErrWrongAccount = errors.New("this account cannot reach that chat")

// ErrNotSupported is returned (wrapped) by networks for actions a chat does
// not allow, e.g. editing on a network without edits.
var ErrNotSupported = errors.New("not supported by this network")

// ErrStillQueued is wrapped in the error of Host.HandleEvent when its
// context ended while the event waited in its portal's queue: the core
// still holds the event and may bridge it late, and reports it in the room
// itself if it loses it. A network that gives up on such an event must not
// tell the user it was not bridged.
var ErrStillQueued = errors.New("the event is still queued")

// ErrPortalExists is returned (wrapped) by Host.RekeyPortal when the new
// key has a room of its own.
var ErrPortalExists = errors.New("a portal with that key exists")
