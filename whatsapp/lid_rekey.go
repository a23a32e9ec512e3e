package whatsapp

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

// A DM room is keyed by the person's phone number whenever it is known,
// by their LID only while it is not. When the number becomes known later
// (a message naming both, a contact sync), the room made under the LID
// moves to the number's key, so that the person keeps one room: the core
// moves the portal with its messages, the network its own message keys,
// and a resync with the full member list lets the LID ghost leave in
// favour of the number's.

// adoptLIDPortal moves the login's DM room of the person behind pnKey
// from their LID's key to pnKey, once per person and run. chat and alt
// are the IDs a message or event used for the person.
func (c *Client) adoptLIDPortal(ctx context.Context, chat, alt types.JID, pnKey network.PortalKey) {
	pn, err := parseChatID(pnKey.Chat)
	if err != nil || pn.Server != types.DefaultUserServer {
		return // still keyed by LID: nothing better is known
	}
	var lid types.JID
	switch {
	case chat.Server == types.HiddenUserServer:
		lid = chat.ToNonAD()
	case alt.Server == types.HiddenUserServer:
		lid = alt.ToNonAD()
	default:
		lid = c.lidForPN(ctx, pn)
	}
	if lid.IsEmpty() || !c.firstLIDCheck(lid) {
		return
	}
	lidKey := privatePortal(lid, c.id)
	log := zerolog.Ctx(ctx).With().Stringer("lid_portal", lidKey).Stringer("portal", pnKey).Logger()
	moved, err := c.conn.host.RekeyPortal(ctx, lidKey, pnKey)
	if errors.Is(err, network.ErrPortalExists) {
		log.Info().Msg("The person has a room under both their LID and their number; both stay")
		return
	} else if err != nil {
		log.Warn().Err(err).Msg("Failed to move a DM room from a LID to a phone number")
		c.forgetLIDCheck(lid) // try again with the next message
		return
	} else if !moved {
		return // the person never had a room under the LID
	}
	if err = c.conn.msgs.moveChat(ctx, c.id, lidKey.Chat, pnKey.Chat); err != nil {
		log.Warn().Err(err).Msg("Failed to move the message keys of a DM to its phone number")
	}
	// The moved room gets its members from the new key.
	info, err := c.ChatInfo(ctx, pnKey.Chat)
	if err != nil {
		log.Warn().Err(err).Msg("Failed to describe a DM after moving it")
		return
	}
	if info.Members != nil {
		info.Members.IsFull = true
	}
	c.conn.host.QueueEvent(c.id, &network.ChatResync{
		Meta: network.Meta{Portal: pnKey, Timestamp: time.Now()},
		Info: info,
	})
}

func (c *Client) lidForPN(ctx context.Context, pn types.JID) types.JID {
	if c.device == nil || c.device.LIDs == nil {
		return types.EmptyJID
	}
	lid, err := c.device.LIDs.GetLIDForPN(ctx, pn)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Stringer("pn", pn).Msg("Failed to look up the LID of a phone number")
		return types.EmptyJID
	}
	return lid.ToNonAD()
}

// firstLIDCheck reports whether lid's room has not been looked for yet in
// this run, and marks it looked for.
func (c *Client) firstLIDCheck(lid types.JID) bool {
	c.lock.Lock()
	defer c.lock.Unlock()
	if c.lidChecked == nil {
		c.lidChecked = make(map[types.JID]bool)
	}
	if c.lidChecked[lid] {
		return false
	}
	c.lidChecked[lid] = true
	return true
}

func (c *Client) forgetLIDCheck(lid types.JID) {
	c.lock.Lock()
	delete(c.lidChecked, lid)
	c.lock.Unlock()
}
