package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

// refreshTimeout bounds the background refresh of `whatsapp sync`.
const refreshTimeout = 10 * time.Minute

func (c *Connector) Commands() []network.Command {
	return []network.Command{{
		Name:        "whatsapp sync",
		Description: "Bring your WhatsApp groups into Matrix (rooms for new ones are created) and refresh people's names and pictures.",
		Level:       network.LevelUser,
		Handler:     c.cmdSync,
	}, {
		Name:        "whatsapp pm",
		Args:        "<+phone number>",
		Description: "Open a direct chat with a WhatsApp number, e.g. `whatsapp pm +4915112345678`.",
		Level:       network.LevelUser,
		Handler:     c.cmdPM,
	}}
}

// unanswered tells the user of a command that WhatsApp's servers did not
// answer its question (what), and what to do; any other error is
// returned as it is. Without it they read "Something went wrong".
func unanswered(err error, what string) error {
	var ue *network.UserError
	switch {
	case errors.As(err, &ue):
		return err
	case errors.Is(err, whatsmeow.ErrIQTimedOut), errors.Is(err, context.DeadlineExceeded):
		return &network.UserError{Message: "WhatsApp did not answer " + what + " in time; try again in a moment", Err: err}
	case errors.Is(err, whatsmeow.ErrIQDisconnected):
		return &network.UserError{Message: "the connection to WhatsApp dropped before it answered " + what + "; try again once `status` shows it connected", Err: err}
	}
	return err
}

// connectedClients are the user's logins that can talk to WhatsApp now.
func (c *Connector) connectedClients(cmd *network.CommandEvent) ([]*Client, error) {
	if len(cmd.Logins) == 0 {
		return nil, network.UserErrorf("you are not logged in to WhatsApp; send `login whatsapp` first")
	}
	var out []*Client
	for _, login := range cmd.Logins {
		if running, ok := cmd.Client(login.ID); ok {
			if cl, ok := running.(*Client); ok && cl.wa != nil && cl.wa.IsLoggedIn() {
				out = append(out, cl)
			}
		}
	}
	if len(out) == 0 {
		return nil, network.UserErrorf("WhatsApp is not connected right now (see `status`)")
	}
	return out, nil
}

func (c *Connector) cmdSync(ctx context.Context, cmd *network.CommandEvent) error {
	clients, err := c.connectedClients(cmd)
	if err != nil {
		return err
	}
	for _, cl := range clients {
		qctx, cancel := context.WithTimeout(ctx, infoTimeout)
		groups, err := cl.wa.GetJoinedGroups(qctx)
		cancel()
		if err != nil {
			return unanswered(userFacing(fmt.Errorf("list groups of %s: %w", cl.remote, err)), "the list of your groups")
		}
		people := map[network.UserID]bool{}
		bridged := 0
		for _, g := range groups {
			if c.unbridged.noteGroup(g); isCommunityGroup(g) {
				continue // communities are not bridged yet
			}
			bridged++
			info := cl.groupInfo(ctx, g)
			c.host.QueueEvent(cl.id, &network.ChatResync{
				Meta: network.Meta{Portal: groupPortal(g.JID), Timestamp: time.Now(), CreatePortal: true},
				Info: info,
			})
			for _, m := range info.Members.Members {
				if !m.IsMe {
					people[m.User] = true
				}
			}
		}
		for _, user := range cl.addressBookPeople(ctx) {
			people[user] = true
		}
		cmd.Reply(fmt.Sprintf("Syncing %d WhatsApp groups of +%s; their rooms are created or updated. Refreshing %d people's names and pictures in the background.",
			bridged, cl.remote, len(people)))
		c.background(func(ctx context.Context) { cl.refreshGhosts(ctx, people) })
	}
	return nil
}

// addressBookPeople are the login's contacts with a phone number and a
// name of their own: people the user may chat with before any group.
func (cl *Client) addressBookPeople(ctx context.Context) []network.UserID {
	contacts, err := cl.device.Contacts.GetAllContacts(ctx)
	if err != nil {
		cl.log.Warn().Err(err).Msg("Failed to read contacts")
		return nil
	}
	var out []network.UserID
	for jid, contact := range contacts {
		if jid.Server == types.DefaultUserServer && contact.FullName != "" &&
			(contact.PushName != "" || contact.BusinessName != "") && !cl.isMe(jid) {
			out = append(out, userIDOf(jid))
		}
	}
	return out
}

func (cl *Client) refreshGhosts(ctx context.Context, people map[network.UserID]bool) {
	ctx, cancel := context.WithTimeout(cl.log.WithContext(ctx), refreshTimeout)
	defer cancel()
	for user := range people {
		if ctx.Err() != nil {
			cl.log.Warn().Err(ctx.Err()).Msg("Ghost refresh stopped before the end")
			return
		}
		info, err := cl.UserInfo(ctx, user)
		if err != nil {
			continue
		}
		cl.updateGhost(ctx, user, info)
	}
}

func (c *Connector) cmdPM(ctx context.Context, cmd *network.CommandEvent) error {
	digits, ok := normalisePhone(cmd.RawArgs)
	if !ok {
		return network.UserErrorf("usage: `whatsapp pm +<phone number>` in international format, e.g. `whatsapp pm +4915112345678`")
	}
	clients, err := c.connectedClients(cmd)
	if err != nil {
		return err
	}
	cl := clients[0]
	qctx, cancel := context.WithTimeout(ctx, infoTimeout)
	pn, err := cl.lookUpPhone(qctx, digits)
	cancel()
	if err != nil {
		return unanswered(err, "whether +"+digits+" has an account")
	}
	c.host.QueueEvent(cl.id, &network.ChatResync{Meta: network.Meta{
		Portal: privatePortal(pn, cl.id), Sender: network.Sender{User: userIDOf(pn)},
		Timestamp: time.Now(), CreatePortal: true,
	}})
	cmd.Reply(fmt.Sprintf("Opening a chat with +%s through +%s; you will be invited to its room (or find it where it was).", pn.User, cl.remote))
	return nil
}
