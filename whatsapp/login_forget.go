package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"

	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

var _ network.LoginForgetter = (*Connector)(nil)

// linkedDeviceLeft tells the user of a login forgotten without a logout
// that Ferry's device stays linked on the phone.
const linkedDeviceLeft = "Ferry's device stays linked to your WhatsApp account: remove it under *Linked devices* in WhatsApp on your phone."

// ForgetLogin drops a login the core could not load (unloaded), which
// its user logged out of: a later link of its account replaces nothing,
// and its device's keys are deleted from whatsmeow's store if they can
// be read now. No logout reached WhatsApp, so the device stays linked
// on the phone.
func (c *Connector) ForgetLogin(ctx context.Context, login *network.Login) (string, error) {
	c.lock.Lock()
	delete(c.unloaded, login.ID)
	// A client of the login running (a link of its account since) has
	// the device's keys in use: they are its own to delete.
	_, running := c.clients[login.ID]
	c.lock.Unlock()
	var meta loginMetadata
	if running || json.Unmarshal(login.Metadata, &meta) != nil || meta.JID == "" {
		return linkedDeviceLeft, nil
	}
	jid, err := types.ParseJID(meta.JID)
	if err != nil {
		return linkedDeviceLeft, nil
	}
	device, err := c.container.GetDevice(ctx, jid)
	if err != nil {
		return linkedDeviceLeft, fmt.Errorf("read WhatsApp session %s: %w", jid, err)
	}
	if device == nil {
		return linkedDeviceLeft, nil
	}
	if err = device.Delete(ctx); err != nil {
		return linkedDeviceLeft, fmt.Errorf("delete WhatsApp session %s: %w", jid, err)
	}
	return linkedDeviceLeft, nil
}
