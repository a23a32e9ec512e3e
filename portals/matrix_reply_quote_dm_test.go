package portals

import (
	"context"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
)

// quoteClient is a network client that keeps what Send is given.
type quoteClient struct {
	mu   sync.Mutex
	sent []*network.OutgoingMessage
}

func (c *quoteClient) Connect(context.Context) {}
func (c *quoteClient) Disconnect()             {}
func (c *quoteClient) ChatInfo(context.Context, network.ChatID) (*network.ChatInfo, error) {
	return &network.ChatInfo{}, nil
}
func (c *quoteClient) UserInfo(context.Context, network.UserID) (*network.UserInfo, error) {
	return &network.UserInfo{}, nil
}
func (c *quoteClient) Send(_ context.Context, msg *network.OutgoingMessage) (*network.SendResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, msg)
	return &network.SendResult{ID: network.MessageID("sent-" + msg.EventID.String()), Timestamp: time.Now()}, nil
}

// quoteDir is loginDir with a running client for every login.
type quoteDir struct {
	*loginDir
	client network.Client
}

func (d *quoteDir) Client(network.NetworkID, network.LoginID) (network.Client, bool) {
	return d.client, true
}

// A reply sent from Matrix goes to the network with the text it quotes
// (WhatsApp's phones show it above the reply); Ferry keeps no text and
// reads the replied-to event. In a direct chat the user opened with a
// ghost the bot was never invited and cannot read it: the chat's ghost
// reads it instead.
func TestReplyFromMatrixCarriesItsQuoteInADirectChatWithoutTheBot(t *testing.T) {
	dc := newBotlessDirectChat(t)
	ctx := context.Background()
	client := &quoteClient{}
	dir := &loginDir{logins: map[network.LoginID]*network.Login{}}
	dir.set(dc.login)
	dc.p.m.dir = &quoteDir{loginDir: dir, client: client}
	if err := dc.db.Logins.Put(ctx, &database.Login{Network: dc.key.Network, ID: dc.login.ID, UserMXID: dc.alice.UserID}); err != nil {
		t.Fatal(err)
	}
	if err := dc.p.putMember(ctx, dc.alice.UserID, dc.login.ID); err != nil {
		t.Fatal(err)
	}

	const quoted = "see you at the station"
	his, err := dc.bob.Intent().SendText(ctx, dc.room, quoted)
	if err != nil {
		t.Fatal(err)
	}
	err = dc.db.Messages.Put(ctx, &database.Message{
		Portal: dc.key, ID: "msg-his", EventID: his.EventID, RoomID: dc.room,
		Sender: "bob", SenderMXID: dc.bob.Intent().UserID, Timestamp: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "on my way"}
	content.RelatesTo = (&event.RelatesTo{}).SetReplyTo(his.EventID)
	reply, err := dc.alice.Client.SendMessageEvent(ctx, dc.room, event.EventMessage, content)
	if err != nil {
		t.Fatal(err)
	}
	evt := &event.Event{
		Type: event.EventMessage, ID: reply.EventID, RoomID: dc.room, Sender: dc.alice.UserID,
		Timestamp: time.Now().UnixMilli(), Content: event.Content{Parsed: content},
	}
	if err = dc.p.matrixMessage(ctx, evt, true); err != nil {
		t.Fatalf("the reply from Matrix failed: %v", err)
	}
	client.mu.Lock()
	defer client.mu.Unlock()
	if len(client.sent) != 1 {
		t.Fatalf("the network got %d messages, want the reply", len(client.sent))
	}
	got := client.sent[0].ReplyTo
	if got == nil || got.ID != "msg-his" {
		t.Fatalf("the reply went as %+v, want a reply to msg-his", got)
	}
	if got.Text != quoted {
		t.Errorf("the reply went with quote %q, want %q", got.Text, quoted)
	}
}
