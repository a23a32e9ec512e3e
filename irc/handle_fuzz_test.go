package irc

import (
	"context"
	"testing"

	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// fuzzHost answers every Host call a handler makes.
type fuzzHost struct{ fakeHost }

func (h *fuzzHost) QueueEvent(network.LoginID, network.Event)           {}
func (h *fuzzHost) ReportState(network.LoginID, network.State)          {}
func (h *fuzzHost) NotifyUser(context.Context, network.LoginID, string) {}
func (h *fuzzHost) GhostMXID(u network.UserID) id.UserID {
	return id.UserID("@g_" + string(u) + ":ex.org")
}
func (h *fuzzHost) RekeyPortal(context.Context, network.PortalKey, network.PortalKey) (bool, error) {
	return false, nil
}

// FuzzHandleLine hands any line a server could send to a connected
// login's handlers (without handle's recover): nothing may panic.
func FuzzHandleLine(f *testing.F) {
	for _, s := range []string{
		":bob!b@h PRIVMSG #c :hi alice",
		":bob!b@h PRIVMSG alice :\x01ACTION waves\x01",
		":bob!b@h PRIVMSG alice :\x01",
		":bob!b@h NOTICE @#c :ops only",
		"@+draft/react=x;+draft/reply=abc :bob!b@h TAGMSG #c",
		":bob!b@h REDACT #c abc :gone",
		":bob!b@h JOIN #c acct :Real Name",
		":bob!b@h PART #c :bye",
		":op!o@h KICK #c bob :out",
		":bob!b@h QUIT :*.net *.split",
		":bob!b@h NICK :Bob[",
		":op!o@h MODE #c +ovk-l bob bob key",
		":op!o@h MODE #c +b",
		":srv 324 alice #c +ik secret",
		":srv 332 alice #c :topic",
		":op!o@h TOPIC #c :new topic",
		":srv 353 alice = #c :@+bob!b@h ~carol +",
		":srv 366 alice #c :End",
		":srv 474 alice #c :banned",
		":srv 404 alice #c :cannot send",
		":srv 401 alice bob :no such nick",
		":srv 477 alice #c :Cannot send to channel",
		":srv FAIL REDACT REDACT_FORBIDDEN #c abc :not yours",
		":srv FAIL REDACT INVALID_TARGET bob :no",
		"BATCH +x chathistory #c",
		"@batch=x :bob!b@h PRIVMSG #c :old",
		"BATCH -x",
		"BATCH +",
		":srv 433 * alice :in use",
	} {
		f.Add(s)
	}
	addr := scriptedServerISupport(f, "", "CHANTYPES=#& CASEMAPPING=rfc1459 PREFIX=(qaohv)~&@%+ STATUSMSG=@+ CHANMODES=beI,k,l,imnpst", func(string, *scriptedPeer) {})
	cl, _, _ := clientOn(f, addr)
	cl.c.host = &fuzzHost{}
	f.Fuzz(func(t *testing.T, raw string) {
		msg, err := ircconn.ParseLine(raw)
		if err != nil {
			return
		}
		cl.dispatch(msg)
	})
}

// FuzzRelayBotLine hands any line to the relay bot's handler (without
// handle's recover), with a login that relayed to #c: nothing may panic.
func FuzzRelayBotLine(f *testing.F) {
	for _, s := range []string{
		":relay!f@h JOIN #c",
		":relay!f@h PART #c",
		":op!o@h KICK #c relay :out",
		":relay!f@h NICK :Relay[",
		":srv 474 relay #c :banned",
		":srv 474 relay",
		":srv 404 relay #c :cannot send",
		":srv 477 relay #c :Cannot send to channel",
		"@label=x :srv 404 relay #c :cannot send",
		"BATCH +b labeled-response",
		"@batch=b :srv 404 relay #c :x",
		"BATCH -b",
	} {
		f.Add(s)
	}
	addr := scriptedServerISupport(f, "", "CHANTYPES=#& CASEMAPPING=rfc1459", func(string, *scriptedPeer) {})
	cl, _, _ := clientOn(f, addr)
	cl.c.host = &fuzzHost{}
	b := cl.c.relayBotFor("test", cl.cfg)
	b.lock.Lock()
	b.nick = "relay"
	b.relayers = map[string]*Client{"#c": cl}
	b.lock.Unlock()
	f.Fuzz(func(t *testing.T, raw string) {
		msg, err := ircconn.ParseLine(raw)
		if err != nil {
			return
		}
		b.dispatch(msg)
	})
}
