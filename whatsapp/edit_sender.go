package whatsapp

import (
	"context"
	"fmt"

	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

// editBySender says whether an incoming edit of target comes from the
// target's own sender. WhatsApp lets only a message's sender edit it,
// and its apps ignore an "edit" any other group member sends; so must
// Ferry, or that member could rewrite, in Matrix, what someone else said.
// An edit of a message the login never saw, or whose senders cannot be
// compared (one known by LID, the other by phone number, with no mapping
// stored), is let through: the core drops edits of messages it never
// bridged, and a real edit must not be lost for want of a mapping.
func (c *Client) editBySender(ctx context.Context, chat network.ChatID, info *types.MessageInfo, target network.MessageID) (bool, error) {
	key, err := c.conn.msgs.get(ctx, c.id, chat, string(target))
	if err != nil {
		return false, fmt.Errorf("look up the edited message: %w", err)
	}
	if key == nil {
		return true, nil
	}
	if key.FromMe || info.IsFromMe {
		return key.FromMe && info.IsFromMe, nil
	}
	if key.Sender.IsEmpty() || key.Sender == info.Sender.ToNonAD() || (!info.SenderAlt.IsEmpty() && key.Sender == info.SenderAlt.ToNonAD()) {
		// The sender as stored (without device): no store read needed
		// to map a LID or a phone number.
		return true, nil
	}
	editors := c.userForms(ctx, info.Sender, info.SenderAlt)
	senders := c.userForms(ctx, key.Sender)
	comparable := false
	for _, s := range senders {
		for _, e := range editors {
			if s == e {
				return true, nil
			}
			comparable = comparable || s.Server == e.Server
		}
	}
	return !comparable, nil
}

// userForms is every JID jids (one person's) are known by: each as it
// is, without device, and its phone number or LID as the login's store
// maps it.
func (c *Client) userForms(ctx context.Context, jids ...types.JID) []types.JID {
	var out []types.JID
	for _, jid := range jids {
		if jid.IsEmpty() {
			continue
		}
		jid = jid.ToNonAD()
		out = append(out, jid)
		switch jid.Server {
		case types.HiddenUserServer:
			if pn := c.pnForLID(ctx, jid); !pn.IsEmpty() {
				out = append(out, pn)
			}
		case types.DefaultUserServer:
			if c.device != nil && c.device.LIDs != nil {
				if lid, err := c.device.LIDs.GetLIDForPN(ctx, jid); err == nil && !lid.IsEmpty() {
					out = append(out, lid.ToNonAD())
				}
			}
		}
	}
	return out
}
