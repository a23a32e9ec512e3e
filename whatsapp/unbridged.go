package whatsapp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Channels (newsletters) and communities are not bridged yet. Their
// messages are acknowledged and dropped; the login's user is told once per
// chat while Ferry runs, in the management room, so that the silence has
// a reason. A community's own group and its announcement group are part of
// the community; its other groups are ordinary groups and are bridged.

// unbridgedChats is the connector's memory of what it told whom, and of
// which groups belong to a community as its parent or announcements.
type unbridgedChats struct {
	mu sync.Mutex
	// told holds the chats each login's user has heard about.
	told map[network.LoginID]map[types.JID]bool
	// community caches, per group, whether it is a community's own group
	// or its announcement group, with the name to tell.
	community map[types.JID]communityInfo
}

type communityInfo struct {
	is     bool
	parent bool // the community's own group, not its announcements
	name   string
}

// tellOnce reports whether login's user has yet to hear of chat, and
// marks it told.
func (u *unbridgedChats) tellOnce(login network.LoginID, chat types.JID) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.told == nil {
		u.told = make(map[network.LoginID]map[types.JID]bool)
	}
	if u.told[login] == nil {
		u.told[login] = make(map[types.JID]bool)
	}
	if u.told[login][chat] {
		return false
	}
	u.told[login][chat] = true
	return true
}

// noteGroup remembers what group info says about a group.
func (u *unbridgedChats) noteGroup(g *types.GroupInfo) {
	if g == nil || g.JID.IsEmpty() {
		return
	}
	u.noteCommunity(g.JID, communityOfInfo(g))
}

// noteCommunity remembers what a history sync says about a group.
func (u *unbridgedChats) noteCommunity(chat types.JID, info communityInfo) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.community == nil {
		u.community = make(map[types.JID]communityInfo)
	}
	u.community[chat] = info
}

func (u *unbridgedChats) lookup(chat types.JID) (communityInfo, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	info, ok := u.community[chat]
	return info, ok
}

// isCommunityGroup: a community itself, or the announcement group every
// community has.
func isCommunityGroup(g *types.GroupInfo) bool {
	return g.IsParent || g.IsDefaultSubGroup
}

func communityOfInfo(g *types.GroupInfo) communityInfo {
	return communityInfo{is: isCommunityGroup(g), parent: g.IsParent, name: g.Name}
}

// newsletterInfoGetter is whatsmeow's way to a channel's name.
type newsletterInfoGetter interface {
	GetNewsletterInfo(ctx context.Context, jid types.JID) (*types.NewsletterMetadata, error)
}

// skipUnbridged reports whether chat is a channel or a community group,
// and tells the user about it the first time.
func (c *Client) skipUnbridged(ctx context.Context, chat types.JID) bool {
	var kind string
	var name func() string
	switch chat.Server {
	case types.NewsletterServer:
		kind, name = "channel", func() string { return c.newsletterName(ctx, chat) }
	case types.GroupServer:
		info, ok := c.communityOf(ctx, chat)
		if !ok || !info.is {
			return false
		}
		kind, name = "announcements", func() string { return info.name }
		if info.parent {
			kind = "community"
		}
	default:
		return false
	}
	zerolog.Ctx(ctx).Debug().Str("kind", kind).Msg("Ignoring a message from a chat that is not bridged yet")
	if c.conn.unbridged.tellOnce(c.id, chat) {
		c.conn.host.NotifyUser(ctx, c.id, unbridgedText(kind, name()))
	}
	return true
}

func unbridgedText(kind, name string) string {
	if name == "" {
		name = "A chat"
	}
	name = markdownEscaper.Replace(name)
	switch kind {
	case "channel":
		return name + " is a WhatsApp channel; channels are not bridged yet"
	case "community":
		return name + " is a WhatsApp community; communities are not bridged yet (their other groups are)"
	}
	return name + " is a WhatsApp community's announcement group; communities are not bridged yet (their other groups are)"
}

var markdownEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "~", `\~`, "#", `\#`)

// communityCheckTimeout bounds the question, which holds up the first
// message of each group while Ferry runs.
const communityCheckTimeout = 10 * time.Second

// communityOf asks WhatsApp about a group once per process; ok is false
// when WhatsApp cannot say now (the group is then bridged as usual).
func (c *Client) communityOf(ctx context.Context, chat types.JID) (communityInfo, bool) {
	if info, ok := c.conn.unbridged.lookup(chat); ok {
		return info, true
	}
	if c.wa == nil {
		return communityInfo{}, false
	}
	qctx, cancel := context.WithTimeout(ctx, communityCheckTimeout)
	g, err := c.wa.GetGroupInfo(qctx, chat)
	cancel()
	if err != nil || g == nil {
		// Not asked again for every message: the group counts as an
		// ordinary one until its info arrives some other way (ChatInfo
		// when its portal is made, a sync, a join).
		zerolog.Ctx(ctx).Debug().Err(err).Msg("Could not ask WhatsApp whether a group belongs to a community")
		c.conn.unbridged.noteGroup(&types.GroupInfo{JID: chat})
		return communityInfo{}, false
	}
	c.conn.unbridged.noteGroup(g)
	return communityOfInfo(g), true
}

// newsletterName is a channel's name, or its ID when WhatsApp cannot say.
func (c *Client) newsletterName(ctx context.Context, chat types.JID) string {
	if getter, ok := c.wa.(newsletterInfoGetter); ok {
		qctx, cancel := context.WithTimeout(ctx, infoTimeout)
		meta, err := getter.GetNewsletterInfo(qctx, chat)
		cancel()
		if err == nil && meta != nil && meta.ThreadMeta.Name.Text != "" {
			return meta.ThreadMeta.Name.Text
		}
		zerolog.Ctx(ctx).Debug().Err(err).Msg("Could not get a channel's name")
	}
	return fmt.Sprintf("Channel %s", chat.User)
}
