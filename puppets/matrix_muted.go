package puppets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

// A ghost muted in a room (its power level below what its events need)
// is a member whose every send is refused as forbidden. rejoinRefused
// tells that apart from a kick behind Ferry's back by asking the
// homeserver which rooms the ghost is in: one round trip more for every
// message of a ghost that will stay refused. So once a ghost is found a
// member of a room and refused, that is remembered, and its later
// refusals there are taken as the same, without asking, while the state
// store's view of the ghost's membership and of the room's power levels
// stays what it was then: a change to either (unmuted, muted otherwise,
// kicked and back) may change the answer. A kick the store never saw
// cannot be told from its view, so the memory is also trusted only for
// mutedFor: long enough that a muted ghost in a busy room costs a round
// trip now and then rather than one a message, short enough that a
// ghost muted and then kicked behind Ferry's back is joined again after
// a few minutes of messages reported as not bridged, not never.
//
// Where the homeserver's refusal says the sender is not in the room
// (refusedAsNonMember), the memory is not trusted at all: the kicked
// ghost is looked at, and joined again, at its first refusal. The text
// is no part of the spec, so it only ever costs the question the memory
// saves; a refusal it does not recognise is taken as before.

// mutedFor is how long a ghost found a member of a room and refused is
// taken as muted there without asking again.
const mutedFor = 5 * time.Minute

// mutedMax is how many ghosts and rooms are remembered at most: ghosts
// come and go without end.
const mutedMax = 1024

// mutedGhosts remembers, by ghost and room, that the ghost was found a
// member and refused, with the state store's view then (its
// fingerprint, storeView). Its zero value is ready.
type mutedGhosts struct {
	mu      sync.Mutex
	entries map[rejoinKey]mutedEntry
	// now is the clock; nil: time.Now. For tests.
	now func() time.Time
}

type mutedEntry struct {
	view uint64
	at   time.Time
}

func (g *mutedGhosts) clock() time.Time {
	if g.now != nil {
		return g.now()
	}
	return time.Now()
}

// known says whether key was found muted with the store's view view,
// less than mutedFor ago; an entry that no longer holds is dropped.
func (g *mutedGhosts) known(key rejoinKey, view uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.entries[key]
	if !ok {
		return false
	}
	if e.view != view || g.clock().Sub(e.at) >= mutedFor {
		delete(g.entries, key)
		return false
	}
	return true
}

// remember records key found muted with the store's view view. At
// mutedMax entries, the old ones are dropped, or else the oldest.
func (g *mutedGhosts) remember(key rejoinKey, view uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock()
	if g.entries == nil {
		g.entries = make(map[rejoinKey]mutedEntry)
	}
	if _, ok := g.entries[key]; !ok && len(g.entries) >= mutedMax {
		var oldest rejoinKey
		var oldestAt time.Time
		for k, e := range g.entries {
			if now.Sub(e.at) >= mutedFor {
				delete(g.entries, k)
			} else if oldestAt.IsZero() || e.at.Before(oldestAt) {
				oldest, oldestAt = k, e.at
			}
		}
		if len(g.entries) >= mutedMax {
			delete(g.entries, oldest)
		}
	}
	g.entries[key] = mutedEntry{view: view, at: now}
}

// size is how many ghosts and rooms are remembered.
func (g *mutedGhosts) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.entries)
}

// storeView is a fingerprint of the state store's view of user's
// membership of room and of the room's power levels.
func (m *Matrix) storeView(ctx context.Context, room id.RoomID, user id.UserID) (uint64, error) {
	store := m.AS.StateStore
	member, err := store.TryGetMember(ctx, room, user)
	if err != nil {
		return 0, fmt.Errorf("read the ghost's membership: %w", err)
	}
	levels, err := store.GetPowerLevels(ctx, room)
	if err != nil {
		return 0, fmt.Errorf("read the room's power levels: %w", err)
	}
	h := fnv.New64a()
	enc := json.NewEncoder(h)
	if err := enc.Encode(member); err != nil {
		return 0, fmt.Errorf("encode the ghost's membership: %w", err)
	}
	if err := enc.Encode(levels); err != nil {
		return 0, fmt.Errorf("encode the room's power levels: %w", err)
	}
	return h.Sum64(), nil
}

// nonMemberRefusals are what homeservers' refusals of a send say when
// the sender is not in the room: Dendrite's `eventauth: sender "@u:hs"
// not in room`, Synapse's `User @u:hs not in room !r:hs`, and wordings
// like them. A muted sender's refusal says something else (Dendrite's
// `... is not allowed to send event. 0 < 50`, Synapse's `You don't have
// permission to post that to the room`).
var nonMemberRefusals = []string{"not in room", "not in the room", "not joined", "not a member"}

// refusedAsNonMember says whether err, a refusal as forbidden, says that
// the sender is not in the room.
func refusedAsNonMember(err error) bool {
	var httpErr mautrix.HTTPError
	if !errors.As(err, &httpErr) || httpErr.RespError == nil {
		return false
	}
	text := strings.ToLower(httpErr.RespError.Err)
	for _, s := range nonMemberRefusals {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}
