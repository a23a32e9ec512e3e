package whatsapp

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"go.mau.fi/whatsmeow/types"

	"github.com/ferrybridge/ferry/bridge/network"
)

// replacedDeviceStore keeps the devices of replaced links until they are
// removed (upgrades/06-replaced-device.sql), so that a stop before the
// new device connects does not forget them (relink.go).
type replacedDeviceStore struct {
	db *dbutil.Database
}

func (s *replacedDeviceStore) put(ctx context.Context, login network.LoginID, device types.JID) error {
	_, err := s.db.Exec(ctx, `INSERT INTO whatsapp_replaced_device (login_id, device_jid) VALUES ($1, $2)
		ON CONFLICT (login_id, device_jid) DO NOTHING`, login, device.String())
	return err
}

// get returns the devices login's earlier links left to remove. A JID
// that cannot be read any more is logged and dropped: nothing could
// remove its device.
func (s *replacedDeviceStore) get(ctx context.Context, login network.LoginID) ([]types.JID, error) {
	rows, err := s.db.Query(ctx, `SELECT device_jid FROM whatsapp_replaced_device WHERE login_id = $1`, login)
	if err != nil {
		return nil, err
	}
	var out []types.JID
	var bad []string
	for rows.Next() {
		var raw string
		if err = rows.Scan(&raw); err != nil {
			rows.Close()
			return nil, err
		}
		jid, err := types.ParseJID(raw)
		if err != nil {
			zerolog.Ctx(ctx).Error().Err(err).Str("device_jid", raw).Msg("Dropping a replaced device whose JID cannot be read")
			bad = append(bad, raw)
			continue
		}
		out = append(out, jid)
	}
	if err = rows.Close(); err != nil {
		return nil, err
	}
	if err = rows.Err(); err != nil {
		return nil, err
	}
	for _, raw := range bad {
		if _, err = s.db.Exec(ctx, `DELETE FROM whatsapp_replaced_device WHERE login_id = $1 AND device_jid = $2`, login, raw); err != nil {
			return nil, fmt.Errorf("drop replaced device %q: %w", raw, err)
		}
	}
	return out, nil
}

// delete forgets a device that was removed (or is the login's own).
func (s *replacedDeviceStore) delete(ctx context.Context, login network.LoginID, device types.JID) error {
	_, err := s.db.Exec(ctx, `DELETE FROM whatsapp_replaced_device WHERE login_id = $1 AND device_jid = $2`, login, device.String())
	return err
}

// deleteLogin forgets every device of a login that logged out.
func (s *replacedDeviceStore) deleteLogin(ctx context.Context, login network.LoginID) error {
	_, err := s.db.Exec(ctx, `DELETE FROM whatsapp_replaced_device WHERE login_id = $1`, login)
	return err
}
