// Package portals connects Matrix rooms with remote chats. Every portal
// has one ordered queue that carries both directions, so events of a room
// never overtake each other, while different rooms run in parallel.
package portals

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/metrics"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/bridge/workers"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/puppets"
)

// Directory is what portals need to know about logins and permissions.
// The bridge implements it; portals never start or stop logins.
type Directory interface {
	// Login returns a stored login, nil when unknown.
	Login(net network.NetworkID, login network.LoginID) *network.Login
	// Client returns the running client of a login.
	Client(net network.NetworkID, login network.LoginID) (network.Client, bool)
	// Level is the Matrix user's permission level.
	Level(user id.UserID) network.Level
	// NetworkName is the human name of a network ("WhatsApp").
	NetworkName(net network.NetworkID) string
	// UserLogins are a Matrix user's running logins on a network.
	UserLogins(user id.UserID, net network.NetworkID) []*network.Login
	// AliasLocalpart is the room alias localpart of a portal ("" for none).
	AliasLocalpart(key network.PortalKey) string
	// NotifyUser posts a notice in a Matrix user's management room: what
	// a portal must tell while it has no room of its own to tell it in.
	// It fails when the user has no management room, or the notice could
	// not be sent.
	NotifyUser(ctx context.Context, user id.UserID, content *event.MessageEventContent) error
}

// QueueSize bounds each portal's in-memory queue. Past it, stored remote
// events wait in the database (durable.go); other producers wait.
const QueueSize = 256

type Manager struct {
	db     *database.Database
	ghosts *puppets.Ghosts
	matrix *puppets.Matrix
	dir    Directory
	log    zerolog.Logger
	// Metrics receives stage timings (timing.go); nil: metrics are off.
	// Set before the first event.
	Metrics *metrics.Registry

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// workers run the sends and tails of messages that go ahead
	// (ahead.go), so that a burst reuses their grown stacks.
	workers *workers.Pool

	spaces spaces

	// maxMediaSize and mediaSlots bound the files bridged into Matrix:
	// their size, and how many are fetched and uploaded at once across
	// all portals, so that a burst of media exhausts neither memory, disk
	// nor the homeserver (SetMediaLimits).
	maxMediaSize int64
	mediaSlots   chan struct{}

	// matrixHeld: the bridge is stopping (HoldMatrix).
	matrixHeld atomic.Bool

	lock    sync.Mutex
	byKey   map[network.PortalKey]*Portal
	byRoom  map[id.RoomID]*Portal
	stopped bool
}

func NewManager(db *database.Database, ghosts *puppets.Ghosts, matrix *puppets.Matrix, dir Directory, log zerolog.Logger) *Manager {
	ctx, cancel := context.WithCancel(log.WithContext(context.Background()))
	return &Manager{
		db: db, ghosts: ghosts, matrix: matrix, dir: dir, log: log,
		ctx: ctx, cancel: cancel,
		workers: workers.New(workerKeep),
		byKey:   make(map[network.PortalKey]*Portal),
		byRoom:  make(map[id.RoomID]*Portal),

		maxMediaSize: DefaultMaxMediaSize,
		mediaSlots:   make(chan struct{}, DefaultMediaTransfers),
	}
}

// Defaults of the media limits (the config's media section).
const (
	DefaultMaxMediaSize   = 100 << 20
	DefaultMediaTransfers = 4
)

// SetMediaLimits sets the largest file bridged into Matrix and how many
// are transferred at once. Call it before the first event.
func (m *Manager) SetMediaLimits(maxSize int64, transfers int) {
	m.maxMediaSize = maxSize
	m.mediaSlots = make(chan struct{}, max(transfers, 1))
}

// HoldMatrix leaves the Matrix events no portal has started on unhandled
// from now on: the bridge is stopping, and once its networks are closed
// their sends would fail and be reported as lost. They are stored, so the
// next start bridges them. Remote events go on being bridged until Stop.
func (m *Manager) HoldMatrix() { m.matrixHeld.Store(true) }

// Stop ends every portal goroutine after its current item, then stores
// the remote events handed to portals unstored and not yet bridged, so
// that the next start bridges them (durable_stop_queued.go,
// durable_behind.go).
func (m *Manager) Stop() {
	m.lock.Lock()
	m.stopped = true
	m.lock.Unlock()
	m.cancel()
	m.wg.Wait()
	// Done here, once no goroutine is left, rather than as each goroutine
	// ends: an event handed to a portal whose goroutine had ended waits in
	// its queue with no goroutine to end, since none starts once the stop
	// has begun.
	m.lock.Lock()
	loaded := make([]*Portal, 0, len(m.byKey))
	for _, p := range m.byKey {
		loaded = append(loaded, p)
	}
	m.lock.Unlock()
	for _, p := range loaded {
		p.keepQueued(m.ctx)
		p.keepBehind(m.ctx)
	}
	// Reports held for after an outage have one more, short try
	// (durable_stop_report.go).
	m.reportAtStop(loaded)
}

// Get loads or creates the portal of key; it does not create a room.
func (m *Manager) Get(ctx context.Context, key network.PortalKey) (*Portal, error) {
	m.lock.Lock()
	defer m.lock.Unlock()
	if p, ok := m.byKey[key]; ok {
		return p, nil
	}
	row, err := m.db.Portals.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("load portal %s: %w", key, err)
	}
	if row == nil {
		row = &database.Portal{Key: key}
	}
	return m.loadLocked(row), nil
}

// ByRoom finds the portal of a Matrix room, nil when the room is none.
func (m *Manager) ByRoom(ctx context.Context, room id.RoomID) (*Portal, error) {
	m.lock.Lock()
	defer m.lock.Unlock()
	if p, ok := m.byRoom[room]; ok {
		return p, nil
	}
	row, err := m.db.Portals.GetByRoom(ctx, room)
	if err != nil || row == nil {
		return nil, err
	}
	if p, ok := m.byKey[row.Key]; ok {
		return p, nil
	}
	return m.loadLocked(row), nil
}

func (m *Manager) loadLocked(row *database.Portal) *Portal {
	p := &Portal{
		Portal: row,
		m:      m,
		log:    m.log.With().Stringer("portal", row.Key).Logger(),
		queue:  make(chan *queueItem, QueueSize),
		wakeup: make(chan struct{}, 1),
	}
	m.byKey[row.Key] = p
	if row.RoomID != "" {
		m.byRoom[row.RoomID] = p
	}
	// The goroutine starts with the first item (kick) and ends when the
	// portal has been idle for PortalIdleTimeout: idle portals cost memory
	// for their state only.
	return p
}

func (m *Manager) setRoom(p *Portal, room id.RoomID) {
	m.lock.Lock()
	m.byRoom[room] = p
	m.lock.Unlock()
}

// QueueRemote hands a remote event to its portal and returns the wait
// for its outcome once it has been bridged. A network that stops waiting
// says so (RemoteWait.Leave): an event then lost in an outage is reported
// in the room, as no network would deliver it again.
func (m *Manager) QueueRemote(ctx context.Context, login *network.Login, evt network.Event) (*RemoteWait, error) {
	p, err := m.Get(ctx, evt.EventMeta().Portal)
	if err != nil {
		return nil, err
	}
	if behind, err := p.queueBehindBacklog(ctx, login, evt); err != nil || behind != nil {
		return behind, err
	}
	item := &queueItem{remote: evt, login: login, wait: newRemoteWait()}
	p.startHandover(item)
	p.queueInMemory(item)
	if err = p.enqueue(ctx, item); err != nil {
		p.tookInMemory(item)
		p.settleHandover(item, false)
		return nil, err
	}
	return item.wait, nil
}

// QueueMatrix hands a Matrix event of p's room to p's queue; hooks hear
// how it gets on. firstSeen says that the event was new to the store when
// it arrived, so it has not been bridged before and the portal does not
// look for an earlier bridging of it (the exception, a crash between its
// first line and its store, is the bridge's to accept). An event replayed
// at start may have been bridged just before a stop that came before it
// was marked handled.
func (m *Manager) QueueMatrix(p *Portal, evt *event.Event, firstSeen bool, hooks MatrixHooks) {
	waits := hooks.Left != nil && p.wouldWait()
	_ = p.enqueue(m.ctx, &queueItem{matrix: evt, firstSeen: firstSeen, done: hooks.Done, left: hooks.Left})
	if waits {
		// It waits behind other work: nothing to gain by holding its store.
		hooks.Left()
	}
}

// Do runs fn on the portal's goroutine, ordered with its events, and
// waits for it: the way to change a portal from outside.
func (m *Manager) Do(ctx context.Context, p *Portal, fn func(ctx context.Context) error) error {
	result := make(chan error, 1)
	if err := p.enqueue(ctx, &queueItem{fn: fn, result: result}); err != nil {
		return err
	}
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetRelay makes login the relay of the portal ("" turns relaying off).
func (p *Portal) SetRelay(ctx context.Context, login network.LoginID) error {
	p.RelayLogin = login
	return p.m.db.Portals.Put(ctx, p.Portal)
}

// UserPortals lists the portals a Matrix user takes part in.
func (m *Manager) UserPortals(ctx context.Context, user id.UserID) ([]*database.Portal, error) {
	links, err := m.db.UserPortals.ByUser(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]*database.Portal, 0, len(links))
	for _, link := range links {
		p, err := m.Get(ctx, link.Portal)
		if err != nil {
			return nil, err
		}
		if p.RoomID != "" {
			out = append(out, p.Portal)
		}
	}
	return out, nil
}
