package wasim

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.mau.fi/whatsmeow/binary"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	waLog "go.mau.fi/whatsmeow/util/log"
	"google.golang.org/protobuf/proto"
)

// rawClient is a hand-driven client connection: whatsmeow's own socket
// and Noise code, but stanzas chosen by the test.
type rawClient struct {
	ns     *socket.NoiseSocket
	frames chan []byte
}

func dialRaw(t *testing.T, sim *Sim, noise *keys.KeyPair, payload *waWa6.ClientPayload) *rawClient {
	t.Helper()
	ctx := t.Context()
	fs := socket.NewFrameSocket(waLog.Noop, sim.HTTPClient())
	if err := fs.Connect(ctx); err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { fs.Close(websocket.StatusNormalClosure) })
	eph := keys.NewKeyPair()
	nh := socket.NewNoiseHandshake()
	nh.Start(socket.NoiseStartPattern, fs.Header)
	nh.Authenticate(eph.Pub[:])
	hello, _ := proto.Marshal(&waWa6.HandshakeMessage{ClientHello: &waWa6.HandshakeMessage_ClientHello{Ephemeral: eph.Pub[:]}})
	if err := fs.SendFrame(hello); err != nil {
		t.Fatal(err)
	}
	var resp waWa6.HandshakeMessage
	select {
	case data := <-fs.Frames:
		if err := proto.Unmarshal(data, &resp); err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no server hello")
	}
	sh := resp.GetServerHello()
	serverEph := [32]byte(sh.GetEphemeral())
	nh.Authenticate(sh.GetEphemeral())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(nh.MixSharedSecretIntoKey(*eph.Priv, serverEph))
	static, err := nh.Decrypt(sh.GetStatic())
	must(err)
	must(nh.MixSharedSecretIntoKey(*eph.Priv, [32]byte(static)))
	_, err = nh.Decrypt(sh.GetPayload())
	must(err)
	encStatic := nh.Encrypt(noise.Pub[:])
	must(nh.MixSharedSecretIntoKey(*noise.Priv, serverEph))
	payloadBytes, _ := proto.Marshal(payload)
	finish, _ := proto.Marshal(&waWa6.HandshakeMessage{ClientFinish: &waWa6.HandshakeMessage_ClientFinish{
		Static: encStatic, Payload: nh.Encrypt(payloadBytes),
	}})
	must(fs.SendFrame(finish))
	rc := &rawClient{frames: make(chan []byte, 64)}
	rc.ns, err = nh.Finish(ctx, fs, func(_ context.Context, b []byte) {
		select {
		case rc.frames <- append([]byte(nil), b...):
		default:
		}
	}, func(context.Context, *socket.NoiseSocket, bool) {})
	must(err)
	return rc
}

func (rc *rawClient) sendNode(t *testing.T, n waBinary.Node) {
	t.Helper()
	data, err := binary.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	if err = rc.ns.SendFrame(t.Context(), data); err != nil {
		t.Fatalf("send %s: %v", n.Tag, err)
	}
}

// waitIQ waits for the server's answer to the IQ with id.
func (rc *rawClient) waitIQ(t *testing.T, id string) *waBinary.Node {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f := <-rc.frames:
			n, err := unmarshalNode(f)
			if err == nil && n.Tag == "iq" && n.Attrs["id"] == id {
				return n
			}
		case <-deadline:
			t.Fatalf("no answer to IQ %s", id)
			return nil
		}
	}
}

// TestMalformedStanzasAreSurvived: a logged-in connection sends
// undecodable frames and stanzas with missing or mistyped parts for
// every handler; the simulator neither panics (which would end the test
// binary) nor stops serving the connection, which still answers a ping.
func TestMalformedStanzasAreSurvived(t *testing.T) {
	e := newEnv(t)
	phone := e.phone("15550001111", "Alice")
	c := e.newClient("alice")
	e.pair(c, phone)
	id := *c.cli.Store.ID
	c.cli.Disconnect()

	rc := dialRaw(t, e.sim, c.cli.Store.NoiseKey, &waWa6.ClientPayload{
		Username: proto.Uint64(id.UserInt()), Device: proto.Uint32(uint32(id.Device)),
	})
	for _, raw := range [][]byte{{}, {0}, {2, 1, 2, 3}, {0, 248, 200}, {0, 252, 255, 1}} {
		if err := rc.ns.SendFrame(t.Context(), raw); err != nil {
			t.Fatal(err)
		}
	}
	str := "not a JID"
	nodes := []waBinary.Node{
		{Tag: "iq"},
		{Tag: "iq", Attrs: waBinary.Attrs{"id": "1", "type": "get"}},
		{Tag: "iq", Attrs: waBinary.Attrs{"id": "2", "type": "get", "xmlns": "encrypt"}, Content: []waBinary.Node{{Tag: "key", Content: []waBinary.Node{{Tag: "user", Attrs: waBinary.Attrs{"jid": str}}}}}},
		{Tag: "iq", Attrs: waBinary.Attrs{"id": "3", "type": "set", "xmlns": "encrypt"}, Content: []waBinary.Node{{Tag: "list"}, {Tag: "skey", Content: []byte("x")}}},
		{Tag: "iq", Attrs: waBinary.Attrs{"id": "4", "type": "get", "xmlns": "usync"}, Content: []waBinary.Node{{Tag: "usync", Content: []waBinary.Node{{Tag: "list", Content: []waBinary.Node{{Tag: "user", Content: []waBinary.Node{{Tag: "contact", Content: []byte("@@")}}}}}}}}},
		{Tag: "iq", Attrs: waBinary.Attrs{"id": "5", "type": "set", "xmlns": "w:g2", "to": types.GroupServerJID}, Content: []waBinary.Node{{Tag: "create", Content: []waBinary.Node{{Tag: "participant"}}}}},
		{Tag: "iq", Attrs: waBinary.Attrs{"id": "6", "type": "set", "xmlns": "w:g2", "to": types.NewJID("1", types.GroupServer)}, Content: []waBinary.Node{{Tag: "add"}}},
		{Tag: "iq", Attrs: waBinary.Attrs{"id": "7", "type": "get", "xmlns": "w:profile:picture", "target": types.NewJID("1", types.GroupServer)}},
		{Tag: "iq", Attrs: waBinary.Attrs{"id": "8", "type": "set", "xmlns": "md"}, Content: []waBinary.Node{{Tag: "link_code_companion_reg"}}},
		{Tag: "iq", Attrs: waBinary.Attrs{"id": "9", "type": "set", "xmlns": "w:m"}},
		{Tag: "iq", Attrs: waBinary.Attrs{"id": "10", "type": "result"}},
		{Tag: "message"},
		{Tag: "message", Attrs: waBinary.Attrs{"id": "m1", "to": str}},
		{Tag: "message", Attrs: waBinary.Attrs{"id": "m2", "to": phone.LID()}, Content: []waBinary.Node{{Tag: "participants", Content: []waBinary.Node{{Tag: "to"}, {Tag: "to", Attrs: waBinary.Attrs{"jid": types.NewJID("1", types.HiddenUserServer)}}}}}},
		{Tag: "message", Attrs: waBinary.Attrs{"id": "m3", "to": types.NewJID("1", types.GroupServer)}},
		{Tag: "message", Attrs: waBinary.Attrs{"id": "m4", "to": types.NewADJID(phone.LID().User, 0, 9)}},
		{Tag: "receipt"},
		{Tag: "receipt", Attrs: waBinary.Attrs{"id": "r1", "to": types.NewJID("1", types.GroupServer)}, Content: []waBinary.Node{{Tag: "list", Content: []waBinary.Node{{Tag: "item"}}}}},
		{Tag: "ack", Attrs: waBinary.Attrs{"id": 5, "class": "message"}},
		{Tag: "presence", Attrs: waBinary.Attrs{"type": "subscribe", "to": str}},
		{Tag: "chatstate", Attrs: waBinary.Attrs{"to": types.NewJID("1", types.GroupServer)}},
		{Tag: "bogus", Content: []byte("?")},
	}
	for _, n := range nodes {
		rc.sendNode(t, n)
	}
	rc.sendNode(t, waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"id": "ping", "type": "get", "xmlns": "w:p", "to": types.ServerJID}, Content: []waBinary.Node{{Tag: "ping"}}})
	if res := rc.waitIQ(t, "ping"); res.Attrs["type"] != "result" {
		t.Errorf("ping answered %s", res)
	}

	// The same stanzas from a connection that has not paired yet.
	unpaired := dialRaw(t, e.sim, keys.NewKeyPair(), &waWa6.ClientPayload{
		DevicePairingData: &waWa6.ClientPayload_DevicePairingRegistrationData{ERegid: []byte{1}},
	})
	for _, n := range nodes {
		unpaired.sendNode(t, n)
	}
	unpaired.sendNode(t, waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"id": "last", "type": "get", "xmlns": "w:p", "to": types.ServerJID}})
	if res := unpaired.waitIQ(t, "last"); res.Attrs["type"] != "error" {
		t.Errorf("unpaired connection's IQ answered %s, want an error", res)
	}
}

// TestHandshakeGarbageIsRejected: connections that send a wrong header,
// an undecodable hello or nothing at all are dropped without affecting
// the simulator, which then pairs a real client as usual.
func TestHandshakeGarbageIsRejected(t *testing.T) {
	e := newEnv(t)
	for _, msg := range [][]byte{
		[]byte("GET / HTTP/1.1"),
		append(append([]byte{}, socket.WAConnHeader...), 0, 0, 3, 1, 2, 3),
		append(append([]byte{}, socket.WAConnHeader...), 0, 0, 2, 0x12, 0x00),
		append(append([]byte{}, socket.WAConnHeader...), 0xff, 0xff),
	} {
		ws, _, err := websocket.Dial(t.Context(), "wss://web.whatsapp.com/ws/chat", &websocket.DialOptions{HTTPClient: e.sim.HTTPClient()})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		if err = ws.Write(t.Context(), websocket.MessageBinary, msg); err != nil {
			t.Fatalf("write: %v", err)
		}
		_ = ws.CloseNow()
	}
	phone := e.phone("15550001111", "Alice")
	c := e.newClient("alice")
	e.pair(c, phone)
}
