package wasim

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/util/cbcutil"
	"go.mau.fi/whatsmeow/util/hkdfutil"
	"google.golang.org/protobuf/proto"
)

// historyMediaInfo is whatsmeow's MediaHistory key derivation label.
const historyMediaInfo = "WhatsApp History Keys"

// SendHistorySync sends history to the account's linked devices as the
// phone does after linking: the HistorySync blob is zlib-compressed,
// encrypted like any media (AES-CBC and HMAC with keys derived from a
// random media key), stored in the media store, and announced in a
// Signal-encrypted history sync notification from the phone. whatsmeow
// downloads and decrypts it and emits events.HistorySync.
func (p *Phone) SendHistorySync(ctx context.Context, hs *waHistorySync.HistorySync) error {
	raw, err := proto.Marshal(hs)
	if err != nil {
		return fmt.Errorf("history sync: marshal: %w", err)
	}
	var compressed bytes.Buffer
	zw := zlib.NewWriter(&compressed)
	if _, err = zw.Write(raw); err == nil {
		err = zw.Close()
	}
	if err != nil {
		return fmt.Errorf("history sync: compress: %w", err)
	}
	plaintext := compressed.Bytes()

	mediaKey := make([]byte, 32)
	if _, err = rand.Read(mediaKey); err != nil {
		return fmt.Errorf("history sync: %w", err)
	}
	keys := hkdfutil.SHA256(mediaKey, nil, []byte(historyMediaInfo), 112)
	iv, cipherKey, macKey := keys[:16], keys[16:48], keys[48:80]
	ciphertext, err := cbcutil.Encrypt(cipherKey, iv, plaintext)
	if err != nil {
		return fmt.Errorf("history sync: encrypt: %w", err)
	}
	mac := hmac.New(sha256.New, macKey)
	mac.Write(iv)
	mac.Write(ciphertext)
	blob := append(ciphertext, mac.Sum(nil)[:10]...)
	encHash := sha256.Sum256(blob)
	plainHash := sha256.Sum256(plaintext)

	s := p.sim
	s.mu.Lock()
	s.idSeq++
	directPath := fmt.Sprintf("/v/t62.36145-24/wasim-hist-%d.enc?ccb=11-4&oh=wasim&oe=0", s.idSeq)
	s.media[blobKey(directPath)] = blob
	id := fmt.Sprintf("WASIMHIST%d", s.idSeq)
	s.mu.Unlock()

	notif := &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_HISTORY_SYNC_NOTIFICATION.Enum(),
		HistorySyncNotification: &waE2E.HistorySyncNotification{
			FileSHA256:    plainHash[:],
			FileLength:    proto.Uint64(uint64(len(plaintext))),
			MediaKey:      mediaKey,
			FileEncSHA256: encHash[:],
			DirectPath:    proto.String(directPath),
			SyncType:      waE2E.HistorySyncType(hs.GetSyncType()).Enum(),
			ChunkOrder:    proto.Uint32(hs.GetChunkOrder()),
			Progress:      proto.Uint32(hs.GetProgress()),
		},
	}}
	if err = p.sendFromPhone(ctx, id, notif); err != nil {
		return fmt.Errorf("history sync: %w", err)
	}
	return nil
}

// serveMediaDelete removes a blob, as whatsmeow's DeleteMedia asks once
// it has downloaded a history sync (DELETE /mms/<type>/<token>?d_md=…).
func (s *Sim) serveMediaDelete(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("auth") != s.mediaAuth {
		http.Error(w, "bad auth", http.StatusUnauthorized)
		return
	}
	dp, err := decodeRawURL(r.URL.Query().Get("d_md"))
	if err != nil || !strings.HasPrefix(dp, "/") {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	_, ok := s.media[blobKey(dp)]
	delete(s.media, blobKey(dp))
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusOK)
}
