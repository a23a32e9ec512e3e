package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// fakeWA records what Ferry would send, in front of a real, unconnected
// whatsmeow client that builds edits, reactions and revokes and mints
// message IDs.
type fakeWA struct {
	*whatsmeow.Client

	mu        sync.Mutex
	sent      []sentMessage
	uploads   []uploadCall
	presences []presenceCall
	reads     []readCall
	pairCalls []pairCall
	connects  chan struct{}
	loggedIn  atomic.Bool

	connectErr error
	// realSecrets has whatsmeow decrypt secret-encrypted messages and
	// encrypted reactions with the secrets in the device's store.
	realSecrets bool
	connectWait chan struct{} // Connect blocks until closed, when set
	sendErr     error
	logoutErr   error
	logoutWait  chan struct{} // Logout blocks until closed or its ctx ends, when set
	pairCode    string
	groups      map[types.JID]*types.GroupInfo
	onWhatsApp  map[string]types.IsOnWhatsAppResponse
	pictures    map[types.JID]*types.ProfilePictureInfo
	pictureErr  error
	sendTime    time.Time
	// sendTimings are what SendMessage reports of its stages.
	sendTimings whatsmeow.MessageDebugTimings
	// expired are direct paths whose download fails as WhatsApp's does
	// for media it no longer keeps; downloads records every path asked.
	expired       map[string]bool
	downloads     []string
	retryReceipts []retryReceipt
	disconnects   int
	logouts       int
	// unlinked counts the Logouts WhatsApp agreed to.
	unlinked int
	lookups  int
	// groupInfoCalls counts GetGroupInfo questions.
	groupInfoCalls int
	// uploadGate, when set, holds every upload until it is closed;
	// uploading and maxUploading count uploads in flight.
	uploadGate   chan struct{}
	uploading    int
	maxUploading int

	// deleteOnLogout has a successful Logout delete the device from the
	// store, as whatsmeow's does.
	deleteOnLogout bool
}

type (
	sentMessage struct {
		To    types.JID
		Msg   *waE2E.Message
		Extra []whatsmeow.SendRequestExtra
	}
	uploadCall struct {
		Data []byte
		Type whatsmeow.MediaType
	}
	presenceCall struct {
		Chat  types.JID
		State types.ChatPresence
	}
	readCall struct {
		IDs          []types.MessageID
		Chat, Sender types.JID
	}
	retryReceipt struct {
		Info     types.MessageInfo
		MediaKey []byte
	}
	pairCall struct {
		Phone       string
		Push        bool
		ClientType  whatsmeow.PairClientType
		DisplayName string
	}
)

func newFakeWA(cli *whatsmeow.Client) *fakeWA {
	return &fakeWA{Client: cli, connects: make(chan struct{}, 10), sendTime: time.Unix(1700000000, 0), pairCode: "ABCD-EFGH"}
}

func (f *fakeWA) Connect() error {
	f.connects <- struct{}{}
	if f.connectWait != nil {
		<-f.connectWait
	}
	return f.connectErr
}

func (f *fakeWA) Disconnect() {
	f.mu.Lock()
	f.disconnects++
	f.mu.Unlock()
}

func (f *fakeWA) disconnectCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.disconnects
}

func (f *fakeWA) IsConnected() bool { return f.loggedIn.Load() }
func (f *fakeWA) IsLoggedIn() bool  { return f.loggedIn.Load() }

func (f *fakeWA) Logout(ctx context.Context) error {
	f.mu.Lock()
	f.logouts++
	wait := f.logoutWait
	f.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.logoutErr != nil {
		return f.logoutErr
	}
	if f.deleteOnLogout {
		if err := f.Client.Store.Delete(ctx); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.unlinked++
	f.mu.Unlock()
	return nil
}

func (f *fakeWA) unlinkedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unlinked
}

func (f *fakeWA) PairPhone(ctx context.Context, phone string, push bool, clientType whatsmeow.PairClientType, name string) (string, error) {
	f.mu.Lock()
	f.pairCalls = append(f.pairCalls, pairCall{phone, push, clientType, name})
	f.mu.Unlock()
	return f.pairCode, nil
}

func (f *fakeWA) SendMessage(ctx context.Context, to types.JID, msg *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	if f.sendErr != nil {
		return whatsmeow.SendResponse{}, f.sendErr
	}
	f.mu.Lock()
	f.sent = append(f.sent, sentMessage{to, msg, extra})
	f.mu.Unlock()
	resp := whatsmeow.SendResponse{Timestamp: f.sendTime, DebugTimings: f.sendTimings}
	if len(extra) > 0 {
		resp.ID = extra[0].ID
	}
	return resp, nil
}

func (f *fakeWA) UploadReader(ctx context.Context, r io.Reader, tempFile io.ReadWriteSeeker, mediaType whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	f.mu.Lock()
	f.uploading++
	f.maxUploading = max(f.maxUploading, f.uploading)
	gate := f.uploadGate
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.uploading--
		f.mu.Unlock()
	}()
	if gate != nil {
		<-gate
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return whatsmeow.UploadResponse{}, err
	}
	f.mu.Lock()
	f.uploads = append(f.uploads, uploadCall{data, mediaType})
	f.mu.Unlock()
	return whatsmeow.UploadResponse{
		URL: "https://mmg.whatsapp.net/fake", DirectPath: "/v/fake", MediaKey: []byte("media-key"),
		FileEncSHA256: []byte("enc-sha"), FileSHA256: []byte("sha"), FileLength: uint64(len(data)),
	}, nil
}

func (f *fakeWA) DownloadToFile(ctx context.Context, msg whatsmeow.DownloadableMessage, file whatsmeow.File) error {
	f.mu.Lock()
	f.downloads = append(f.downloads, msg.GetDirectPath())
	expired := f.expired[msg.GetDirectPath()]
	f.mu.Unlock()
	if expired {
		return fmt.Errorf("%w (fake)", whatsmeow.ErrMediaDownloadFailedWith404)
	}
	_, err := file.Write([]byte("downloaded"))
	return err
}

func (f *fakeWA) SendMediaRetryReceipt(ctx context.Context, info *types.MessageInfo, mediaKey []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retryReceipts = append(f.retryReceipts, retryReceipt{*info, mediaKey})
	return nil
}

func (f *fakeWA) DecryptReaction(ctx context.Context, evt *events.Message) (*waE2E.ReactionMessage, error) {
	if f.realSecrets {
		return f.Client.DecryptReaction(ctx, evt)
	}
	return nil, errors.New("no secrets in tests")
}

func (f *fakeWA) DecryptSecretEncryptedMessage(ctx context.Context, evt *events.Message) (*waE2E.Message, error) {
	if f.realSecrets {
		return f.Client.DecryptSecretEncryptedMessage(ctx, evt)
	}
	return nil, errors.New("no secrets in tests")
}

func (f *fakeWA) IsOnWhatsApp(ctx context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error) {
	f.mu.Lock()
	f.lookups++
	f.mu.Unlock()
	var out []types.IsOnWhatsAppResponse
	for _, p := range phones {
		if r, ok := f.onWhatsApp[p]; ok {
			out = append(out, r)
		} else {
			out = append(out, types.IsOnWhatsAppResponse{Query: p})
		}
	}
	return out, nil
}

func (f *fakeWA) groupQueries() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.groupInfoCalls
}

func (f *fakeWA) GetGroupInfo(ctx context.Context, jid types.JID) (*types.GroupInfo, error) {
	f.mu.Lock()
	f.groupInfoCalls++
	f.mu.Unlock()
	if g, ok := f.groups[jid]; ok {
		return g, nil
	}
	return nil, whatsmeow.ErrGroupNotFound
}

func (f *fakeWA) GetJoinedGroups(ctx context.Context) ([]*types.GroupInfo, error) {
	var out []*types.GroupInfo
	for _, g := range f.groups {
		out = append(out, g)
	}
	return out, nil
}

func (f *fakeWA) GetProfilePictureInfo(ctx context.Context, jid types.JID, params *whatsmeow.GetProfilePictureParams) (*types.ProfilePictureInfo, error) {
	if f.pictureErr != nil {
		return nil, f.pictureErr
	}
	if pic, ok := f.pictures[jid]; ok {
		return pic, nil
	}
	return nil, whatsmeow.ErrProfilePictureNotSet
}

func (f *fakeWA) SendChatPresence(ctx context.Context, jid types.JID, state types.ChatPresence, media types.ChatPresenceMedia) error {
	f.mu.Lock()
	f.presences = append(f.presences, presenceCall{jid, state})
	f.mu.Unlock()
	return nil
}

func (f *fakeWA) MarkRead(ctx context.Context, ids []types.MessageID, ts time.Time, chat, sender types.JID, extra ...types.ReceiptType) error {
	f.mu.Lock()
	f.reads = append(f.reads, readCall{ids, chat, sender})
	f.mu.Unlock()
	return nil
}

func (f *fakeWA) lastSent(t *testing.T) sentMessage {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) == 0 {
		t.Fatal("nothing was sent to WhatsApp")
	}
	return f.sent[len(f.sent)-1]
}
