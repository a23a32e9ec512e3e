package puppets

import (
	"fmt"
	"sync"

	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/id"
)

// Ghost intents. mautrix's AppService keeps every IntentAPI and
// mautrix.Client it has made, in maps it never prunes: about 1.3 KB for
// each user ever acted as. A bridge meets remote people without end (a
// busy IRC channel's comings and goings), so ghosts are acted as through
// an AppService of Ferry's own, sharing the real one's registration,
// state store and HTTP client, and replaced by a fresh one once it has
// made DefaultIntentsPerFactory intents. An old one, with its maps, is
// freed once no intent it made is held: the ghost cache (ghosts.go)
// drops ghosts not seen for a while and gives a ghost it keeps for
// another generation a current intent, and other holders keep an
// intent for one event. What stays is about the cache's size in
// intents, whoever was met.
type intentFactory struct {
	base  *appservice.AppService
	limit int

	mu    sync.Mutex
	as    *appservice.AppService
	users map[id.UserID]struct{} // the users as made intents for
}

// DefaultIntentsPerFactory is how many ghosts' intents one factory
// AppService makes before it is replaced: small against the ghost cache,
// so that a factory held by a few ghosts holds few others, and large
// against a factory's own cost (its channels and client, a few KB).
const DefaultIntentsPerFactory = 1000

func newIntentFactory(base *appservice.AppService, limit int) *intentFactory {
	return &intentFactory{base: base, limit: max(limit, 1)}
}

// intent returns the intent of user, made by the current factory.
func (f *intentFactory) intent(user id.UserID) *appservice.IntentAPI {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.users[user]; !ok {
		if f.as == nil || len(f.users) >= f.limit {
			as, err := f.fresh()
			if err != nil {
				// Cannot happen: the URL is the one the real AppService
				// parsed. Acting through the real one costs memory only.
				f.base.Log.Err(err).Msg("Failed to make an AppService for ghost intents")
				return f.base.Intent(user)
			}
			f.as = as
			f.users = make(map[id.UserID]struct{})
		}
		f.users[user] = struct{}{}
	}
	return f.as.Intent(user)
}

// fresh makes a factory AppService acting as the real one does. It
// serves no HTTP and receives nothing: only its intents and clients are
// used.
func (f *intentFactory) fresh() (*appservice.AppService, error) {
	b := f.base
	as := appservice.Create()
	// The URL clients are made with is unexported; the bot's client
	// carries it (made by NewMatrix, so never nil here). Set first: it
	// also replaces the HTTP client, which is the real one's below.
	if err := as.SetHomeserverURL(b.BotClient().HomeserverURL.String()); err != nil {
		return nil, fmt.Errorf("homeserver URL: %w", err)
	}
	as.HTTPClient = b.HTTPClient
	as.HomeserverDomain = b.HomeserverDomain
	as.Registration = b.Registration
	as.StateStore = b.StateStore
	as.Log = b.Log
	as.UserAgent = b.UserAgent
	as.SpecVersions = b.SpecVersions
	as.DefaultHTTPRetries = b.DefaultHTTPRetries
	as.DoublePuppetValue = b.DoublePuppetValue
	as.GetProfile = b.GetProfile
	// mautrix makes the bot's client on first use without a lock (see
	// NewMatrix): make it before any intent is handed out.
	as.BotClient()
	return as, nil
}
