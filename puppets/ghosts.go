package puppets

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// Ghost is a remote person's Matrix user. One Ghost is shared by every
// portal and login that meets the person, so the row's fields change only
// under its lock; the two flags read without it are mirrored in atomics.
type Ghost struct {
	*database.Ghost
	// intent is replaced when the cache keeps the ghost for another
	// generation, so that it comes from a current intent factory
	// (intents.go) and no old factory is held by a ghost in use.
	intent atomic.Pointer[appservice.IntentAPI]

	// lock serialises profile updates, so that two portals refreshing
	// the same person do not upload the avatar twice.
	lock       sync.Mutex
	registered atomic.Bool
	named      atomic.Bool
}

// Intent is the ghost's Matrix identity to act as.
func (g *Ghost) Intent() *appservice.IntentAPI { return g.intent.Load() }

// HasName says whether the ghost's display name was ever set.
func (g *Ghost) HasName() bool { return g.named.Load() }

// Ghosts maps remote people to Matrix users and keeps their profiles.
type Ghosts struct {
	db     *database.Database
	matrix *Matrix
	domain string
	namers map[network.NetworkID]network.GhostNamer
	log    zerolog.Logger

	// The ghosts met lately, in two generations. A bridge meets ever
	// more people over its life, so the cache is bounded: new ghosts go
	// into recent, and a ghost found in older moves back into it; when
	// recent holds cacheSize, it becomes older and what older held is
	// dropped. A ghost asked for again before cacheSize others are met
	// stays; at most twice cacheSize are held; a hit costs one map
	// lookup, as with one unbounded map. A ghost dropped while a portal
	// still uses it, and asked for again, is loaded anew: the two copies
	// share their row through the database, which every change goes to,
	// and what both may do (register, set the profile) does no harm done
	// twice.
	lock      sync.Mutex
	recent    map[network.GhostKey]*Ghost
	older     map[network.GhostKey]*Ghost
	cacheSize int
}

// DefaultGhostCacheSize is the number of ghosts a generation of the cache
// holds unless SetCacheSize says otherwise: the people active in a busy
// bridge, each some hundreds of bytes.
const DefaultGhostCacheSize = 10000

func NewGhosts(db *database.Database, matrix *Matrix, domain string, log zerolog.Logger) *Ghosts {
	return &Ghosts{
		db:        db,
		matrix:    matrix,
		domain:    domain,
		namers:    make(map[network.NetworkID]network.GhostNamer),
		log:       log,
		recent:    make(map[network.GhostKey]*Ghost),
		cacheSize: DefaultGhostCacheSize,
	}
}

// SetCacheSize sets how many ghosts a generation of the cache holds (see
// Ghosts.recent); n < 1 keeps the default.
func (g *Ghosts) SetCacheSize(n int) {
	if n < 1 {
		n = DefaultGhostCacheSize
	}
	g.lock.Lock()
	defer g.lock.Unlock()
	g.cacheSize = n
}

// cachedLocked returns the ghost of key if it is cached, moving it to
// the recent generation.
func (g *Ghosts) cachedLocked(key network.GhostKey) (*Ghost, bool) {
	if ghost, ok := g.recent[key]; ok {
		return ghost, true
	}
	ghost, ok := g.older[key]
	if ok {
		delete(g.older, key)
		// Kept for another generation: its intent from the factory of
		// now, or the ghost would keep an old factory alive with all the
		// intents it made (intents.go).
		if intent := g.matrix.Intent(ghost.MXID); intent != nil {
			ghost.intent.Store(intent)
		}
		g.cacheLocked(key, ghost)
	}
	return ghost, ok
}

func (g *Ghosts) cacheLocked(key network.GhostKey, ghost *Ghost) {
	if len(g.recent) >= g.cacheSize {
		g.older = g.recent
		g.recent = make(map[network.GhostKey]*Ghost, g.cacheSize)
	}
	g.recent[key] = ghost
}

// cached is how many ghosts are in memory.
func (g *Ghosts) cached() int {
	g.lock.Lock()
	defer g.lock.Unlock()
	return len(g.recent) + len(g.older)
}

// SetNamer pins a network's own localpart encoding.
func (g *Ghosts) SetNamer(net network.NetworkID, namer network.GhostNamer) {
	g.namers[net] = namer
}

// MXID is the ghost user ID of a remote person: @<network>_<localpart>.
func (g *Ghosts) MXID(key network.GhostKey) id.UserID {
	var local string
	if namer, ok := g.namers[key.Network]; ok {
		local = namer.GhostLocalpart(key.User)
	} else {
		local = id.EncodeUserLocalpart(string(key.User))
	}
	return id.NewUserID(string(key.Network)+"_"+local, g.domain)
}

// ParseMXID is the inverse of MXID. It only parses; whether such a ghost
// exists is a database question.
func (g *Ghosts) ParseMXID(mxid id.UserID) (network.GhostKey, bool) {
	local, server, err := mxid.Parse()
	if err != nil || server != g.domain {
		return network.GhostKey{}, false
	}
	netName, rest, ok := strings.Cut(local, "_")
	if !ok || rest == "" {
		return network.GhostKey{}, false
	}
	net := network.NetworkID(netName)
	if namer, ok := g.namers[net]; ok {
		user, ok := namer.ParseGhostLocalpart(rest)
		return network.GhostKey{Network: net, User: user}, ok
	}
	user, err := id.DecodeUserLocalpart(rest)
	if err != nil || user == "" {
		return network.GhostKey{}, false
	}
	return network.GhostKey{Network: net, User: network.UserID(user)}, true
}

// Get loads or creates the ghost of a remote person. Creating stores the
// row; registering the Matrix user happens when the ghost first acts.
func (g *Ghosts) Get(ctx context.Context, key network.GhostKey) (*Ghost, error) {
	g.lock.Lock()
	defer g.lock.Unlock()
	if ghost, ok := g.cachedLocked(key); ok {
		return ghost, nil
	}
	row, err := g.db.Ghosts.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("load ghost %s: %w", key, err)
	}
	if row == nil {
		row = &database.Ghost{Key: key, MXID: g.MXID(key)}
		if err = g.db.Ghosts.Put(ctx, row); err != nil {
			return nil, fmt.Errorf("store ghost %s: %w", key, err)
		}
	}
	intent := g.matrix.Intent(row.MXID)
	if intent == nil {
		return nil, fmt.Errorf("ghost %s has an invalid user ID %q", key, row.MXID)
	}
	ghost := &Ghost{Ghost: row}
	ghost.intent.Store(intent)
	ghost.registered.Store(row.Registered)
	ghost.named.Store(row.NameSet)
	g.cacheLocked(key, ghost)
	return ghost, nil
}

// Known reports whether mxid is a ghost Ferry has created before. User
// queries from the homeserver use it: they must never create ghosts.
func (g *Ghosts) Known(ctx context.Context, mxid id.UserID) (bool, error) {
	row, err := g.db.Ghosts.GetByMXID(ctx, mxid)
	return row != nil, err
}

// EnsureRegistered registers the ghost's Matrix user once.
func (g *Ghosts) EnsureRegistered(ctx context.Context, ghost *Ghost) error {
	if ghost.registered.Load() {
		return nil
	}
	ghost.lock.Lock()
	defer ghost.lock.Unlock()
	if ghost.registered.Load() {
		return nil
	}
	err := g.matrix.Retry(ctx, "register ghost", ghost.Intent().EnsureRegistered)
	if err != nil {
		return err
	}
	ghost.Registered = true
	err = g.db.Ghosts.Put(ctx, ghost.Ghost)
	ghost.registered.Store(true)
	return err
}

// UpdateInfo brings the ghost's Matrix profile in line with info. Unknown
// fields (nil) are left alone; the avatar is uploaded only when its remote
// ID changed.
func (g *Ghosts) UpdateInfo(ctx context.Context, ghost *Ghost, info *network.UserInfo) error {
	if info == nil {
		return nil
	}
	if err := g.EnsureRegistered(ctx, ghost); err != nil {
		return err
	}
	ghost.lock.Lock()
	defer ghost.lock.Unlock()
	changed := false
	if info.Name != nil && (*info.Name != ghost.Name || !ghost.NameSet) {
		// The ghost's row says what Ferry last set, so the profile is not
		// read first (IntentAPI.SetDisplayName would: one request more
		// for every new ghost).
		err := g.matrix.Retry(ctx, "set ghost name", func(ctx context.Context) error {
			return ghost.Intent().Client.SetDisplayName(ctx, *info.Name)
		})
		if err != nil {
			return err
		}
		ghost.Name, ghost.NameSet, changed = *info.Name, true, true
		ghost.named.Store(true)
	}
	if av := info.Avatar; av != nil && (av.ID != ghost.AvatarID || !ghost.AvatarSet) {
		var mxc id.ContentURI
		if !av.Remove && av.Get != nil {
			data, err := av.Get(ctx)
			if err != nil {
				// A picture we cannot fetch now is not a removed picture:
				// keep the old one and try again next time.
				g.log.Warn().Err(err).Stringer("ghost", ghost.Key).Msg("Failed to fetch avatar")
				return nil
			}
			mxc, err = g.matrix.Upload(ctx, ghost.Intent(), data, "", "avatar")
			if err != nil {
				return err
			}
		}
		// Nor is it read here, and the picture, which Ferry has just
		// uploaded to this homeserver, is not downloaded again before it
		// is set (IntentAPI.SetAvatarURL does both, for pictures on other
		// servers).
		err := g.matrix.Retry(ctx, "set ghost avatar", func(ctx context.Context) error {
			return ghost.Intent().Client.SetAvatarURL(ctx, mxc)
		})
		if err != nil {
			return err
		}
		ghost.AvatarID, ghost.AvatarMXC, ghost.AvatarSet, changed = av.ID, mxc.CUString(), true, true
	}
	if changed {
		return g.db.Ghosts.Put(ctx, ghost.Ghost)
	}
	return nil
}
