// Package bridge is Ferry's application: it serves the appservice API,
// routes Matrix events to portals or to the management bot, runs the
// commands, and owns the lifecycle of every network login.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/sqlstatestore"

	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/bridge/metrics"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/portals"
	"github.com/ferrybridge/ferry/puppets"
)

// Version is set at build time with -ldflags "-X ...bridge.Version=...".
var Version = "0.1.0-dev"

type Bridge struct {
	Config  *config.Config
	DB      *database.Database
	AS      *appservice.AppService
	Matrix  *puppets.Matrix
	Ghosts  *puppets.Ghosts
	Portals *portals.Manager
	Log     zerolog.Logger
	// Metrics is nil unless metrics.listen is set.
	Metrics *metrics.Registry

	networks map[network.NetworkID]*networkEntry
	order    []network.NetworkID
	commands []*command

	server   *http.Server
	listener net.Listener
	events   chan inbound
	// txnLock takes homeserver transactions one at a time; unstored (under
	// it) holds the events routed before a store that failed, until a
	// retry stores them (matrix_store_after.go).
	txnLock  sync.Mutex
	unstored map[id.EventID]*earlyEvent
	// secretEvents are events whose stored body is emptied when they are
	// marked handled (holdsSecret).
	secretEvents sync.Map
	// replayed are the events being handled that were stored before the
	// last stop, replayed at start (unknownCommand).
	replayed sync.Map
	// edits are the commands an edit may still correct (command_edits.go).
	edits   commandEdits
	rooms   *serialQueues
	queries *rateLimiter
	// metricsServer serves Metrics on metrics.listen.
	metricsServer *http.Server

	// endedQuestions are login questions for a secret that ended
	// unanswered (login_late.go).
	endedQuestions endedQuestions

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// bg counts the goroutines started through background; bgLock orders
	// their start against Stop's wait.
	bgLock sync.Mutex
	bg     sync.WaitGroup

	// startupGCDone makes endStartupGC run once.
	startupGCDone sync.Once

	loginLock sync.RWMutex
	logins    map[loginKey]*loginEntry
	// unstarted are the stored logins whose load failed (under
	// loginLock; logins_unstarted.go).
	unstarted map[loginKey]*unstartedLogin
	flowLock  sync.Mutex
	flows     map[id.UserID]*loginFlow
	// cancelled holds the flows a cancel took out of flows that still
	// run: each undoes or tells a login the network completed, and a
	// logout must still reach it (login_overruled.go). A user may have
	// more than one: a new login may start, and be cancelled, while a
	// cancelled one still runs.
	cancelled map[*loginFlow]struct{}
	// flowsCtx is the login flows' parent, cancelled when Stop begins;
	// flowsWG counts the flows, and flowsClosed (under flowLock) refuses
	// new ones from then on (login_flow.go).
	flowsCtx    context.Context
	flowsCancel context.CancelFunc
	flowsWG     sync.WaitGroup
	flowsClosed bool
}

type networkEntry struct {
	connector network.Connector
	host      *host
}

// New wires a bridge from a validated config and the networks cmd/ferry
// chose. It opens and migrates the database but starts nothing.
func New(cfg *config.Config, connectors []network.Connector, log zerolog.Logger) (*Bridge, error) {
	ctx, cancel := context.WithCancel(log.WithContext(context.Background()))
	b := &Bridge{
		Config:   cfg,
		Log:      log,
		networks: make(map[network.NetworkID]*networkEntry),
		events:   make(chan inbound, 1024),
		unstored: make(map[id.EventID]*earlyEvent),
		queries:  newRateLimiter(20, 50),
		ctx:      ctx,
		cancel:   cancel,
		logins:   make(map[loginKey]*loginEntry),
		flows:    make(map[id.UserID]*loginFlow),
	}
	b.flowsCtx, b.flowsCancel = context.WithCancel(ctx)
	b.rooms = newSerialQueues()
	db, err := database.Open(cfg.Database.Type, cfg.Database.URI, log.With().Str("component", "database").Logger())
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetPool(cfg.Database.MaxOpenConns, cfg.Database.MaxIdleConns)
	b.DB = db
	stateStore, err := UpgradeDatabase(ctx, db, log)
	if err != nil {
		cancel()
		return nil, err
	}
	var ghostNets []network.NetworkID
	for _, c := range connectors {
		ghostNets = append(ghostNets, c.ID())
	}
	as, err := appservice.CreateFull(appservice.CreateOpts{
		Registration:     cfg.Registration(ghostNets, nil),
		HomeserverDomain: cfg.Homeserver.Domain,
		HomeserverURL:    cfg.Homeserver.Address,
		HostConfig:       appservice.HostConfig{Hostname: cfg.AppService.Hostname, Port: uint16(cfg.AppService.Port)},
		StateStore:       newMemberStateStore(stateStore),
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("create appservice: %w", err)
	}
	as.Log = log.With().Str("component", "appservice").Logger()
	b.AS = as
	b.Matrix = puppets.NewMatrix(as, log.With().Str("component", "matrix").Logger())
	if cfg.Homeserver.PipelineSends {
		if err = b.Matrix.EnablePipelining(cfg.Homeserver.Address); err != nil {
			cancel()
			return nil, fmt.Errorf("homeserver.pipeline_sends: %w", err)
		}
	}
	b.Ghosts = puppets.NewGhosts(db, b.Matrix, cfg.Homeserver.Domain, log.With().Str("component", "ghosts").Logger())
	b.Portals = portals.NewManager(db, b.Ghosts, b.Matrix, b, log.With().Str("component", "portals").Logger())
	b.Portals.SetMediaLimits(int64(cfg.Media.MaxFileSize), cfg.Media.Transfers)
	for _, c := range connectors {
		net := c.ID()
		if _, dup := b.networks[net]; dup {
			cancel()
			return nil, fmt.Errorf("network %q registered twice", net)
		}
		h := &host{b: b, net: net, log: log.With().Str("network", string(net)).Logger()}
		if err = c.Init(h, cfg.Networks[net]); err != nil {
			cancel()
			return nil, fmt.Errorf("%s config: %w", net, err)
		}
		if namer, ok := c.(network.GhostNamer); ok {
			b.Ghosts.SetNamer(net, namer)
		}
		b.networks[net] = &networkEntry{connector: c, host: h}
		b.order = append(b.order, net)
	}
	b.commands = b.buildCommands()
	if cfg.Metrics.Listen != "" {
		b.Metrics = metrics.New()
		b.Portals.Metrics = b.Metrics
		b.Metrics.Gauge("ferry_logins", "Logins Ferry runs, by network.", func() []metrics.Sample { return b.loginGauge(false) })
		b.Metrics.Gauge("ferry_logins_connected", "Logins whose network connection is up, by network.", func() []metrics.Sample { return b.loginGauge(true) })
	}
	return b, nil
}

// loginGauge counts the running logins per network (only the connected
// ones with connected), every network listed even at zero.
func (b *Bridge) loginGauge(connected bool) []metrics.Sample {
	counts := make(map[network.NetworkID]int, len(b.order))
	b.loginLock.RLock()
	for key, le := range b.logins {
		if connected {
			le.lock.Lock()
			up := le.state.Kind == network.StateConnected
			le.lock.Unlock()
			if !up {
				continue
			}
		}
		counts[key.net]++
	}
	b.loginLock.RUnlock()
	samples := make([]metrics.Sample, 0, len(b.order))
	for _, net := range b.order {
		samples = append(samples, metrics.Sample{Labels: []string{"network", string(net)}, Value: float64(counts[net])})
	}
	return samples
}

// startMetrics serves GET /metrics on metrics.listen, on a listener of its
// own so that the endpoint can stay private while the appservice port is
// reachable by the homeserver.
func (b *Bridge) startMetrics() error {
	ln, err := net.Listen("tcp", b.Config.Metrics.Listen)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s: %w", b.Config.Metrics.Listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", b.Metrics)
	b.metricsServer = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if err := b.metricsServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.Log.Err(err).Msg("Metrics HTTP server failed")
		}
	}()
	b.Log.Info().Str("address", ln.Addr().String()).Msg("Metrics served at /metrics")
	return nil
}

// Start listens for the homeserver, replays Matrix events that were
// accepted but not handled before the last stop, starts the networks and
// connects the stored logins.
func (b *Bridge) Start() error {
	ctx := b.ctx
	pending, err := b.DB.MatrixEvents.Pending(ctx)
	if err != nil {
		return fmt.Errorf("load pending Matrix events: %w", err)
	}
	addr := net.JoinHostPort(b.Config.AppService.Hostname, strconv.Itoa(b.Config.AppService.Port))
	b.listener, err = net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if b.Metrics != nil {
		if err = b.startMetrics(); err != nil {
			_ = b.listener.Close()
			return err
		}
	}
	b.server = &http.Server{Handler: b.router(), ReadHeaderTimeout: 30 * time.Second}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if err := b.server.Serve(b.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.Log.Err(err).Msg("Appservice HTTP server failed")
		}
	}()
	b.Log.Info().Str("address", addr).Int("replayed_events", len(pending)).Msg("Appservice API listening")
	if err = b.ensureBotProfile(ctx); err != nil {
		// Not fatal: the homeserver may come up later; commands still work
		// once it does, and the profile is retried at the next start.
		b.Log.Warn().Err(err).Msg("Failed to set up the bot user")
	}
	// Remote events stored before the restart wait in their portals
	// ahead of anything the logins receive once connected.
	replayRemote, err := b.Portals.HoldDurable(ctx)
	if err != nil {
		return err
	}
	for _, net := range b.order {
		if err = b.networks[net].connector.Start(ctx); err != nil {
			return fmt.Errorf("start %s: %w", net, err)
		}
	}
	b.loadLogins(ctx)
	complete := b.takeEndedQuestionsComplete(ctx)
	if err = b.recallEndedQuestions(ctx); err != nil {
		// Not fatal: only a password typed after a login ended before
		// the stop is then not told from a command, nor shown back.
		b.Log.Err(err).Msg("Failed to recall the login questions that ended unanswered")
		complete = false
	}
	b.endedQuestions.lock.Lock()
	b.endedQuestions.complete = complete
	b.endedQuestions.lock.Unlock()
	if err = b.recallStoredSecrets(ctx); err != nil {
		// Not fatal: only an edit of a secret sent before the stop is
		// then told apart as far as the homeserver tells (refuseEdit).
		b.Log.Err(err).Msg("Failed to recall the messages that held a secret")
	}
	// Matrix events are routed only now: a replayed message needs its
	// sender's login running, or it would fail as if the user had none.
	// Transactions that arrive before wait in b.events, stored once
	// StoreAfterWait has passed.
	b.wg.Add(1)
	go b.dispatch(pending)
	replayRemote()
	b.wg.Add(2)
	go b.pruneHandledEvents()
	go b.releaseStartupMemory()
	return nil
}

// Stop shuts down gracefully: no new transactions, networks disconnected,
// portal queues finished with their current item.
func (b *Bridge) Stop() {
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if b.server != nil {
		_ = b.server.Shutdown(shutdownCtx)
	}
	if b.metricsServer != nil {
		_ = b.metricsServer.Shutdown(shutdownCtx)
	}
	// Login flows end while the networks still run: one that completed
	// later would load and connect a login on a stopped network.
	b.markEndedQuestionsComplete(shutdownCtx, b.endLoginFlows(shutdownCtx))
	// No transaction is running any more, and every event is stored. The
	// networks close their connections next: Matrix events still waiting
	// in a portal would fail to go, so they wait for the next start.
	b.Portals.HoldMatrix()
	for _, net := range b.order {
		b.networks[net].connector.Stop(shutdownCtx)
	}
	b.cancel()
	b.stopDownTimers()
	b.Portals.Stop()
	b.wg.Wait()
	b.rooms.wait()
	// No background work starts once the context is cancelled, and taking
	// the lock lets a start under way finish its Add; what started is
	// waited for, as it may use the database.
	b.bgLock.Lock()
	b.bgLock.Unlock()
	b.bg.Wait()
	if err := b.DB.Close(); err != nil {
		b.Log.Warn().Err(err).Msg("Failed to close database")
	}
}

// background runs fn on a goroutine of its own that Stop waits for, and
// reports whether it does: once the bridge is stopping, nothing starts.
// It is for work that outlives the request that started it (a login's
// notices, a login flow), which would otherwise run on after Stop closed
// the database.
func (b *Bridge) background(fn func()) bool {
	b.bgLock.Lock()
	defer b.bgLock.Unlock()
	if b.ctx.Err() != nil {
		return false
	}
	b.bg.Add(1)
	go func() {
		defer b.bg.Done()
		fn()
	}()
	return true
}

func (b *Bridge) ensureBotProfile(ctx context.Context) error {
	bot := b.Matrix.Bot()
	if err := b.Matrix.Retry(ctx, "register bot", bot.EnsureRegistered); err != nil {
		return err
	}
	if name := b.Config.AppService.Bot.Displayname; name != "" {
		if err := bot.SetDisplayName(ctx, name); err != nil {
			return fmt.Errorf("set bot display name: %w", err)
		}
	}
	if avatar := b.Config.AppService.Bot.Avatar; avatar != "" {
		uri, err := id.ParseContentURI(avatar)
		if err != nil {
			return fmt.Errorf("appservice.bot.avatar: %w", err)
		}
		if err = bot.SetAvatarURL(ctx, uri); err != nil {
			return fmt.Errorf("set bot avatar: %w", err)
		}
	}
	return nil
}

// pruneHandledEvents forgets handled Matrix event IDs after a day: long
// enough for any homeserver retry, short enough to keep the table small.
func (b *Bridge) pruneHandledEvents() {
	defer b.wg.Done()
	ticker := time.NewTicker(time.Hour)
	defer ticker.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-ticker.C:
			n, err := b.DB.MatrixEvents.PruneHandled(b.ctx, time.Now().Add(-24*time.Hour))
			if err != nil {
				b.Log.Warn().Err(err).Msg("Failed to prune handled events")
			} else if n > 0 {
				b.Log.Debug().Int64("count", n).Msg("Pruned handled events")
			}
		}
	}
}

// Level is a Matrix user's permission level.
func (b *Bridge) Level(user id.UserID) network.Level {
	return b.Config.Permissions.For(user)
}

// NetworkName is the human name of a network.
func (b *Bridge) NetworkName(net network.NetworkID) string {
	if entry, ok := b.networks[net]; ok {
		return entry.connector.Name()
	}
	return string(net)
}

// UpgradeDatabase brings Ferry's own tables and the Matrix state store's
// (mautrix's sqlstatestore, in the same database) to the current schema,
// as every start does before anything else, and returns the state store.
// The networks' tables are each connector's own (see whatsapp's
// UpgradeDatabase).
func UpgradeDatabase(ctx context.Context, db *database.Database, log zerolog.Logger) (*sqlstatestore.SQLStateStore, error) {
	if err := db.Upgrade(ctx); err != nil {
		return nil, fmt.Errorf("upgrade database: %w", err)
	}
	stateStore := sqlstatestore.NewSQLStateStore(db.Database, dbutil.ZeroLogger(log.With().Str("component", "state_store").Logger()), false)
	if err := stateStore.Upgrade(ctx); err != nil {
		return nil, fmt.Errorf("upgrade state store: %w", err)
	}
	return stateStore, nil
}
