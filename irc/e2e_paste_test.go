package irc

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/internal/testbed"
)

var linkPattern = regexp.MustCompile(`https?://\S+`)

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s answered %s", url, resp.Status)
	}
	body, _ := io.ReadAll(resp.Body)
	return body
}

// TestE2EPastesAndFiles: a Matrix message longer than the paste threshold
// reaches IRC as its first line and a link to the whole text; a Matrix
// file as its name and a link; both links serve the content.
func TestE2EPastesAndFiles(t *testing.T) {
	e := startEnvWith(t, testbed.InspIRCdOptions{}, "    paste_threshold: 3\n")
	ctx := e.h.Context(2 * time.Minute)
	bob := e.peer("bob")
	bob.send("JOIN", "#paste")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	alice, mgmt, _ := e.loggedInAlice()
	room := e.joinChannel(alice, mgmt, "#paste")
	bob.expect("alice's JOIN", isCmd("JOIN", "alice"), nil)

	long := "first line\nsecond\nthird\nfourth\nfifth"
	alice.SendText(t, room, long)
	m := bob.expect("the paste line", isCmd("PRIVMSG", "alice"), nil)
	text := m.Param(1)
	if !strings.HasPrefix(text, "first line") || !strings.Contains(text, "5 lines") {
		t.Fatalf("the long message reached IRC as %q", text)
	}
	link := linkPattern.FindString(text)
	if got := fetch(t, strings.TrimSuffix(link, ")")); string(got) != long {
		t.Errorf("the paste link serves %q", got)
	}
	// Nothing else of the long message reached the channel.
	select {
	case extra := <-bob.msgs:
		if extra.Command == "PRIVMSG" {
			t.Errorf("more lines reached IRC: %v", extra)
		}
	case <-time.After(500 * time.Millisecond):
	}

	data := []byte("file contents for IRC")
	up, err := alice.UploadBytesWithName(ctx, data, "text/plain", "notes.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err = alice.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgFile, Body: "notes.txt", URL: up.ContentURI.CUString()}); err != nil {
		t.Fatal(err)
	}
	m = bob.expect("the file line", func(m *irc.Message) bool {
		return isCmd("PRIVMSG", "alice")(m) && strings.HasPrefix(m.Param(1), "notes.txt: ")
	}, nil)
	if got := fetch(t, linkPattern.FindString(m.Param(1))); !bytes.Equal(got, data) {
		t.Errorf("the file link serves %q", got)
	}
}
