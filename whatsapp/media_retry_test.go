package whatsapp

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mau.fi/util/dbutil"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waMmsRetry"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"go.mau.fi/whatsmeow/util/gcmutil"
	"go.mau.fi/whatsmeow/util/hkdfutil"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// expiredImage is an image message whose file WhatsApp's servers no
// longer have (the fake answers 404 for /v/old).
func expiredImage(id string, mediaKey []byte) *events.Message {
	return &events.Message{
		Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: bobPN, Sender: bobPN}, ID: id, Timestamp: msgTime},
		RawMessage: &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			DirectPath: proto.String("/v/old"), MediaKey: mediaKey, Mimetype: proto.String("image/jpeg"),
			FileLength: proto.Uint64(10), FileSHA256: randomBytes(32), FileEncSHA256: randomBytes(32),
			Caption: proto.String("the view"),
		}},
	}
}

// retryNotification is the phone's answer to a media retry receipt as
// WhatsApp's server delivers it: the result encrypted with a key derived
// from the media key, or an <error> when the phone cannot help.
func retryNotification(t *testing.T, msgID string, mediaKey []byte, result *waMmsRetry.MediaRetryNotification, errCode int) *waBinary.Node {
	t.Helper()
	content := []waBinary.Node{{Tag: "rmr", Attrs: waBinary.Attrs{"jid": bobPN, "from_me": "false"}}}
	if result != nil {
		plaintext, err := proto.Marshal(result)
		if err != nil {
			t.Fatal(err)
		}
		iv := randomBytes(12)
		key := hkdfutil.SHA256(mediaKey, nil, []byte("WhatsApp Media Retry Notification"), 32)
		ciphertext, err := gcmutil.Encrypt(key, iv, plaintext, []byte(msgID))
		if err != nil {
			t.Fatal(err)
		}
		content = append(content, waBinary.Node{Tag: "encrypt", Content: []waBinary.Node{
			{Tag: "enc_p", Content: ciphertext}, {Tag: "enc_iv", Content: iv},
		}})
	} else {
		content = append(content, waBinary.Node{Tag: "error", Attrs: waBinary.Attrs{"code": strconv.Itoa(errCode)}})
	}
	return &waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{
		"id": msgID, "t": strconv.FormatInt(msgTime.Unix()+60, 10), "type": "mediaretry", "from": ownPN,
	}, Content: content}
}

// TestExpiredMediaIsAskedForAgain: a download that fails because the file
// expired asks the phone to upload it again and says so; the phone's
// answer, decrypted by whatsmeow's own notification path, becomes an edit
// carrying the file from its new path. A second answer finds no request.
func TestExpiredMediaIsAskedForAgain(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) { testExpiredMediaIsAskedForAgain(t, db.Database) })
}

func testExpiredMediaIsAskedForAgain(t *testing.T, db *dbutil.Database) {
	ctx := context.Background()
	env := newEnv(t, db, "")
	env.wa.expired = map[string]bool{"/v/old": true}
	mediaKey := randomBytes(32)

	env.dispatch(expiredImage("IMG", mediaKey))
	_, handled := env.host.take()
	if len(handled) != 1 {
		t.Fatalf("handled %d events, want the message", len(handled))
	}
	msg := handled[0].(*network.Message)
	_, err := msg.Parts[0].Media(ctx)
	var userErr *network.UserError
	if !errors.As(err, &userErr) || !strings.Contains(userErr.Message, "asked your phone to send it again") {
		t.Fatalf("fetching expired media failed with %v; want a user error saying the phone was asked", err)
	}
	if len(env.wa.retryReceipts) != 1 || env.wa.retryReceipts[0].Info.ID != "IMG" ||
		string(env.wa.retryReceipts[0].MediaKey) != string(mediaKey) || env.wa.retryReceipts[0].Info.Chat != bobPN {
		t.Fatalf("retry receipts sent: %+v", env.wa.retryReceipts)
	}

	answer := retryNotification(t, "IMG", mediaKey, &waMmsRetry.MediaRetryNotification{
		StanzaID: proto.String("IMG"), DirectPath: proto.String("/v/new"), Result: waMmsRetry.MediaRetryNotification_SUCCESS.Enum(),
	}, 0)
	env.cl.cli.DangerousInternals().HandleMediaRetryNotification(ctx, answer)
	_, handled = env.host.take()
	if len(handled) != 1 {
		t.Fatalf("the phone's answer handled %d events, want one edit", len(handled))
	}
	edit, ok := handled[0].(*network.Edit)
	if !ok || edit.Target != "IMG" || len(edit.Parts) != 1 || edit.Parts[0].Media == nil ||
		edit.Sender.User != "4915100000002" || edit.Portal != dmPortal(bobPN) {
		t.Fatalf("the answer became %+v; want an edit of IMG by bob with the file", handled[0])
	}
	if c := edit.Parts[0].Content; c.Body != "the view" || c.FileName == "" {
		t.Errorf("the edit's content %+v lost the caption or file name", c)
	}
	media, err := edit.Parts[0].Media(ctx)
	if err != nil {
		t.Fatalf("downloading the re-uploaded file: %v", err)
	}
	data, _ := io.ReadAll(media.Data)
	media.Data.Close()
	if string(data) != "downloaded" || env.wa.downloads[len(env.wa.downloads)-1] != "/v/new" {
		t.Errorf("got %q from %v; want the file from the new path", data, env.wa.downloads)
	}

	env.cl.cli.DangerousInternals().HandleMediaRetryNotification(ctx, answer)
	if _, handled = env.host.take(); len(handled) != 0 {
		t.Errorf("a second answer to an answered request handled %+v", handled)
	}
}

// TestExpiredMediaThePhoneNoLongerHas: when the phone answers that it has
// no copy, the notice where the file belongs is edited to say so.
func TestExpiredMediaThePhoneNoLongerHas(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, sqliteDB(t), "")
	env.wa.expired = map[string]bool{"/v/old": true}
	mediaKey := randomBytes(32)
	env.dispatch(expiredImage("GONE", mediaKey))
	_, handled := env.host.take()
	if _, err := handled[0].(*network.Message).Parts[0].Media(ctx); err == nil {
		t.Fatal("expired media downloaded")
	}
	env.cl.cli.DangerousInternals().HandleMediaRetryNotification(ctx, retryNotification(t, "GONE", mediaKey, nil, 2))
	_, handled = env.host.take()
	if len(handled) != 1 {
		t.Fatalf("handled %d events", len(handled))
	}
	edit, ok := handled[0].(*network.Edit)
	if !ok || edit.Target != "GONE" || edit.Parts[0].Media != nil ||
		edit.Parts[0].Content.Body != "Failed to bridge a file: the phone no longer has this file" {
		t.Errorf("the answer became %+v", handled[0])
	}
}

// TestDownloadDeadlineGrowsWithTheFile: small files get the base
// deadline; a file too large to fetch in it at 1 MiB/s gets longer.
func TestDownloadDeadlineGrowsWithTheFile(t *testing.T) {
	small := &waE2E.ImageMessage{FileLength: proto.Uint64(2 << 20)}
	huge := &waE2E.DocumentMessage{FileLength: proto.Uint64(2 << 30)}
	if d := downloadDeadline(small); d != downloadTimeout {
		t.Errorf("a 2 MiB photo gets %s, want %s", d, downloadTimeout)
	}
	if d := downloadDeadline(huge); d != 2048*time.Second {
		t.Errorf("a 2 GiB document gets %s, want 2048s", d)
	}
}

// quickMediaRetryRedelivery makes the tries of deliverMediaRetry follow
// each other at once, for the test's duration.
func quickMediaRetryRedelivery(t *testing.T) {
	saved := mediaRetryRedelivery
	t.Cleanup(func() { mediaRetryRedelivery = saved })
	mediaRetryRedelivery = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
}

// askedAgainForIMG sets up an expired image whose re-upload the phone was
// asked for, and returns the phone's (successful) answer.
func askedAgainForIMG(t *testing.T, env *testEnv) *waBinary.Node {
	t.Helper()
	_, answer := askedAgainFor(t, env, expiredImage("IMG", randomBytes(32)))
	return answer
}

// askedAgainFor hands evt, an expired image, to the login and fetches
// its file as the core would, which asks the phone to upload it again;
// it returns the message the core got and the phone's (successful)
// answer, the file at /v/new.
func askedAgainFor(t *testing.T, env *testEnv, evt *events.Message) (*network.Message, *waBinary.Node) {
	t.Helper()
	env.wa.expired = map[string]bool{"/v/old": true}
	env.dispatch(evt)
	_, handled := env.host.take()
	msg := handled[0].(*network.Message)
	if _, err := msg.Parts[0].Media(env.ctx); err == nil {
		t.Fatal("expired media downloaded")
	}
	return msg, retryNotification(t, evt.Info.ID, evt.RawMessage.GetImageMessage().GetMediaKey(), &waMmsRetry.MediaRetryNotification{
		StanzaID: proto.String(evt.Info.ID), DirectPath: proto.String("/v/new"), Result: waMmsRetry.MediaRetryNotification_SUCCESS.Enum(),
	}, 0)
}

// TestReuploadedFileIsBridgedAfterTheCoreFailedToTakeIt: WhatsApp sends
// the phone's answer once, so when the core cannot take the file at first,
// Ferry tries again itself until it is in Matrix, and only then forgets
// the request.
func TestReuploadedFileIsBridgedAfterTheCoreFailedToTakeIt(t *testing.T) {
	quickMediaRetryRedelivery(t)
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, "")
		answer := askedAgainForIMG(t, env)
		failures := 2
		env.host.handle = func(network.Event) error {
			if failures > 0 {
				failures--
				return errors.New("homeserver down")
			}
			return nil
		}
		env.cl.cli.DangerousInternals().HandleMediaRetryNotification(env.ctx, answer)
		handled := env.waitHandled(t, 3)
		for i, evt := range handled {
			if edit, ok := evt.(*network.Edit); !ok || edit.Target != "IMG" || len(edit.Parts) != 1 || edit.Parts[0].Media == nil {
				t.Errorf("try %d handed over %+v; want the edit with the file", i, evt)
			}
		}
		waitForgotten(t, env, "IMG")
		time.Sleep(20 * time.Millisecond)
		if _, handled = env.host.take(); len(handled) != 3 {
			t.Errorf("%d tries; want none after the one that succeeded", len(handled))
		}
	})
}

// waitForgotten waits until the re-upload request for msgID is deleted
// (after the event was handed over, so not at once).
func waitForgotten(t *testing.T, env *testEnv, msgID string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		_, msg, err := env.conn.mediaRetries.get(env.ctx, ownLogin, msgID)
		if err != nil {
			t.Fatal(err)
		} else if msg == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("the request for %s is still stored after its answer was bridged", msgID)
		}
	}
}

// TestReuploadRequestOutlivesADeliveryThatFailsForGood: after the last
// try the request is kept, so the same answer arriving again is bridged.
func TestReuploadRequestOutlivesADeliveryThatFailsForGood(t *testing.T) {
	quickMediaRetryRedelivery(t)
	env := newEnv(t, sqliteDB(t), "")
	answer := askedAgainForIMG(t, env)
	env.host.handle = func(network.Event) error { return errors.New("homeserver down") }
	env.cl.cli.DangerousInternals().HandleMediaRetryNotification(env.ctx, answer)
	tries := len(mediaRetryRedelivery) + 1
	env.waitHandled(t, tries)
	time.Sleep(20 * time.Millisecond)
	if _, handled := env.host.take(); len(handled) != tries {
		t.Errorf("%d tries, want %d", len(handled), tries)
	}
	if _, msg, err := env.conn.mediaRetries.get(env.ctx, ownLogin, "IMG"); err != nil || msg == nil {
		t.Fatalf("the request was forgotten (%v) although its answer never reached Matrix", err)
	}
	env.host.handle = nil
	env.cl.cli.DangerousInternals().HandleMediaRetryNotification(env.ctx, answer)
	if _, handled := env.host.take(); len(handled) != 1 {
		t.Errorf("the repeated answer handed over %d events, want the edit", len(handled))
	}
}

// TestReuploadedFileIsBridgedAfterARestart: the core cannot take the file
// the phone uploaded again, and Ferry stops before its next try. WhatsApp
// does not send the answer again, so the next run bridges the stored one
// once connected, and forgets it then.
func TestReuploadedFileIsBridgedAfterARestart(t *testing.T) {
	saved := mediaRetryRedelivery
	t.Cleanup(func() { mediaRetryRedelivery = saved })
	mediaRetryRedelivery = []time.Duration{time.Hour}
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, "")
		answer := askedAgainForIMG(t, env)
		env.host.handle = func(network.Event) error { return errors.New("homeserver down") }
		env.cl.cli.DangerousInternals().HandleMediaRetryNotification(env.ctx, answer)
		env.waitHandled(t, 1) // the first try; the next would come in an hour
		env.conn.Stop(env.ctx)

		restarted := newEnvOn(t, db.Database, env.device)
		restarted.cl.Connect(restarted.ctx)
		waitConnect(t, restarted.wa)
		if _, handled := restarted.host.take(); len(handled) != 0 {
			t.Fatalf("handed over before the login connected: %+v", handled)
		}
		restarted.dispatch(&events.Connected{})
		handled := restarted.waitHandled(t, 1)
		edit, ok := handled[0].(*network.Edit)
		if !ok || edit.Target != "IMG" || len(edit.Parts) != 1 || edit.Parts[0].Media == nil || edit.Portal != dmPortal(bobPN) {
			t.Fatalf("after the restart: %+v; want the edit of IMG with the file", handled[0])
		}
		media, err := edit.Parts[0].Media(restarted.ctx)
		if err != nil {
			t.Fatalf("downloading the re-uploaded file: %v", err)
		}
		media.Data.Close()
		if d := restarted.wa.downloads; len(d) != 1 || d[0] != "/v/new" {
			t.Errorf("downloads %v; want the file's new path", d)
		}
		waitForgotten(t, restarted, "IMG")
		restarted.conn.Stop(restarted.ctx)

		again := newEnvOn(t, db.Database, env.device)
		again.cl.Connect(again.ctx)
		again.dispatch(&events.Connected{})
		time.Sleep(200 * time.Millisecond)
		if _, handled := again.host.take(); len(handled) != 0 {
			t.Errorf("bridged again at a second restart: %+v", handled)
		}
	})
}
