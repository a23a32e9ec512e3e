// Package ferrytest runs Ferry end to end for tests: a real Dendrite with
// Ferry's registration, and the bridge itself in the test process with the
// networks the test gives it.
package ferrytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
)

type Options struct {
	// Permissions default to user for everyone on the test server except
	// @outsider, and admin for @admin.
	Permissions config.Permissions
	// HomeserverVia, when set, wraps Dendrite's URL (e.g. in a FaultProxy)
	// for Ferry's requests.
	HomeserverVia func(t testing.TB, dendriteURL string) string
	// DatabaseURI defaults to a SQLite file in the test's temp dir.
	DatabaseType, DatabaseURI string
	// Sections are networks' config sections, as YAML (the value of the
	// network's top-level key).
	Sections map[network.NetworkID]string
	// Configure, when set, adjusts the core's configuration last.
	Configure func(cfg *config.Config)
	// TraceLog, when set, gets Ferry's whole log at trace level; the
	// test's output keeps FERRY_TEST_LOG's level.
	TraceLog io.Writer
}

type Harness struct {
	T          testing.TB
	Dendrite   *testbed.Dendrite
	Config     *config.Config
	Bridge     *bridge.Bridge
	Connectors []network.Connector
	BotMXID    id.UserID
	traceLog   io.Writer
}

// Start brings up Dendrite and Ferry. Both stop in t.Cleanup.
func Start(t testing.TB, opts Options, connectors ...network.Connector) *Harness {
	t.Helper()
	dir := t.TempDir()
	port := testbed.FreePort(t)
	cfg := config.Default()
	cfg.Homeserver.Domain = "localhost"
	cfg.AppService.Hostname = "127.0.0.1"
	cfg.AppService.Port = port
	cfg.AppService.Address = fmt.Sprintf("http://127.0.0.1:%d", port)
	// Public media links are served by the same listener in tests.
	cfg.AppService.PublicAddress = cfg.AppService.Address
	cfg.AppService.ASToken = "as-" + randomSuffix()
	cfg.AppService.HSToken = "hs-" + randomSuffix()
	cfg.Database.Type = config.DatabaseSQLite
	cfg.Database.URI = "file:" + filepath.Join(dir, "ferry.db") + "?_txlock=immediate"
	if opts.DatabaseURI != "" {
		cfg.Database.Type, cfg.Database.URI = opts.DatabaseType, opts.DatabaseURI
	}
	cfg.Permissions = opts.Permissions
	if cfg.Permissions == nil {
		cfg.Permissions = config.Permissions{"localhost": config.LevelUser, "@outsider:localhost": config.LevelNone, "@admin:localhost": config.LevelAdmin}
	}
	cfg.Networks = map[network.NetworkID]*yaml.Node{}
	for net, section := range opts.Sections {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(section), &doc); err != nil {
			t.Fatalf("ferrytest: config section %s: %v", net, err)
		}
		if len(doc.Content) == 1 {
			cfg.Networks[net] = doc.Content[0]
		}
	}
	if opts.Configure != nil {
		opts.Configure(cfg)
	}
	var nets, aliasNets []network.NetworkID
	for _, c := range connectors {
		nets = append(nets, c.ID())
		if _, ok := c.(network.AliasResolver); ok {
			aliasNets = append(aliasNets, c.ID())
		}
	}
	reg := cfg.Registration(nets, aliasNets)
	regPath := filepath.Join(dir, "registration.yaml")
	if err := reg.Save(regPath); err != nil {
		t.Fatalf("ferrytest: write registration: %v", err)
	}
	h := &Harness{T: t, Config: cfg, Connectors: connectors, traceLog: opts.TraceLog}
	// FERRY_TEST_DENDRITE_LOG raises Dendrite's log level when a failure
	// needs the homeserver's side of the story.
	h.Dendrite = testbed.StartDendrite(t, testbed.DendriteOptions{RegistrationFiles: []string{regPath}, LogLevel: os.Getenv("FERRY_TEST_DENDRITE_LOG")})
	cfg.Homeserver.Address = h.Dendrite.URL
	if opts.HomeserverVia != nil {
		cfg.Homeserver.Address = opts.HomeserverVia(t, h.Dendrite.URL)
	}
	if err := cfg.Validate(true); err != nil {
		t.Fatalf("ferrytest: config: %v", err)
	}
	h.BotMXID = cfg.BotMXID()
	h.StartBridge()
	return h
}

// StartBridge starts (or, after StopBridge, restarts) Ferry on the same
// database and port.
func (h *Harness) StartBridge() {
	t := h.T
	t.Helper()
	var out io.Writer = zerolog.NewTestWriter(t)
	level := logLevel()
	if h.traceLog != nil {
		out = zerolog.MultiLevelWriter(&zerolog.FilteredLevelWriter{Writer: zerolog.LevelWriterAdapter{Writer: out}, Level: level}, h.traceLog)
		level = zerolog.TraceLevel
	}
	log := zerolog.New(out).Level(level).With().Timestamp().Logger()
	b, err := bridge.New(h.Config, h.Connectors, log)
	if err != nil {
		t.Fatalf("ferrytest: new bridge: %v", err)
	}
	if err = b.Start(); err != nil {
		t.Fatalf("ferrytest: start bridge: %v", err)
	}
	h.Bridge = b
	t.Cleanup(h.StopBridge)
}

// StopBridge stops Ferry gracefully; safe to call twice.
func (h *Harness) StopBridge() {
	if h.Bridge != nil {
		h.Bridge.Stop()
		h.Bridge = nil
	}
}

// logLevel is FERRY_TEST_LOG (e.g. debug) or warn: test output stays short
// unless someone is looking into a failure.
func logLevel() zerolog.Level {
	if lvl, err := zerolog.ParseLevel(os.Getenv("FERRY_TEST_LOG")); err == nil && lvl != zerolog.NoLevel {
		return lvl
	}
	return zerolog.WarnLevel
}

func randomSuffix() string {
	return fmt.Sprintf("%d", time.Now().UnixNano())
}

// User registers a Matrix user with a background sync.
func (h *Harness) User(localpart string) *testbed.Client {
	return h.Dendrite.RegisterUser(h.T, localpart, localpart == "admin")
}

// ManagementRoom opens a DM with the bot and waits for its welcome.
func (h *Harness) ManagementRoom(user *testbed.Client) id.RoomID {
	h.T.Helper()
	room := user.CreateDM(h.T, h.BotMXID)
	h.WaitForBotNotice(user, room, "This is your management room")
	return room
}

// Command sends a command and returns the bot's first notice after it that
// contains want.
func (h *Harness) Command(user *testbed.Client, room id.RoomID, command, want string) *event.Event {
	h.T.Helper()
	before := Seen(user, room)
	user.SendText(h.T, room, command)
	return h.WaitForBotNoticeExcept(user, room, want, before)
}

// WaitForBotNotice waits for a notice from the bot containing want.
func (h *Harness) WaitForBotNotice(user *testbed.Client, room id.RoomID, want string) *event.Event {
	h.T.Helper()
	return h.WaitForBotNoticeExcept(user, room, want, nil)
}

// WaitForBotNoticeExcept waits for a notice from the bot containing want
// that is not among the events in skip.
func (h *Harness) WaitForBotNoticeExcept(user *testbed.Client, room id.RoomID, want string, skip map[id.EventID]bool) *event.Event {
	h.T.Helper()
	return user.WaitForEvent(h.T, room, 30*time.Second, func(evt *event.Event) bool {
		if skip[evt.ID] || evt.Sender != h.BotMXID || evt.Type != event.EventMessage {
			return false
		}
		msg := evt.Content.AsMessage()
		return msg != nil && strings.Contains(msg.Body, want)
	})
}

// Seen is the set of events user has seen in room so far.
func Seen(user *testbed.Client, room id.RoomID) map[id.EventID]bool {
	seen := make(map[id.EventID]bool)
	for _, evt := range user.Events(room) {
		seen[evt.ID] = true
	}
	return seen
}

// PushEvents sends events to Ferry's appservice API in one transaction, as
// the homeserver would, for event kinds Dendrite 0.13.8 never pushes (such
// as redactions). The events must be complete client-format events.
func (h *Harness) PushEvents(events ...map[string]any) {
	h.T.Helper()
	h.pushTransaction(map[string]any{"events": events})
}

// PushEphemeral sends ephemeral events (typing, receipts) the way Synapse
// does; Dendrite 0.13.8 sends none to appservices.
func (h *Harness) PushEphemeral(events ...map[string]any) {
	h.T.Helper()
	h.pushTransaction(map[string]any{"events": []any{}, "ephemeral": events})
}

func (h *Harness) pushTransaction(txn map[string]any) {
	h.T.Helper()
	body, err := json.Marshal(txn)
	if err != nil {
		h.T.Fatalf("ferrytest: marshal transaction: %v", err)
	}
	txnID := fmt.Sprintf("ferrytest-%d", time.Now().UnixNano())
	req, err := http.NewRequest(http.MethodPut, h.Config.AppService.Address+"/_matrix/app/v1/transactions/"+txnID, bytes.NewReader(body))
	if err != nil {
		h.T.Fatalf("ferrytest: transaction request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+h.Config.AppService.HSToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.T.Fatalf("ferrytest: push transaction: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.T.Fatalf("ferrytest: transaction answered %s", resp.Status)
	}
}

// Context is a test-scoped context with a deadline.
func (h *Harness) Context(timeout time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	h.T.Cleanup(cancel)
	return ctx
}
