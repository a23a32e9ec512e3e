package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rs/zerolog"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types/events"
)

// A replaced device is unlinked once the new link's client connects. In
// the slow relink (relink.go) the core has disconnected the old client by
// then, and whatsmeow's Logout is a request the device sends about itself
// (WhatsApp lets a companion remove only itself), over a logged-in
// connection. So the old device connects once more for that request
// alone, with a bare client: no handlers of Ferry's, so nothing it
// receives meanwhile is bridged (each linked device gets its own copy of
// a message; the new device bridges its own), no reconnects, and the
// old client, disconnected by the core, is left alone. Its session is in
// the store until the unlink is done. A device left to remove by a stop
// (removeLeftDevice) is unlinked the same way at the next start.

// errUnlinkedOnPhone: the device is no longer linked (the user removed it
// on the phone); whatsmeow deletes it itself then.
var errUnlinkedOnPhone = errors.New("the device was already unlinked on the phone")

// unlinkOffline connects device with a bare client and asks WhatsApp to
// unlink it; whatsmeow then deletes it from the store. ctx bounds it all.
func (c *Connector) unlinkOffline(ctx context.Context, device *store.Device, log zerolog.Logger) error {
	log = log.With().Str("device_role", "replaced").Str("action", "unlink offline").Logger()
	cli := c.newWAClient(device, log)
	cli.EnableAutoReconnect = false
	loggedIn := make(chan struct{})
	failed := make(chan error, 1)
	var once sync.Once
	cli.AddEventHandler(func(raw any) {
		switch evt := raw.(type) {
		case *events.Connected:
			once.Do(func() { close(loggedIn) })
		case *events.LoggedOut:
			once.Do(func() { failed <- errUnlinkedOnPhone })
		case *events.ConnectFailure:
			once.Do(func() { failed <- fmt.Errorf("WhatsApp refused the connection (%s)", evt.Reason) })
		case *events.TemporaryBan:
			once.Do(func() { failed <- fmt.Errorf("the account is banned for now (%s)", evt.Code) })
		case *events.Disconnected, *events.StreamReplaced, *events.ClientOutdated:
			once.Do(func() { failed <- fmt.Errorf("disconnected before logging in (%T)", evt) })
		}
	})
	wa := c.wrap(cli)
	defer wa.Disconnect()
	connected := make(chan error, 1)
	go func() { connected <- wa.Connect() }()
	select {
	case err := <-connected:
		if err != nil {
			return fmt.Errorf("connect the replaced device: %w", err)
		}
	case <-ctx.Done():
		return fmt.Errorf("connect the replaced device: %w", ctx.Err())
	}
	select {
	case <-loggedIn:
	case err := <-failed:
		if errors.Is(err, errUnlinkedOnPhone) {
			log.Info().Msg("The replaced device was unlinked on the phone already")
			return nil
		}
		return err
	case <-ctx.Done():
		return fmt.Errorf("log in the replaced device: %w", ctx.Err())
	}
	return wa.Logout(ctx)
}

// offlineUnlinkable says whether err, from the Logout of a client, is
// that it is not connected: the device may still connect to unlink
// itself (unlinkOffline).
func offlineUnlinkable(err error) bool {
	return errors.Is(err, whatsmeow.ErrNotConnected) || errors.Is(err, whatsmeow.ErrNotLoggedIn)
}
