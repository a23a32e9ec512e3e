package whatsapp

import (
	"context"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// These complete fakeHost for methods the contract gained later.
func (h *fakeHost) GhostMXID(user network.UserID) id.UserID {
	return id.NewUserID("whatsapp_"+string(user), "example.org")
}

func (h *fakeHost) UploadMedia(ctx context.Context, data []byte, mimeType, fileName string) (id.ContentURIString, error) {
	return "mxc://example.org/fake", nil
}

func (h *fakeHost) PublicMediaURL(mxc id.ContentURIString, room id.RoomID, event id.EventID, fileName string) (string, bool) {
	return "", false
}

func (h *fakeHost) NotifyUser(ctx context.Context, login network.LoginID, markdown string) {
	h.mu.Lock()
	h.notices = append(h.notices, markdown)
	h.mu.Unlock()
}
