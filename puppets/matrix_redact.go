package puppets

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// ErrRedactionRefused marks a redaction the room's power levels do not
// let its sender send: trying again changes nothing until they change.
var ErrRedactionRefused = errors.New("the room's power levels refuse the redaction")

// Redact redacts an event as intent.
//
// Dendrite answers a redaction that the room's power levels refuse
// (intent's level below the one m.room.redaction events need, which
// Element calls "Remove messages sent by me") with HTTP 500, not 403,
// and a 500 is retried for up to RetryFor, holding the portal that
// waits for it. So a 500 is looked into: where the power levels refuse
// the redaction, it is given up at once, saying so (a network.UserError,
// which the room is told); otherwise it is retried as before.
func (m *Matrix) Redact(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID, target id.EventID, reason string) error {
	return m.Retry(ctx, "redact", func(ctx context.Context) error {
		_, err := intent.RedactEvent(ctx, room, target, mautrix.ReqRedact{Reason: reason})
		if status, ok := answerStatus(err); ok && status == http.StatusInternalServerError {
			if refused := m.redactionRefused(ctx, intent, room, err); refused != nil {
				return refused
			}
		}
		return err
	})
}

// redactionRefused is the error saying that room's power levels refuse
// intent's redactions, answered with answer; nil where they do not, or
// cannot be read. It carries answer's text but not answer itself, which
// Retry would take as a 500 to retry.
func (m *Matrix) redactionRefused(ctx context.Context, intent *appservice.IntentAPI, room id.RoomID, answer error) error {
	levels, err := m.readPowerLevels(ctx, intent, room)
	if err != nil {
		return nil
	}
	have, need := levels.GetUserLevel(intent.UserID), levels.GetEventLevel(event.EventRedaction)
	if have >= need {
		return nil
	}
	return &network.UserError{
		Message: fmt.Sprintf("the room's power levels do not let the bridge's user remove messages (its level is %d, %d is needed)", have, need),
		Err:     fmt.Errorf("%w (the homeserver answered: %v)", ErrRedactionRefused, answer),
	}
}
