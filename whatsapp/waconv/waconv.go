// Package waconv converts messages between WhatsApp (whatsmeow's waE2E
// protobufs) and Matrix (mautrix event content), in the shapes Ferry's
// network contract (bridge/network) carries.
//
// It does no I/O of its own: downloads, uploads, and the lookups of ghosts
// and JIDs are callbacks the WhatsApp network wires to its client and
// stores, so every conversion is testable without a connection.
//
// Message IDs cross as the raw WhatsApp message IDs (types.MessageID as
// network.MessageID): ReplyTo and Target of ToMatrix, and the reply and
// targets FromMatrix and the builders take.
package waconv

import (
	"context"
	"io"
	"os"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Deps are what converting a WhatsApp message needs from the network.
type Deps struct {
	// DownloadToFile fetches and decrypts a media attachment into f, a
	// fresh temporary file (the network wires whatsmeow's
	// Client.DownloadToFile here; tests use a fake). It is called lazily,
	// from Part.Media, and only for a declared size up to MaxDownloadSize.
	DownloadToFile func(ctx context.Context, msg whatsmeow.DownloadableMessage, f *os.File) error
	// Mention gives the display name and Matrix user ID of a mentioned JID
	// (its ghost), for pills. nil, or ok == false, leaves a plain @number.
	Mention func(jid types.JID) (name string, mxid id.UserID, ok bool)
}

// Kind says what a converted WhatsApp message does.
type Kind int

const (
	// KindMessage is a new message: Parts, and ReplyTo when it quotes one.
	KindMessage Kind = iota
	// KindEdit replaces the content of Target with Parts.
	KindEdit
	// KindReaction sets the sender's reaction on Target to Emoji ("" removes it).
	KindReaction
	// KindRevoke deletes Target for everyone.
	KindRevoke
	// KindIgnored has nothing to show in Matrix (key distribution,
	// protocol housekeeping, encrypted poll votes and reactions, pins).
	KindIgnored
)

func (k Kind) String() string {
	switch k {
	case KindMessage:
		return "message"
	case KindEdit:
		return "edit"
	case KindReaction:
		return "reaction"
	case KindRevoke:
		return "revoke"
	case KindIgnored:
		return "ignored"
	default:
		return "unknown"
	}
}

// Converted is a WhatsApp message in Matrix terms.
type Converted struct {
	// Parts are the Matrix events, one per part. A media message with a
	// caption is one part in Matrix's caption style (body = caption,
	// filename set). Part IDs are "", then "1", "2"... (contact lists) or a
	// name ("live" for a live location's notice, "caption" for the whole
	// text of a caption too long for Matrix). A message's parts each fit
	// in a Matrix event (to_matrix_oversize.go); an edit's are readied by
	// FitEdit.
	Parts []network.Part
	// ReplyTo is the quoted message (ContextInfo.StanzaID).
	ReplyTo *network.MessageRef
	Kind    Kind
	// Target is the message an edit, reaction or revoke applies to.
	Target network.MessageID
	// Emoji is a reaction's emoji; "" removes the reaction.
	Emoji string
}

// OutDeps are what converting a Matrix message for WhatsApp needs.
type OutDeps struct {
	// Upload encrypts and uploads media read from r (the network wires
	// whatsmeow's Client.UploadReader here, which encrypts into a
	// temporary file: a file from Matrix is never held whole in memory,
	// except a photo, which is re-encoded).
	Upload func(ctx context.Context, r io.Reader, mediaType whatsmeow.MediaType) (whatsmeow.UploadResponse, error)
	// Mention resolves a pill's Matrix user (a ghost, or a Matrix user
	// whose own WhatsApp account is known) to a JID. nil, or false, shows
	// the pill's display name as plain text.
	Mention func(mxid id.UserID) (types.JID, bool)
	// ReplySender gives the JID of a replied-to message's sender. nil
	// parses network.UserID as a JID string.
	ReplySender func(user network.UserID) (types.JID, bool)
}

// Builder is the part of *whatsmeow.Client that builds edits, revokes and
// reactions. They need the client's own JIDs (to tell own messages from
// others'), not a connection: an unconnected client works.
type Builder interface {
	BuildEdit(chat types.JID, id types.MessageID, newContent *waE2E.Message) *waE2E.Message
	BuildRevoke(chat, sender types.JID, id types.MessageID) *waE2E.Message
	BuildReaction(chat, sender types.JID, id types.MessageID, reaction string) *waE2E.Message
}

var _ Builder = (*whatsmeow.Client)(nil)
