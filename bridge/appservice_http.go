package bridge

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.mau.fi/util/exhttp"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/metrics"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// MaxTransactionSize bounds a transaction body; Dendrite batches at most 50
// events, so this is generous.
const MaxTransactionSize = 64 << 20

// router serves the appservice API. Ferry answers transactions itself
// rather than through mautrix's handler: that one answers 200 as soon as
// the events are in memory and hands them to an asynchronous processor,
// which loses them on a crash and may reorder them.
func (b *Bridge) router() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /_matrix/app/v1/transactions/{txnID}", b.putTransaction)
	mux.HandleFunc("PUT /transactions/{txnID}", b.putTransaction)
	mux.HandleFunc("GET /_matrix/app/v1/users/{userID}", b.getUser)
	mux.HandleFunc("GET /_matrix/app/v1/rooms/{roomAlias}", b.getRoomAlias)
	mux.HandleFunc("POST /_matrix/app/v1/ping", b.postPing)
	mux.HandleFunc("GET /_matrix/mau/live", b.getHealth)
	mux.HandleFunc("GET /_matrix/mau/ready", b.getHealth)
	mux.HandleFunc("GET /health", b.getHealth)
	mux.HandleFunc("GET "+publicMediaPath+"{token}/{name}", b.servePublicMedia)
	return mux
}

// transactionBody keeps events raw: they are stored as received and parsed
// only when handled.
type transactionBody struct {
	Events    []json.RawMessage `json:"events"`
	Ephemeral []json.RawMessage `json:"ephemeral"`
	// Before MSC2409 was stable, servers used the unstable name.
	UnstableEphemeral []json.RawMessage `json:"de.sorunome.msc2409.ephemeral"`
}

type eventIDs struct {
	ID       id.EventID `json:"event_id"`
	RoomID   id.RoomID  `json:"room_id"`
	Sender   id.UserID  `json:"sender"`
	StateKey *string    `json:"state_key"`
}

func (b *Bridge) putTransaction(w http.ResponseWriter, r *http.Request) {
	received := time.Now() // Ferry's share of the latency starts here (metrics)
	if !b.AS.CheckServerToken(w, r) {
		return
	}
	txnID := r.PathValue("txnID")
	log := b.Log.With().Str("transaction_id", txnID).Logger()
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxTransactionSize+1))
	if err != nil || len(body) > MaxTransactionSize {
		mautrix.MNotJSON.WithMessage("Failed to read request body").Write(w)
		return
	}
	var txn transactionBody
	if err = json.Unmarshal(body, &txn); err != nil {
		log.Warn().Err(err).Msg("Malformed transaction")
		mautrix.MNotJSON.WithMessage("Transaction is not valid JSON").Write(w)
		return
	}
	queued := make([]*database.QueuedEvent, 0, len(txn.Events))
	for _, raw := range txn.Events {
		var ids eventIDs
		if err = json.Unmarshal(raw, &ids); err != nil || ids.ID == "" || ids.RoomID == "" {
			// One bad event must not make the homeserver retry the whole
			// batch forever.
			log.Warn().Err(err).Msg("Skipping event without event or room ID")
			continue
		}
		if trace := log.Trace(); trace.Enabled() {
			trace.RawJSON("event", withoutMessageText(raw)).Msg("Received event")
		}
		if ids.StateKey != nil {
			// State goes into the state store here, as it arrives, for
			// every sender: the homeserver sends events in the room's
			// order, so the newest state is applied last. Applied when
			// routed instead (after up to a full channel of events
			// before it), someone's older change overwrote a newer one
			// of Ferry's own, applied at once.
			b.updateStateStore(r.Context(), raw)
		}
		if b.isOwnUser(ids.Sender) {
			// Ferry's own bot and ghosts: Dendrite sends their events back.
			// Nothing to bridge, so nothing to store.
			continue
		}
		queued = append(queued, &database.QueuedEvent{EventID: ids.ID, RoomID: ids.RoomID, Data: raw, ReceivedAt: received})
	}
	fresh, err := b.acceptEvents(r.Context(), queued, received)
	if err != nil {
		// Not stored, so not acknowledged: the homeserver retries, and
		// events already routed are not routed again (acceptEvents).
		log.Err(err).Msg("Failed to store transaction")
		mautrix.MUnknown.WithMessage("Failed to store events").WithStatus(http.StatusInternalServerError).Write(w)
		return
	}
	ephemeral := txn.Ephemeral
	if ephemeral == nil {
		ephemeral = txn.UnstableEphemeral
	}
	for _, raw := range ephemeral {
		b.handleEphemeral(raw)
	}
	log.Debug().Int("events", len(txn.Events)).Int("fresh", fresh).Int("ephemeral", len(ephemeral)).Msg("Accepted transaction")
	exhttp.WriteEmptyJSONResponse(w, http.StatusOK)
	b.Metrics.ObserveSince(metrics.StageKey{Direction: metrics.MatrixToRemote, Stage: metrics.StageTransaction}, received, time.Now())
}

// getUser answers whether a user ID in Ferry's namespace exists. It never
// creates a ghost: the homeserver asks on behalf of anyone who looks up a
// profile, so an answer must not cost more than a lookup.
func (b *Bridge) getUser(w http.ResponseWriter, r *http.Request) {
	if !b.allowQuery(w, r) {
		return
	}
	user := id.UserID(r.PathValue("userID"))
	known := user == b.Matrix.BotMXID()
	if !known {
		var err error
		if known, err = b.Ghosts.Known(r.Context(), user); err != nil {
			b.Log.Err(err).Stringer("user_id", user).Msg("Failed to look up queried user")
		}
	}
	if known {
		exhttp.WriteEmptyJSONResponse(w, http.StatusOK)
	} else {
		mautrix.MNotFound.WithMessage("No such user").Write(w)
	}
}

// getRoomAlias answers alias queries: a network that maps aliases to chats
// (IRC channels) gets a room for the alias, which people then join; the
// network is not contacted until someone with a login joins.
func (b *Bridge) getRoomAlias(w http.ResponseWriter, r *http.Request) {
	if !b.allowQuery(w, r) {
		return
	}
	alias := id.RoomAlias(r.PathValue("roomAlias"))
	key, name, ok := b.resolveAlias(alias)
	if !ok {
		mautrix.MNotFound.WithMessage("No such room alias").Write(w)
		return
	}
	log := b.Log.With().Str("alias", alias.String()).Stringer("portal", key).Logger()
	if err := b.Portals.EnsureAliasRoom(log.WithContext(r.Context()), key, name, alias); err != nil {
		log.Err(err).Msg("Failed to create room for alias")
		mautrix.MUnknown.WithMessage("Failed to create the room").WithStatus(http.StatusInternalServerError).Write(w)
		return
	}
	log.Info().Msg("Created room for alias query")
	exhttp.WriteEmptyJSONResponse(w, http.StatusOK)
}

// resolveAlias maps #<network>_<rest>:<domain> to a portal through the
// network's AliasResolver.
func (b *Bridge) resolveAlias(alias id.RoomAlias) (network.PortalKey, string, bool) {
	localpart, server, ok := strings.Cut(strings.TrimPrefix(alias.String(), "#"), ":")
	if !ok || server != b.Config.Homeserver.Domain {
		return network.PortalKey{}, "", false
	}
	netName, rest, ok := strings.Cut(localpart, "_")
	if !ok {
		return network.PortalKey{}, "", false
	}
	entry, ok := b.networks[network.NetworkID(netName)]
	if !ok {
		return network.PortalKey{}, "", false
	}
	resolver, ok := entry.connector.(network.AliasResolver)
	if !ok {
		return network.PortalKey{}, "", false
	}
	key, name, ok := resolver.ResolveAlias(rest)
	if !ok || key.Network != entry.connector.ID() || key.Receiver != "" {
		return network.PortalKey{}, "", false
	}
	return key, name, true
}

// AliasLocalpart implements portals.Directory.
func (b *Bridge) AliasLocalpart(key network.PortalKey) string {
	entry, ok := b.networks[key.Network]
	if !ok || key.Receiver != "" {
		return ""
	}
	resolver, ok := entry.connector.(network.AliasResolver)
	if !ok {
		return ""
	}
	if rest := resolver.AliasFor(key); rest != "" {
		return string(key.Network) + "_" + rest
	}
	return ""
}

// allowQuery checks the homeserver token and the query rate limit, and
// answers the request itself when either fails.
func (b *Bridge) allowQuery(w http.ResponseWriter, r *http.Request) bool {
	if !b.AS.CheckServerToken(w, r) {
		return false
	}
	if !b.queries.allow() {
		mautrix.MLimitExceeded.WithMessage("Too many queries").WithStatus(http.StatusTooManyRequests).Write(w)
		return false
	}
	return true
}

func (b *Bridge) postPing(w http.ResponseWriter, r *http.Request) {
	if !b.AS.CheckServerToken(w, r) {
		return
	}
	exhttp.WriteEmptyJSONResponse(w, http.StatusOK)
}

func (b *Bridge) getHealth(w http.ResponseWriter, _ *http.Request) {
	exhttp.WriteEmptyJSONResponse(w, http.StatusOK)
}

// withoutMessageText is an event for the trace log with what people wrote
// left out, its length kept: a message may be a password (a login's
// answer, `irc password`), and which one is known only once it is handled.
func withoutMessageText(raw json.RawMessage) json.RawMessage {
	var evt map[string]any
	if err := json.Unmarshal(raw, &evt); err != nil {
		return json.RawMessage(`"(not a JSON object)"`)
	}
	if content, ok := evt["content"].(map[string]any); ok {
		hideText(content)
		if edited, ok := content["m.new_content"].(map[string]any); ok {
			hideText(edited)
		}
	}
	out, err := json.Marshal(evt)
	if err != nil {
		return json.RawMessage(`"(not encodable)"`)
	}
	return out
}

func hideText(content map[string]any) {
	for _, key := range []string{"body", "formatted_body"} {
		if text, ok := content[key].(string); ok {
			content[key] = fmt.Sprintf("(%d bytes)", len(text))
		}
	}
}
