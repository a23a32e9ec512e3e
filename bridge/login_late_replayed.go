package bridge

import (
	"context"
	"fmt"

	"maunium.net/go/mautrix/id"
)

// A message replayed at start that names no command was answered "it is
// not shown back, in case it held a password", even an ordinary typo
// (`stauts`). It may be a password only where the stored questions do
// not tell: they could not be read at this start, or not all be stored
// before it (a mark that failed, a stop that did not wait for the
// logins, a crash), or its sender's question had ended within the
// window, which passed while Ferry was down. So the last stop marks the
// questions stored whole, and the start takes that mark.

// endedQuestionsCompleteKey holds a mark written at a stop once every
// login flow ended and each question ended unanswered was stored.
const endedQuestionsCompleteKey = "login.ended_questions_complete"

// markEndedQuestionsComplete writes the mark at a stop, flowsEnded once
// every login flow has ended, unless a question could not be stored.
func (b *Bridge) markEndedQuestionsComplete(ctx context.Context, flowsEnded bool) {
	q := &b.endedQuestions
	q.lock.Lock()
	unstored := q.unstored
	q.lock.Unlock()
	if !flowsEnded || unstored {
		return
	}
	if err := b.DB.KV.Set(ctx, endedQuestionsCompleteKey, "1"); err != nil {
		b.Log.Warn().Err(err).Msg("Failed to mark the login questions stored whole")
	}
}

// takeEndedQuestionsComplete reads and removes the mark at start (a
// crash of this run must leave none), and reports whether it was there.
// It is removed even when it cannot be read; one that cannot be removed
// is left for removeLeftEndedQuestionsMark.
func (b *Bridge) takeEndedQuestionsComplete(ctx context.Context) bool {
	_, ok, err := b.DB.KV.Get(ctx, endedQuestionsCompleteKey)
	if err != nil {
		b.Log.Warn().Err(err).Msg("Failed to read whether the login questions were stored whole")
	}
	if delErr := b.DB.KV.Delete(ctx, endedQuestionsCompleteKey); delErr != nil {
		b.Log.Warn().Err(delErr).Msg("Failed to remove the mark of the login questions stored whole")
		b.endedQuestions.lock.Lock()
		b.endedQuestions.markLeft = true
		b.endedQuestions.lock.Unlock()
	}
	return err == nil && ok
}

// removeLeftEndedQuestionsMark removes the last stop's mark where this
// run's start could not. Left, it told the start after this run's crash,
// or a stop that could not store its questions, that they were stored
// whole: a password typed for a login that asked in this run, replayed
// then, was shown back as an unknown command. Only a login asks, so no
// login starts while it is left (startLoginFlow).
func (b *Bridge) removeLeftEndedQuestionsMark(ctx context.Context) error {
	q := &b.endedQuestions
	q.lock.Lock()
	defer q.lock.Unlock()
	if !q.markLeft {
		return nil
	}
	if err := b.DB.KV.Delete(ctx, endedQuestionsCompleteKey); err != nil {
		return fmt.Errorf("remove the mark of the login questions stored whole: %w", err)
	}
	q.markLeft = false
	return nil
}

// replayedMayBeSecret reports whether a message of user's in room,
// replayed at start and naming no command, may be a password the stored
// questions do not tell: it is then not shown back.
func (b *Bridge) replayedMayBeSecret(user id.UserID, room id.RoomID) bool {
	q := &b.endedQuestions
	q.lock.Lock()
	defer q.lock.Unlock()
	stale, ok := q.stale[user]
	return !q.complete || ok && stale == room
}
