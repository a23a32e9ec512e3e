package portals

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// A caption edit carries the new text only; its replacement must still
// point at the file, which keepMedia reads from the edited event. That
// event was sent by Ferry, so a homeserver answering "not found" for it is
// lagging (Dendrite under load does so for a moment after the send), and
// an edit that comes right after its photo meets exactly that moment: the
// read is tried again for up to editedEventLag. A read that still fails
// fails the edit, which the room then hears of (reportRemoteFailure),
// rather than a replacement that quietly drops the photo from the room.

// editedEventLag bounds how long keepMedia waits for the homeserver to
// find an edited event it answers "not found" for.
var editedEventLag = 10 * time.Second

// editedEventFirstWait and editedEventMaxWait shape the waits between
// those reads.
const (
	editedEventFirstWait = 100 * time.Millisecond
	editedEventMaxWait   = 2 * time.Second
)

// keepMedia copies the file of the edited event into its replacement.
// The event is read as botStandIn: in a direct chat the user opened with
// a ghost the bot is no member and may not read it, and the edit would
// lose the file.
func (p *Portal) keepMedia(ctx context.Context, target *database.Message, content *event.MessageEventContent) error {
	old, err := p.readEdited(ctx, target.EventID)
	if err != nil {
		return &network.UserError{
			Message: "the file of the message it edits could not be read back from the homeserver, and the edit would have dropped it",
			Err:     err,
		}
	}
	content.URL, content.File, content.Info = old.URL, old.File, old.Info
	if content.FileName == "" {
		content.FileName = old.FileName
	}
	return nil
}

// readEdited reads the content of the edited message eventID, trying
// again while the homeserver answers "not found" within editedEventLag.
// Each read is retried through an outage as any request is (Retry); one
// given up as unreachable keeps that mark, so that the edit is kept for
// later rather than reported.
func (p *Portal) readEdited(ctx context.Context, eventID id.EventID) (*event.MessageEventContent, error) {
	reader, err := p.botStandIn(ctx)
	if err != nil {
		return nil, err
	}
	var orig *event.Event
	read := func(ctx context.Context) (err error) {
		orig, err = reader.GetEvent(ctx, p.RoomID, eventID)
		return err
	}
	deadline := time.Now().Add(editedEventLag)
	wait := editedEventFirstWait
	for attempt := 1; ; attempt++ {
		err = p.m.matrix.Retry(ctx, "read the edited message", read)
		if err == nil || !errors.Is(err, mautrix.MNotFound) || !time.Now().Add(wait).Before(deadline) {
			break
		}
		zerolog.Ctx(ctx).Debug().Err(err).Stringer("event_id", eventID).Int("attempt", attempt).
			Dur("retry_in", wait).Msg("The edited message is not found yet; the homeserver may lag behind its send")
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read the edited message: %w (gave up: %w)", err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, editedEventMaxWait)
	}
	if err != nil {
		return nil, err
	}
	if err = orig.Content.ParseRaw(event.EventMessage); err != nil && !errors.Is(err, event.ErrContentAlreadyParsed) {
		return nil, fmt.Errorf("parse the edited message: %w", err)
	}
	old := orig.Content.AsMessage()
	if old == nil {
		return nil, errors.New("the edited event is no message")
	}
	return old, nil
}
