package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// The ended questions outlive a restart. A login asking for a password
// when Ferry stops ends with "Ferry is stopping, so this login was
// cancelled"; the user who had not read it typed the password once Ferry
// was back, and with the memory of the question gone it was shown back as
// an unknown command and left in the room. So the ended questions are
// stored too, as one KV value (there is one at most per user, and only
// for lateAnswerWindow), written on every change and read at start.

const endedQuestionsKey = "login.ended_questions"

// storedEndedQuestion is endedQuestion as stored.
type storedEndedQuestion struct {
	Room   id.RoomID         `json:"room"`
	Net    network.NetworkID `json:"network"`
	Field  string            `json:"field"`
	At     time.Time         `json:"at"`
	Shared bool              `json:"shared,omitempty"`
}

// storeEndedQuestions writes q.ended; the caller holds q.lock, so that
// writes land in the order of the changes.
func (b *Bridge) storeEndedQuestions(q *endedQuestions) {
	// Not on the bridge's context: a login ends as Ferry stops, which
	// is when its question must be stored.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), markHandledWait)
	defer cancel()
	var err error
	if len(q.ended) == 0 {
		err = b.DB.KV.Delete(ctx, endedQuestionsKey)
	} else {
		stored := make(map[id.UserID]storedEndedQuestion, len(q.ended))
		for user, eq := range q.ended {
			stored[user] = storedEndedQuestion{Room: eq.room, Net: eq.net, Field: eq.field, At: eq.at, Shared: eq.shared}
		}
		var value []byte
		if value, err = json.Marshal(stored); err == nil {
			err = b.DB.KV.Set(ctx, endedQuestionsKey, string(value))
		}
	}
	if err != nil {
		// Only a late answer after a restart is then not recognised,
		// which that start is told (markEndedQuestionsComplete).
		q.unstored = true
		b.Log.Warn().Err(err).Msg("Failed to store the login questions that ended unanswered")
	}
}

// recallEndedQuestions reads the ended questions stored before the last
// stop, those still within lateAnswerWindow.
func (b *Bridge) recallEndedQuestions(ctx context.Context) error {
	value, ok, err := b.DB.KV.Get(ctx, endedQuestionsKey)
	if err != nil || !ok {
		return err
	}
	var stored map[id.UserID]storedEndedQuestion
	if err = json.Unmarshal([]byte(value), &stored); err != nil {
		return fmt.Errorf("read the stored login questions: %w", err)
	}
	q := &b.endedQuestions
	q.lock.Lock()
	defer q.lock.Unlock()
	if q.ended == nil {
		q.ended = make(map[id.UserID]endedQuestion)
	}
	for user, s := range stored {
		_, newer := q.ended[user]
		switch {
		case newer:
		case time.Since(s.At) <= lateAnswerWindow:
			q.ended[user] = endedQuestion{room: s.Room, net: s.Net, field: s.Field, at: s.At, shared: s.Shared}
		default:
			// Its window passed while Ferry was down: a message replayed
			// now may have been sent within it (replayedMayBeSecret).
			if q.stale == nil {
				q.stale = make(map[id.UserID]id.RoomID)
			}
			q.stale[user] = s.Room
		}
	}
	if len(q.ended) != len(stored) {
		b.storeEndedQuestions(q)
	}
	return nil
}
