package portals

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/puppets"
)

// sendMessageAhead sends the parts of msg that are not bridged yet
// through the room's pipeline and leaves waiting for the answers and
// storing the mappings to a tail (ahead.go).
func (p *Portal) sendMessageAhead(ctx context.Context, item *queueItem, pipe *puppets.Pipeline, ghost *puppets.Ghost, msg *network.Message, done map[network.PartID]bool, received time.Time) {
	type sent struct {
		part  network.PartID
		wait  func() (id.EventID, error)
		timed func(ok bool)
	}
	var sends []sent
	for _, part := range msg.Parts {
		if done[part.ID] {
			continue
		}
		content := p.partContent(ctx, ghost, part)
		evtType := partEventType(&content)
		sendCtx, timed := p.timeRemoteSend(ctx, &received)
		wait := p.m.matrix.SendMessageAhead(sendCtx, pipe, ghost.Intent(), p.RoomID, evtType,
			&event.Content{Parsed: &content, Raw: part.Extra}, msg.Timestamp, txnID(p.Key, msg.ID, part.ID, "msg"))
		sends = append(sends, sent{part.ID, wait, timed})
	}
	room := p.RoomID
	p.goAhead(ctx, item, remoteFlightKey(msg.ID), "", func() error {
		log := zerolog.Ctx(ctx).With().Str("remote_id", string(msg.ID)).Logger()
		var firstErr error
		for _, s := range sends {
			eventID, err := s.wait()
			s.timed(err == nil)
			if err == nil {
				err = p.m.db.Messages.Put(ctx, &database.Message{
					Portal: p.Key, ID: msg.ID, Part: s.part, EventID: eventID, RoomID: room,
					Sender: msg.Sender.User, SenderMXID: ghost.MXID, Timestamp: msg.Timestamp,
				})
				if err != nil {
					err = fmt.Errorf("store message mapping: %w", err)
				} else {
					log.Debug().Stringer("event_id", eventID).Str("part", string(s.part)).Msg("Bridged message part")
				}
			}
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}
		return firstErr
	})
}
