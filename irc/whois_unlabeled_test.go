package irc

import (
	"testing"
)

// TestWhoisUnlabeledLeavesAPMRefusal: without labels, a WHOIS of bob
// that runs as a PM to bob fails (he has just quit) sees two 401s for
// bob: the PM's and its own, then 318. The WHOIS answers with one; the
// other still tells the PM room that what was sent to bob did not
// arrive, which would otherwise be lost without a word.
func TestWhoisUnlabeledLeavesAPMRefusal(t *testing.T) {
	cl, host := channelClient(t)
	w := &whoisCollect{nick: cl.fold("bob"), started: true, done: make(chan struct{})}
	cl.lock.Lock()
	cl.whois = w
	cl.lock.Unlock()
	cl.handle(line(t, ":srv.test 401 me Bob :No such nick/channel")) // the PM's
	cl.handle(line(t, ":srv.test 401 me Bob :No such nick/channel")) // the WHOIS's
	cl.handle(line(t, ":srv.test 318 me Bob :End of /WHOIS list."))
	select {
	case <-w.done:
	default:
		t.Fatal("the WHOIS did not end at 318")
	}
	got := notices(t, host.take())
	if len(got) != 1 || got[0].Portal != cl.currentPMKey("bob") {
		t.Errorf("notices %+v, want one in the PM room with bob", got)
	}
	cl.lock.Lock()
	defer cl.lock.Unlock()
	if n := len(w.msgs); n != 2 || w.msgs[0].Command != "401" || w.msgs[1].Command != "318" {
		t.Errorf("the WHOIS collected %v, want one 401 and 318", w.msgs)
	}
}
