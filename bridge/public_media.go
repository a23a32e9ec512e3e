package bridge

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

// Public media links: people outside Matrix (IRC users) cannot fetch
// homeserver media — authenticated media needs a Matrix account — so
// Ferry serves files of bridged events itself, under links that are
// signed (nobody can make one for another file), expire, and stop working
// once the event is redacted (checked with the homeserver at every fetch,
// which works even where redactions are never pushed to the bridge).

// PublicMediaTTL is how long a public media link works.
var PublicMediaTTL = 7 * 24 * time.Hour

const publicMediaPath = "/_ferry/media/"

// mediaClaim is what a link grants: one file, for one event, until Exp.
type mediaClaim struct {
	MXC   id.ContentURIString `json:"m"`
	Room  id.RoomID           `json:"r"`
	Event id.EventID          `json:"e"`
	Exp   int64               `json:"x"`
}

// mediaKey derives the signing key from the as_token, so there is no
// further secret to configure; rotating the token invalidates old links.
func (b *Bridge) mediaKey() []byte {
	mac := hmac.New(sha256.New, []byte(b.Config.AppService.ASToken))
	mac.Write([]byte("ferry public media v1"))
	return mac.Sum(nil)
}

func (b *Bridge) signMedia(payload []byte) []byte {
	mac := hmac.New(sha256.New, b.mediaKey())
	mac.Write(payload)
	return mac.Sum(nil)
}

// PublicMediaURL makes a public link to a file of a bridged event. ok is
// false when Ferry has no public address configured.
func (b *Bridge) PublicMediaURL(mxc id.ContentURIString, room id.RoomID, event id.EventID, fileName string) (string, bool) {
	base := strings.TrimRight(b.Config.AppService.PublicAddress, "/")
	if base == "" || mxc == "" {
		return "", false
	}
	payload, err := json.Marshal(mediaClaim{MXC: mxc, Room: room, Event: event, Exp: time.Now().Add(PublicMediaTTL).Unix()})
	if err != nil {
		return "", false
	}
	enc := base64.RawURLEncoding
	token := enc.EncodeToString(payload) + "." + enc.EncodeToString(b.signMedia(payload))
	if fileName == "" {
		fileName = "file"
	}
	return base + publicMediaPath + token + "/" + url.PathEscape(fileName), true
}

var (
	errMediaLink     = errors.New("not a valid link")
	errMediaExpired  = errors.New("the link has expired")
	errMediaRedacted = errors.New("the message was deleted")
	errMediaNotFound = errors.New("the homeserver does not show the message")
)

// eventNotFoundRetries are the waits before asking again about an event
// the homeserver says it does not have. Ferry signs links only for events
// it has received, but a homeserver may push an event to the appservice
// before its client API serves it (Dendrite reads /event from the sync
// API's database, which a separate consumer fills), and IRC bots that
// preview links fetch them within milliseconds.
var eventNotFoundRetries = []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, time.Second, 2 * time.Second}

// checkMediaToken verifies a link's signature and expiry.
func (b *Bridge) checkMediaToken(token string) (*mediaClaim, error) {
	payloadPart, sigPart, ok := strings.Cut(token, ".")
	if !ok {
		return nil, errMediaLink
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(payloadPart)
	sig, err2 := enc.DecodeString(sigPart)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, b.signMedia(payload)) {
		return nil, errMediaLink
	}
	var claim mediaClaim
	if err := json.Unmarshal(payload, &claim); err != nil {
		return nil, errMediaLink
	}
	if time.Now().Unix() > claim.Exp {
		return nil, errMediaExpired
	}
	return &claim, nil
}

// eventAlive asks the homeserver whether the event still exists unredacted.
// A redacted event is errMediaRedacted; one the bot is not shown, after
// the retries above, is errMediaNotFound (purged, or the bot has lost
// sight of the room).
func (b *Bridge) eventAlive(ctx context.Context, claim *mediaClaim) error {
	for attempt := 0; ; attempt++ {
		evt, err := b.Matrix.Bot().GetEvent(ctx, claim.Room, claim.Event)
		switch {
		case errors.Is(err, mautrix.MForbidden):
			return errMediaNotFound
		case errors.Is(err, mautrix.MNotFound):
			if attempt == len(eventNotFoundRetries) {
				return errMediaNotFound
			}
			select {
			case <-time.After(eventNotFoundRetries[attempt]):
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		case err != nil:
			return err
		}
		if evt.Unsigned.RedactedBecause != nil || len(evt.Content.VeryRaw) <= 2 {
			return errMediaRedacted
		}
		return nil
	}
}

func (b *Bridge) servePublicMedia(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	claim, err := b.checkMediaToken(token)
	switch {
	case errors.Is(err, errMediaExpired):
		http.Error(w, "This link has expired.", http.StatusGone)
		return
	case err != nil:
		http.Error(w, "Not a valid link.", http.StatusForbidden)
		return
	}
	log := b.Log.With().Stringer("event_id", claim.Event).Logger()
	if err = b.eventAlive(r.Context(), claim); errors.Is(err, errMediaRedacted) {
		http.Error(w, "This message was deleted.", http.StatusGone)
		return
	} else if errors.Is(err, errMediaNotFound) {
		// Not 410: a homeserver that is far behind would otherwise make
		// link previewers remember a live file as gone for good.
		http.Error(w, "This message could not be found; it may have been deleted.", http.StatusNotFound)
		return
	} else if err != nil {
		log.Warn().Err(err).Msg("Failed to check event for public media")
		http.Error(w, "The homeserver is not answering; try again later.", http.StatusBadGateway)
		return
	}
	mxc, err := claim.MXC.Parse()
	if err != nil {
		http.Error(w, "Not a valid link.", http.StatusForbidden)
		return
	}
	resp, err := b.Matrix.Bot().Download(r.Context(), mxc)
	if err != nil {
		log.Warn().Err(err).Msg("Failed to download media for a public link")
		http.Error(w, "The file could not be fetched.", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	contentType := resp.Header.Get("Content-Type")
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	w.Header().Set("Content-Type", contentType)
	// Shown inline only for harmless types; anything else downloads, so a
	// link cannot serve active content from Ferry's origin.
	disposition := "attachment"
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "text/plain" || strings.HasPrefix(mt, "image/") && mt != "image/svg+xml" {
		disposition = "inline"
	}
	w.Header().Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": r.PathValue("name")}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Cache-Control", "private, max-age=300")
	if resp.ContentLength > 0 {
		w.Header().Set("Content-Length", fmt.Sprint(resp.ContentLength))
	}
	_, _ = io.Copy(w, resp.Body)
}
