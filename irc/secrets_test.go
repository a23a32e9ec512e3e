package irc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/network"
)

func testKey(b byte) string {
	key := make([]byte, 32)
	for i := range key {
		key[i] = b + byte(i)
	}
	return base64.StdEncoding.EncodeToString(key)
}

func testBox(t *testing.T, b byte) *secretBox {
	t.Helper()
	box, err := parseSecretKey(testKey(b))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

const aliceLogin network.LoginID = "test/@alice:ex.org"

func TestSecretRoundTrip(t *testing.T) {
	box := testBox(t, 1)
	for _, plain := range []string{"hunter2", "", "päss wörd with spaces", strings.Repeat("x", 500)} {
		sealed, err := box.seal(aliceLogin, secretFieldPassword, plain)
		if err != nil {
			t.Fatal(err)
		}
		if plain != "" && strings.Contains(sealed, plain) {
			t.Errorf("sealed value %q shows the password", sealed)
		}
		got, err := box.open(aliceLogin, secretFieldPassword, sealed)
		if err != nil || got != plain {
			t.Errorf("round trip of %q gave %q, %v", plain, got, err)
		}
	}
	a, _ := box.seal(aliceLogin, secretFieldPassword, "same")
	b, _ := box.seal(aliceLogin, secretFieldPassword, "same")
	if a == b {
		t.Errorf("two seals of one value are equal (nonce reused?): %s", a)
	}
}

func TestSecretWrongKeyTamperedAndMoved(t *testing.T) {
	box := testBox(t, 1)
	sealed, err := box.seal(aliceLogin, secretFieldPassword, "hunter2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testBox(t, 2).open(aliceLogin, secretFieldPassword, sealed); err == nil {
		t.Errorf("another key opened the value")
	}
	raw, _ := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, secretVersion))
	for i := range raw {
		bad := append([]byte(nil), raw...)
		bad[i] ^= 0x01
		if _, err := box.open(aliceLogin, secretFieldPassword, secretVersion+base64.RawStdEncoding.EncodeToString(bad)); err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	for _, bad := range []string{"", "hunter2", secretVersion, secretVersion + "!!!", secretVersion + "AAAA"} {
		if _, err := box.open(aliceLogin, secretFieldPassword, bad); err == nil {
			t.Errorf("%q opened", bad)
		}
	}
	// Bound to the login and the field.
	if _, err := box.open("test/@mallory:ex.org", secretFieldPassword, sealed); err == nil {
		t.Errorf("the value opened for another login")
	}
	if _, err := box.open(aliceLogin, secretFieldSASL, sealed); err == nil {
		t.Errorf("the server password opened as the SASL password")
	} else if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestSecretKeyConfig(t *testing.T) {
	cfg, err := parseYAML(t, "secret_key: "+testKey(7)+"\nnetworks: {}\n")
	if err != nil || cfg.secrets == nil {
		t.Fatalf("a good key: %v", err)
	}
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	for text, want := range map[string]string{
		"secret_key: " + short:   "secret_key: decodes to 16 bytes, needs 32",
		"secret_key: not*base64": "secret_key: not valid base64",
	} {
		_, err := parseYAML(t, text)
		if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
			t.Errorf("%s: got %v, want %q and how to make a key", text, err, want)
		}
	}
	cfg, err = parseYAML(t, "networks: {}\n")
	if err != nil || cfg.secrets != nil {
		t.Errorf("no key: %v, %v", cfg.secrets, err)
	}
}

// stateHost records the states a login reports.
type stateHost struct {
	fakeHost
	mu     sync.Mutex
	states []network.State
	saved  []*network.Login
}

func (h *stateHost) ReportState(_ network.LoginID, st network.State) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.states = append(h.states, st)
}

func (h *stateHost) SaveLogin(_ context.Context, l *network.Login) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	copied := *l
	h.saved = append(h.saved, &copied)
	return nil
}

func connectorWithKey(t *testing.T, key string) (*Connector, *stateHost) {
	t.Helper()
	host := &stateHost{}
	c := New()
	t.Cleanup(c.cancel)
	text := "networks:\n  test:\n    address: 127.0.0.1:1\n    sasl: true\n"
	if key != "" {
		text = "secret_key: " + key + "\n" + text
	}
	cfg, err := parseYAML(t, text)
	if err != nil {
		t.Fatal(err)
	}
	c.host, c.cfg = host, cfg
	return c, host
}

// TestSecretWrongKeyReportsBadCredentials: a password sealed under another
// key makes the login report bad credentials and not connect at all.
func TestSecretWrongKeyReportsBadCredentials(t *testing.T) {
	c, host := connectorWithKey(t, testKey(1))
	sealed, err := testBox(t, 2).seal(aliceLogin, secretFieldPassword, "hunter2")
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(loginMeta{Network: "test", Nick: "alice", Password: sealed})
	client, err := c.LoadLogin(context.Background(), &network.Login{ID: aliceLogin, User: "@alice:ex.org", Metadata: meta})
	if err != nil {
		t.Fatal(err)
	}
	cl := client.(*Client)
	cl.Connect(context.Background())
	defer cl.Disconnect()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		host.mu.Lock()
		states := append([]network.State(nil), host.states...)
		host.mu.Unlock()
		for _, st := range states {
			if st.Kind == network.StateTransientDisconnect {
				t.Fatalf("the login tried to connect: %+v", st)
			}
			if st.Kind == network.StateBadCredentials {
				// The state message is Markdown: the key's name is escaped
				// in it (network.Literal), shown as written.
				if !strings.Contains(st.Message, network.Literal(errSecretKeyChanged)) {
					t.Errorf("bad credentials said %q", st.Message)
				}
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no bad-credentials state")
}

// TestSecretLegacyPlaintextSealed: plaintext passwords from before
// encryption are rewritten sealed when the login loads, and still used.
func TestSecretLegacyPlaintextSealed(t *testing.T) {
	c, host := connectorWithKey(t, testKey(1))
	raw := []byte(`{"network":"test","nick":"alice","password":"hunter2","sasl_account":"alice","sasl_password":"s3cret"}`)
	client, err := c.LoadLogin(context.Background(), &network.Login{ID: aliceLogin, User: "@alice:ex.org", Metadata: raw})
	if err != nil {
		t.Fatal(err)
	}
	cl := client.(*Client)
	if len(host.saved) != 1 {
		t.Fatalf("saved %d times", len(host.saved))
	}
	stored := string(host.saved[0].Metadata)
	if strings.Contains(stored, "hunter2") || strings.Contains(stored, "s3cret") || !strings.Contains(stored, `"password_enc":"v1:`) {
		t.Errorf("stored metadata %s", stored)
	}
	if string(cl.login.Metadata) != stored {
		t.Errorf("the client kept the old metadata")
	}
	meta := cl.meta
	pw, sasl, err := cl.credentials(&meta)
	if err != nil || pw != "hunter2" || sasl != "s3cret" {
		t.Errorf("credentials: %q %q %v", pw, sasl, err)
	}

	// Without a key, plaintext stays usable (the admin is warned).
	c2, host2 := connectorWithKey(t, "")
	client, err = c2.LoadLogin(context.Background(), &network.Login{ID: aliceLogin, User: "@alice:ex.org", Metadata: raw})
	if err != nil {
		t.Fatal(err)
	}
	cl = client.(*Client)
	meta = cl.meta
	if pw, sasl, err = cl.credentials(&meta); err != nil || pw != "hunter2" || sasl != "s3cret" || len(host2.saved) != 0 {
		t.Errorf("without a key: %q %q %v, saved %d", pw, sasl, err, len(host2.saved))
	}
}

// TestSecretCommandsNeedKey: without secret_key, `irc password` and
// `irc sasl` refuse and store nothing; with it they store sealed values.
func TestSecretCommandsNeedKey(t *testing.T) {
	for _, key := range []string{"", testKey(3)} {
		c, host := connectorWithKey(t, key)
		meta, _ := json.Marshal(loginMeta{Network: "test", Nick: "alice"})
		client, err := c.LoadLogin(context.Background(), &network.Login{ID: aliceLogin, User: "@alice:ex.org", Metadata: meta})
		if err != nil {
			t.Fatal(err)
		}
		var replies []string
		cmd := func(args ...string) error {
			return map[int]func(context.Context, *network.CommandEvent) error{2: c.cmdPassword, 3: c.cmdSASL}[len(args)](context.Background(), &network.CommandEvent{
				User: "@alice:ex.org", Args: args, RawArgs: strings.Join(args, " "),
				Logins: []*network.Login{{ID: aliceLogin}},
				Client: func(network.LoginID) (network.Client, bool) { return client, true },
				Reply:  func(s string) { replies = append(replies, s) },
			})
		}
		for _, args := range [][]string{{"test", "hunter2"}, {"test", "alice", "s3cret"}} {
			err := cmd(args...)
			if key == "" {
				if msg := network.UserMessage(err, ""); !strings.Contains(msg, "irc.secret_key") || !strings.Contains(msg, "openssl rand -base64 32") {
					t.Errorf("%v without a key: %v", args, err)
				}
			} else if err != nil {
				t.Errorf("%v with a key: %v", args, err)
			}
		}
		for _, l := range host.saved {
			if strings.Contains(string(l.Metadata), "hunter2") || strings.Contains(string(l.Metadata), "s3cret") {
				t.Errorf("stored in the clear: %s", l.Metadata)
			}
		}
		if key == "" && len(host.saved) != 0 {
			t.Errorf("stored something without a key")
		}
		if key != "" {
			cl := client.(*Client)
			cl.lock.Lock()
			meta := cl.meta
			cl.lock.Unlock()
			pw, sasl, err := cl.credentials(&meta)
			if err != nil || pw != "hunter2" || sasl != "s3cret" || meta.SASLAccount != "alice" {
				t.Errorf("stored credentials: %q %q %v", pw, sasl, err)
			}
		}
	}
}
