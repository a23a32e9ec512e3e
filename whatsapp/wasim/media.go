package wasim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
)

// mediaHost is the only host media_conn advertises; the clients'
// transport sends it to the simulator like every other host.
const mediaHost = "mmg.whatsapp.net"

// maxMediaSize bounds uploads so a test cannot exhaust memory by mistake.
const maxMediaSize = 64 << 20

func (s *Sim) registerMediaRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /mms/", s.serveUpload)
	mux.HandleFunc("POST /newsletter/", s.serveUpload)
	mux.HandleFunc("GET /v/", s.serveDownload)
	mux.HandleFunc("DELETE /mms/", s.serveMediaDelete)
}

// handleMediaConnIQ answers the w:m media_conn query (whatsmeow
// mediaconn.go) with the simulator's upload auth token and one host.
func (s *Sim) handleMediaConnIQ(c *conn, node *waBinary.Node) {
	if !hasChild(node, "media_conn") {
		s.unknownIQ(c, node, "w:m")
		return
	}
	s.reply(c, iqResult(node, waBinary.Node{
		Tag: "media_conn",
		Attrs: waBinary.Attrs{
			"auth": s.mediaAuth, "ttl": 300, "auth_ttl": 21600, "max_buckets": 12,
		},
		Content: []waBinary.Node{{Tag: "host", Attrs: waBinary.Attrs{"hostname": mediaHost}}},
	}))
}

// serveUpload stores an upload (whatsmeow upload.go rawUpload: POST
// /mms/<type>/<token>?auth=…&token=…, where token is the URL-safe base64
// SHA-256 of the body) and answers with its URL and direct path. The
// blob is stored as sent: clients encrypt media themselves.
func (s *Sim) serveUpload(w http.ResponseWriter, r *http.Request) {
	log := s.log.With().Str("path", r.URL.Path).Logger()
	if r.URL.Query().Get("auth") != s.mediaAuth {
		log.Warn().Msg("Upload with wrong media auth")
		http.Error(w, "bad auth", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMediaSize+1))
	if err != nil || len(body) > maxMediaSize {
		log.Warn().Err(err).Int("size", len(body)).Msg("Upload unreadable or too large")
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256(body)
	if tok := r.URL.Query().Get("token"); tok != base64.URLEncoding.EncodeToString(sum[:]) {
		log.Warn().Str("token", tok).Msg("Upload body does not match its token hash")
		http.Error(w, "hash mismatch", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.idSeq++
	// Real direct paths carry a query string, and whatsmeow appends
	// "&hash=…" to them when downloading.
	directPath := fmt.Sprintf("/v/t62.7118-24/wasim-%d.enc?ccb=11-4&oh=wasim&oe=0", s.idSeq)
	s.media[blobKey(directPath)] = body
	s.mu.Unlock()
	log.Debug().Str("direct_path", directPath).Int("size", len(body)).Msg("Media uploaded")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"url":         "https://" + mediaHost + directPath + "&mms3=true",
		"direct_path": directPath,
	})
}

// serveDownload returns a stored blob by its path.
func (s *Sim) serveDownload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	blob, ok := s.media[blobKey(r.URL.Path)]
	s.mu.Unlock()
	if !ok {
		s.log.Debug().Str("path", r.URL.Path).Msg("Media not found")
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(blob))
}

// blobKey is the path part of a direct path, which is what identifies a
// blob; download URLs add query parameters of their own.
func blobKey(directPath string) string {
	p, _, _ := strings.Cut(directPath, "?")
	return p
}

func decodeRawURL(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err
}
