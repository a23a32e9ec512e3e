package portals

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ferrybridge/ferry/bridge/network"
)

// warnLog collects the lines logged at warning level or above.
type warnLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *warnLog) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	if level >= zerolog.WarnLevel {
		l.mu.Lock()
		l.lines = append(l.lines, string(bytes.TrimSpace(p)))
		l.mu.Unlock()
	}
	return len(p), nil
}

func (l *warnLog) Write(p []byte) (int, error) { return len(p), nil }

func (l *warnLog) warnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// A direct chat the user opened with a ghost never had an m.bridge state
// (the bot, never invited, cannot set one, and AdoptDM does not), so its
// move has none to replace: it must not try as the bot, which is no
// member there, and log the refusals as warnings.
func TestRekeyOfADirectChatWithoutTheBotLeavesTheBridgeStateAlone(t *testing.T) {
	dc := newBotlessDirectChat(t)
	ctx := context.Background()
	logged := &warnLog{}
	m := NewManager(dc.db, dc.p.m.ghosts, dc.p.m.matrix, dc.p.m.dir, zerolog.New(logged))
	t.Cleanup(m.cancel)
	moved := network.PortalKey{Network: dc.key.Network, Chat: dc.key.Chat + "-pn"}
	if ok, err := m.Rekey(ctx, dc.key, moved); err != nil || !ok {
		t.Fatalf("Rekey: moved %v, %v", ok, err)
	}
	if row, err := dc.db.Portals.Get(ctx, moved); err != nil || row == nil || row.RoomID != dc.room {
		t.Fatalf("the portal under the new key: %+v, %v", row, err)
	}
	if warnings := logged.warnings(); len(warnings) > 0 {
		t.Errorf("the move of a direct chat without the bot logged warnings:\n%s", strings.Join(warnings, "\n"))
	}
}
