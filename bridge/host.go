package bridge

import (
	"context"
	"fmt"
	"reflect"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// host is one network's view of the bridge (network.Host).
type host struct {
	b   *Bridge
	net network.NetworkID
	log zerolog.Logger
}

var _ network.Host = (*host)(nil)

// isNil reports whether evt is nil, or a nil pointer of an event type,
// whose EventMeta would panic on the network's goroutine.
func isNil(evt network.Event) bool {
	if evt == nil {
		return true
	}
	v := reflect.ValueOf(evt)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// checkEvent keeps a network inside its own portals: it may not queue
// events for another network's chats or another login's private chats.
func (h *host) checkEvent(loginID network.LoginID, evt network.Event) (*loginEntry, error) {
	if isNil(evt) || evt.EventMeta() == nil {
		return nil, fmt.Errorf("nil event")
	}
	key := evt.EventMeta().Portal
	if key.Network != h.net {
		return nil, fmt.Errorf("event for network %q queued by %q", key.Network, h.net)
	}
	if key.Receiver != "" && key.Receiver != loginID {
		return nil, fmt.Errorf("event for %s queued by login %s", key, loginID)
	}
	if key.Chat == "" {
		return nil, fmt.Errorf("event without chat ID")
	}
	le := h.b.loginEntry(h.net, loginID)
	if le == nil {
		return nil, fmt.Errorf("unknown login %q", loginID)
	}
	return le, nil
}

// QueueEvent hands evt to its portal's durable queue and returns: the
// network's reader never waits for Matrix. Events with lazily fetched
// media cannot be stored; they wait in memory (and the network should use
// HandleEvent for them).
func (h *host) QueueEvent(loginID network.LoginID, evt network.Event) {
	le, err := h.checkEvent(loginID, evt)
	if err != nil {
		h.log.Error().Err(err).Msg("Rejected remote event")
		return
	}
	if err = h.b.Portals.QueueDurable(h.b.ctx, le.login.Load(), evt); err != nil {
		h.log.Err(err).Stringer("portal", evt.EventMeta().Portal).Msg("Failed to queue remote event")
	}
}

func (h *host) HandleEvent(ctx context.Context, loginID network.LoginID, evt network.Event) error {
	le, err := h.checkEvent(loginID, evt)
	if err != nil {
		return err
	}
	wait, err := h.b.Portals.QueueRemote(ctx, le.login.Load(), evt)
	if err != nil {
		return err
	}
	select {
	case err = <-wait.Outcome():
		return err
	case <-ctx.Done():
		// Leaving tells the portal that nobody hears a failure now, so
		// that it reports the event in the room if it loses it; an
		// outcome that came just now is the network's to hear.
		if err, came := wait.Leave(); came {
			return err
		}
		return fmt.Errorf("waiting for the portal: %w (%w)", network.ErrStillQueued, ctx.Err())
	}
}

func (h *host) ReportState(loginID network.LoginID, st network.State) {
	h.b.reportState(h.net, loginID, st)
}

func (h *host) UpdateGhost(ctx context.Context, user network.UserID, info *network.UserInfo) error {
	ghost, err := h.b.Ghosts.Get(ctx, network.GhostKey{Network: h.net, User: user})
	if err != nil {
		return err
	}
	return h.b.Ghosts.UpdateInfo(ctx, ghost, info)
}

func (h *host) NotifyUser(ctx context.Context, login network.LoginID, markdown string) {
	le := h.b.loginEntry(h.net, login)
	if le == nil {
		h.log.Warn().Str("login", string(login)).Msg("Notice for an unknown login dropped")
		return
	}
	h.b.noticeUser(ctx, le.login.Load().User, markdown)
}

func (h *host) UploadMedia(ctx context.Context, data []byte, mimeType, fileName string) (id.ContentURIString, error) {
	uri, err := h.b.Matrix.Upload(ctx, h.b.Matrix.Bot(), data, mimeType, fileName)
	if err != nil {
		return "", err
	}
	return uri.CUString(), nil
}

func (h *host) PublicMediaURL(mxc id.ContentURIString, room id.RoomID, event id.EventID, fileName string) (string, bool) {
	return h.b.PublicMediaURL(mxc, room, event, fileName)
}

func (h *host) GhostMXID(user network.UserID) id.UserID {
	return h.b.Ghosts.MXID(network.GhostKey{Network: h.net, User: user})
}

func (h *host) SaveLogin(ctx context.Context, login *network.Login) error {
	if _, err := h.b.saveLogin(ctx, h.net, login); err != nil {
		return err
	}
	if le := h.b.loginEntry(h.net, login.ID); le != nil {
		le.login.Store(login)
	}
	return nil
}

func (h *host) Database() *dbutil.Database { return h.b.DB.Database }

func (h *host) Log() *zerolog.Logger { return &h.log }
