package whatsapp

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// GetNewsletterInfo answers for the test's one channel, as whatsmeow's
// query would.
func (f *fakeWA) GetNewsletterInfo(ctx context.Context, jid types.JID) (*types.NewsletterMetadata, error) {
	if jid != newsletter {
		return nil, errors.New("no such channel")
	}
	return &types.NewsletterMetadata{ID: jid, ThreadMeta: types.NewsletterThreadMetadata{Name: types.NewsletterText{Text: "Daily *News*"}}}, nil
}

var (
	newsletter   = types.NewJID("120363000000000099", types.NewsletterServer)
	community    = types.NewJID("120363000000000010", types.GroupServer)
	announcement = types.NewJID("120363000000000011", types.GroupServer)
	subgroup     = types.NewJID("120363000000000012", types.GroupServer)
)

func (h *fakeHost) takeNotices() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.notices
	h.notices = nil
	return out
}

// TestChannelsAndCommunitiesAreReportedOnce: messages from a channel or a
// community's announcement group are acknowledged without a portal, and
// the user hears of each such chat once; a community's other groups are
// ordinary groups.
func TestChannelsAndCommunitiesAreReportedOnce(t *testing.T) {
	env := newEnv(t, sqliteDB(t), "")
	env.wa.groups = map[types.JID]*types.GroupInfo{
		announcement: {JID: announcement, GroupName: types.GroupName{Name: "Neighbours"},
			GroupLinkedParent: types.GroupLinkedParent{LinkedParentJID: community}, GroupIsDefaultSub: types.GroupIsDefaultSub{IsDefaultSubGroup: true}},
		subgroup: {JID: subgroup, GroupName: types.GroupName{Name: "Garden club"},
			GroupLinkedParent: types.GroupLinkedParent{LinkedParentJID: community}},
	}
	msg := func(id string, chat, sender types.JID) *events.Message {
		return (&events.Message{
			Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: chat, Sender: sender, IsGroup: chat.Server == types.GroupServer},
				ID: id, Timestamp: msgTime},
			RawMessage: &waE2E.Message{Conversation: proto.String("news " + id)},
		}).UnwrapRaw()
	}
	for _, id := range []string{"N1", "N2", "N3"} {
		if !env.dispatch(msg(id, newsletter, newsletter)) {
			t.Fatalf("channel message %s was not acknowledged", id)
		}
	}
	for _, id := range []string{"A1", "A2"} {
		if !env.dispatch(msg(id, announcement, bobPN)) {
			t.Fatalf("announcement %s was not acknowledged", id)
		}
	}
	queued, handled := env.host.take()
	if len(queued)+len(handled) != 0 {
		t.Errorf("channel and announcements reached the core: %s %s", describe(queued), describe(handled))
	}
	want := []string{
		`Daily \*News\* is a WhatsApp channel; channels are not bridged yet`,
		"Neighbours is a WhatsApp community's announcement group; communities are not bridged yet (their other groups are)",
	}
	if got := env.host.takeNotices(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("notices %q, want %q", got, want)
	}

	// A community's other groups, and groups WhatsApp says nothing
	// about, are bridged.
	for _, chat := range []types.JID{subgroup, group} {
		if !env.dispatch(msg("G-"+chat.User, chat, bobPN)) {
			t.Fatalf("message in %s was not acknowledged", chat)
		}
	}
	if _, handled = env.host.take(); len(handled) != 2 {
		t.Errorf("ordinary group messages: %s", describe(handled))
	}

	// Joining a community makes no room either; the user hears of it once.
	joined := &events.JoinedGroup{GroupInfo: types.GroupInfo{JID: community, GroupName: types.GroupName{Name: "Street"},
		GroupParent: types.GroupParent{IsParent: true}}}
	env.dispatch(joined)
	env.dispatch(joined)
	if queued, _ = env.host.take(); len(queued) != 0 {
		t.Errorf("joining a community queued %s", describe(queued))
	}
	if got := env.host.takeNotices(); len(got) != 1 || got[0] != "Street is a WhatsApp community; communities are not bridged yet (their other groups are)" {
		t.Errorf("notices on joining a community: %q", got)
	}
}

// TestHistoryOfChannelsAndCommunitiesIsNotBridged: a history sync's
// channel and community conversations get no backfill; the user hears of
// each once, and the sync's own flags spare a question to WhatsApp.
func TestHistoryOfChannelsAndCommunitiesIsNotBridged(t *testing.T) {
	env := newEnv(t, sqliteDB(t), historyConfig)
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	ann := conversation(announcement, webMsg(announcement, "A1", false, bobPN, at, plain("meeting on Monday")))
	ann.IsDefaultSubgroup, ann.Name = proto.Bool(true), proto.String("Neighbours")
	parent := conversation(community, webMsg(community, "P1", false, bobPN, at, plain("welcome")))
	parent.IsParentGroup, parent.Name = proto.Bool(true), proto.String("Street")
	channel := conversation(newsletter, webMsg(newsletter, "N1", false, types.EmptyJID, at, plain("headline")))
	dm := conversation(bobPN, webMsg(bobPN, "B1", false, types.EmptyJID, at, plain("hi")))
	env.dispatch(historySync(waHistorySync.HistorySync_INITIAL_BOOTSTRAP, ann, parent, channel, dm))
	got := env.waitHandled(t, 1)
	time.Sleep(100 * time.Millisecond)
	if got = env.waitHandled(t, 1); len(got) != 1 || got[0].EventMeta().Portal != dmPortal(bobPN) {
		t.Fatalf("handled %s; want Bob's backfill only", describe(got))
	}
	want := []string{
		"Neighbours is a WhatsApp community's announcement group; communities are not bridged yet (their other groups are)",
		"Street is a WhatsApp community; communities are not bridged yet (their other groups are)",
		`Daily \*News\* is a WhatsApp channel; channels are not bridged yet`,
	}
	if notices := env.host.takeNotices(); !slices.Equal(notices, want) {
		t.Errorf("notices %q, want %q", notices, want)
	}
	if env.wa.groupQueries() != 0 {
		t.Errorf("asked WhatsApp about %d groups the sync had described", env.wa.groupQueries())
	}
}
