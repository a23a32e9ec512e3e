package irc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/irc/ircconn"
)

// validateParam refuses what could end or shift an IRC command when used
// as a middle parameter: CR, LF, NUL, spaces, a leading ':' and commas.
func validateParam(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty")
	case strings.ContainsAny(p, "\r\n\x00"):
		return fmt.Errorf("contains a line break or NUL")
	case strings.ContainsAny(p, " ,"):
		return fmt.Errorf("contains a space or a comma")
	case p[0] == ':':
		return fmt.Errorf("starts with ':'")
	}
	for _, r := range p {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("contains a control character")
		}
	}
	return nil
}

// validateNick checks a nick against the characters every server accepts
// and NICKLEN (0: unknown).
func validateNick(nick string, nickLen int) error {
	if err := validateParam(nick); err != nil {
		return network.UserErrorf("bad nick: %s", err)
	}
	if ircconn.SanitizeNick(nick) != nick {
		return network.UserErrorf("%s is not a valid IRC nick (letters, digits and []\\`_^{|}-, not starting with a digit or -)", network.CodeSpan(stripControl(nick)))
	}
	if nickLen > 0 && len(nick) > nickLen {
		return network.UserErrorf("nicks are at most %d characters on this network", nickLen)
	}
	return nil
}

// clientFor finds the user's client on the named network.
func (c *Connector) clientFor(cmd *network.CommandEvent, netName string) (*Client, error) {
	netName = strings.ToLower(netName)
	if c.cfg.Networks[netName] == nil {
		return nil, network.UserErrorf("unknown IRC network %s; networks: %s", network.CodeSpan(stripControl(netName)), c.networkList())
	}
	for _, l := range cmd.Logins {
		if loginNetwork(l.ID) != netName {
			continue
		}
		if client, ok := cmd.Client(l.ID); ok {
			if cl, ok := client.(*Client); ok {
				return cl, nil
			}
		}
	}
	return nil, network.UserErrorf("you are not logged in to %s; send `login irc %s` first", netName, netName)
}

// notConnected refuses a command that needs the connection to netName
// while it is down, and says how to see why and bring it back.
func notConnected(netName string) error {
	return network.UserErrorf("not connected to %s right now (see `status`); send `reconnect irc` to connect again", netName)
}

func (c *Connector) Commands() []network.Command {
	return []network.Command{
		{Name: "irc networks", Description: "List the IRC networks and your connection to each.", Level: network.LevelUser, Handler: c.cmdNetworks},
		{Name: "irc nick", Args: "<network> <nick>", Description: "Change your nick.", Level: network.LevelUser, Handler: c.cmdNick},
		{Name: "irc join", Args: "<network> <#channel> [key]", Description: "Join a channel.", Level: network.LevelUser, Handler: c.cmdJoin},
		{Name: "irc pm", Args: "<network> <nick>", Description: "Open a private chat with someone.", Level: network.LevelUser, Handler: c.cmdPM},
		{Name: "irc whois", Args: "<network> <nick>", Description: "Ask the server who someone is.", Level: network.LevelUser, Handler: c.cmdWhois},
		{Name: "irc sasl", Args: "<network> <account> <password>", Description: "Store SASL PLAIN credentials and reconnect.", Level: network.LevelUser, Sensitive: true, Handler: c.cmdSASL},
		{Name: "irc password", Args: "<network> <password>", Description: "Store the server password and reconnect.", Level: network.LevelUser, Sensitive: true, Handler: c.cmdPassword},
		{Name: "irc raw", Args: "<network> <line>", Description: "Send a validated IRC command.", Level: network.LevelAdmin, Handler: c.cmdRaw},
	}
}

func (c *Connector) cmdNetworks(ctx context.Context, cmd *network.CommandEvent) error {
	var b strings.Builder
	b.WriteString("IRC networks:\n")
	for _, name := range c.cfg.names() {
		state := "not logged in (`login irc " + name + "`)"
		for _, l := range cmd.Logins {
			if loginNetwork(l.ID) != name {
				continue
			}
			state = "logged in, not connected"
			if client, ok := cmd.Client(l.ID); ok {
				if cl, ok := client.(*Client); ok {
					if nick := cl.currentNick(); nick != "" {
						state = "connected as " + network.Literal(nick)
					}
				}
			}
		}
		fmt.Fprintf(&b, "* **%s** (%s): %s\n", name, c.cfg.Networks[name].Address, state)
	}
	cmd.Reply(b.String())
	return nil
}

func needArgs(cmd *network.CommandEvent, n int, usage string) error {
	if len(cmd.Args) != n {
		return network.UserErrorf("usage: `%s`", usage)
	}
	return nil
}

func (c *Connector) cmdNick(ctx context.Context, cmd *network.CommandEvent) error {
	if err := needArgs(cmd, 2, "irc nick <network> <nick>"); err != nil {
		return err
	}
	cl, err := c.clientFor(cmd, cmd.Args[0])
	if err != nil {
		return err
	}
	nick := cmd.Args[1]
	nickLen := 0
	conn := cl.currentConn()
	if conn != nil {
		nickLen = conn.ISupport().NickLen
	}
	if err = validateNick(nick, nickLen); err != nil {
		return err
	}
	var previous string
	cl.saveMeta(func(m *loginMeta) { previous, m.Nick = m.Nick, nick })
	if conn == nil {
		cmd.Reply(fmt.Sprintf("You will ask %s for the nick %s when connected.", cl.netName, network.Literal(nick)))
		return nil
	}
	if cl.currentNick() == nick {
		cmd.Reply(fmt.Sprintf("You are %s on %s already.", network.Literal(nick), cl.netName))
		return nil
	}
	msg := &irc.Message{Command: "NICK", Params: []string{nick}}
	if !conn.HasCap("labeled-response") {
		reply, err := cl.nickUnlabeled(ctx, conn, msg, nick)
		if err != nil {
			return err
		}
		cmd.Reply(nickAnswer(cl, reply, nick, previous))
		return nil
	}
	ch, err := conn.SendLabeled(msg)
	if err != nil {
		return err
	}
	reply, _ := awaitLabeled(ctx, conn, ch) // no reply: "Asked ..."
	cmd.Reply(nickAnswer(cl, reply, nick, previous))
	return nil
}

// nickAnswer tells the user what the server said to their NICK. A nick
// the server refuses outright is forgotten again (the previous one stays
// wanted); a nick in use stays wanted and is asked for again later.
func nickAnswer(cl *Client, reply ircconn.LabeledReply, nick, previous string) string {
	for _, m := range reply.Messages {
		reason := network.Literal(stripControl(m.Param(len(m.Params) - 1)))
		switch m.Command {
		case "NICK":
			// The reader hands the NICK to the handler too; saving here as
			// well means the login shows the new name once we answer.
			cl.followNick(m.Param(0))
			return fmt.Sprintf("You are now %s on %s.", network.Literal(stripControl(m.Param(0))), cl.netName)
		case "433", "436", "437":
			if cl.c.ferryHeld(cl.netName, cl.loginID, cl.fold(nick)) {
				// Not asked for again while it is (see nickHeldByFellow).
				return fmt.Sprintf("The nick %s is another Ferry user's on %s; Ferry does not take it from them, and asks for it again only once they no longer use it.", network.Literal(nick), cl.netName)
			}
			return fmt.Sprintf("%s says the nick %s is in use (%s); Ferry will keep asking for it.", cl.netName, network.Literal(nick), reason)
		case "432", "435", "438", "447", "484", "FAIL":
			cl.saveMeta(func(meta *loginMeta) {
				if meta.Nick == nick {
					meta.Nick = previous
				}
			})
			return fmt.Sprintf("%s refused the nick %s: %s", cl.netName, network.Literal(nick), reason)
		}
	}
	return fmt.Sprintf("Asked %s for the nick %s.", cl.netName, network.Literal(nick))
}

func (c *Connector) cmdJoin(ctx context.Context, cmd *network.CommandEvent) error {
	if len(cmd.Args) < 2 || len(cmd.Args) > 3 {
		return network.UserErrorf("usage: `irc join <network> <#channel> [key]`")
	}
	cl, err := c.clientFor(cmd, cmd.Args[0])
	if err != nil {
		return err
	}
	key := ""
	if len(cmd.Args) == 3 {
		key = cmd.Args[2]
	}
	if err = cl.joinChannel(cmd.Args[1], key, joinCommanded); err != nil {
		return err
	}
	cmd.Reply(fmt.Sprintf("Joining %s on %s; you will be invited to its room.", network.Literal(cmd.Args[1]), cl.netName))
	return nil
}

// clientAndNick reads "<network> <nick>": the user's client on that
// network and a valid nick.
func (c *Connector) clientAndNick(cmd *network.CommandEvent, usage string) (*Client, string, error) {
	if err := needArgs(cmd, 2, usage); err != nil {
		return nil, "", err
	}
	cl, err := c.clientFor(cmd, cmd.Args[0])
	if err != nil {
		return nil, "", err
	}
	nick := cmd.Args[1]
	if err = validateNick(nick, 0); err != nil {
		return nil, "", err
	}
	return cl, nick, nil
}

func (c *Connector) cmdPM(ctx context.Context, cmd *network.CommandEvent) error {
	cl, nick, err := c.clientAndNick(cmd, "irc pm <network> <nick>")
	if err != nil {
		return err
	}
	cl.seeNick(nick)
	cl.rememberPMNick(nick)
	key := cl.currentPMKey(nick)
	name := nick
	cl.queue(&network.ChatResync{
		Meta: network.Meta{Portal: key, Sender: network.Sender{User: cl.pmSender(nick)}, CreatePortal: true},
		Info: &network.ChatInfo{Name: &name, IsDirect: true, OtherUser: cl.pmSender(nick)},
	})
	cmd.Reply(fmt.Sprintf("Opening a private chat with %s on %s.", network.Literal(nick), cl.netName))
	return nil
}

func (c *Connector) cmdWhois(ctx context.Context, cmd *network.CommandEvent) error {
	cl, nick, err := c.clientAndNick(cmd, "irc whois <network> <nick>")
	if err != nil {
		return err
	}
	conn := cl.currentConn()
	if conn == nil {
		return notConnected(cl.netName)
	}
	var reply ircconn.LabeledReply
	var ok bool
	if conn.HasCap("labeled-response") {
		ch, err := conn.SendLabeled(&irc.Message{Command: "WHOIS", Params: []string{nick}})
		if err != nil {
			return err
		}
		reply, ok = awaitLabeledWithin(ctx, conn, ch, whoisTimeout.get())
	} else {
		reply, ok = cl.whoisUnlabeled(ctx, conn, nick)
	}
	switch {
	case !ok && ctx.Err() != nil:
		return ctx.Err()
	case !ok:
		return &network.UserError{Message: "no answer from " + cl.netName + " to the WHOIS of " + network.Literal(nick), Err: errNoWhoisAnswer}
	case reply.Err != nil:
		return &network.UserError{Message: "the connection to " + cl.netName + " dropped before the WHOIS of " + network.Literal(nick) + " was answered", Err: reply.Err}
	}
	for _, m := range reply.Messages {
		if m.Command == "263" { // RPL_TRYAGAIN: the server would not answer now
			return &network.UserError{
				Message: cl.netName + " asked to try again later, and did not answer the WHOIS of " + network.Literal(nick) + ": " +
					network.Literal(stripControl(m.Trailing())),
				Err: errWhoisTryAgain,
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "WHOIS %s:\n", network.Literal(nick))
	for _, m := range reply.Messages {
		if len(m.Params) > 1 {
			// Much of it (real name, away message) the person wrote:
			// Markdown in it stays text in the bot's notice.
			fmt.Fprintf(&b, "* %s\n", network.Literal(stripControl(strings.Join(m.Params[1:], " "))))
		}
	}
	cmd.Reply(b.String())
	return nil
}

// whoisTimeout bounds the wait for the server's answer to `irc whois`:
// the command's context is the core's, long enough for a login, and a
// server that drops the WHOIS (a bouncer, a filter) must not leave the
// user waiting for it. Tests shorten it.
var whoisTimeout = newDuration(30 * time.Second)

var errNoWhoisAnswer = errors.New("WHOIS not answered in time")

var errWhoisTryAgain = errors.New("WHOIS refused for now (263 RPL_TRYAGAIN)")

const passwordNote = " Your message with the password was redacted, but it was stored on your homeserver too; change the password if that matters."

// passwordArgs splits a command's text into its first n words and the
// password after them: the rest of the line, inner spaces kept. PASS
// sends it as a trailing parameter and SASL PLAIN encodes it whole, so
// both allow spaces, and a password of several words must not be taken
// for too many arguments. (The core trims the line's ends, so a password
// cannot end in a space.) ok is false without a password.
func passwordArgs(cmd *network.CommandEvent, n int) (words []string, password string, ok bool) {
	const spaces = " \t\r\n" // the core's word separators
	rest := strings.Trim(cmd.RawArgs, spaces)
	for range n {
		i := strings.IndexAny(rest, spaces)
		if i <= 0 {
			return nil, "", false
		}
		words = append(words, rest[:i])
		rest = strings.TrimLeft(rest[i:], spaces)
	}
	return words, rest, rest != ""
}

func (c *Connector) cmdSASL(ctx context.Context, cmd *network.CommandEvent) error {
	words, password, ok := passwordArgs(cmd, 2)
	if !ok {
		return network.UserErrorf("usage: `irc sasl <network> <account> <password>`")
	}
	cl, err := c.clientFor(cmd, words[0])
	if err != nil {
		return err
	}
	if !cl.cfg.SASL {
		return network.UserErrorf("SASL is not enabled for %s: ask the admin to set `sasl: true` for it under `irc.networks`", cl.netName)
	}
	account := words[1]
	if strings.ContainsAny(account+password, "\r\n\x00") {
		return network.UserErrorf("credentials cannot contain line breaks")
	}
	sealed, err := c.sealSecret(cl.loginID, secretFieldSASL, password)
	if err != nil {
		return err
	}
	cl.saveMeta(func(m *loginMeta) {
		m.SASLAccount, m.SASLPassword, m.LegacySASLPassword = account, sealed, ""
	})
	cl.reconnect()
	cmd.Reply("Stored your SASL account for " + cl.netName + "; reconnecting." + passwordNote)
	return nil
}

func (c *Connector) cmdPassword(ctx context.Context, cmd *network.CommandEvent) error {
	words, password, ok := passwordArgs(cmd, 1)
	if !ok {
		return network.UserErrorf("usage: `irc password <network> <password>`")
	}
	cl, err := c.clientFor(cmd, words[0])
	if err != nil {
		return err
	}
	// PASS carries it as its trailing parameter: spaces, commas and a
	// leading ':' are the password's; only a line break or NUL would cut
	// the line.
	if strings.ContainsAny(password, "\r\n\x00") {
		return network.UserErrorf("bad password: contains a line break or NUL")
	}
	sealed, err := c.sealSecret(cl.loginID, secretFieldPassword, password)
	if err != nil {
		return err
	}
	cl.saveMeta(func(m *loginMeta) { m.Password, m.LegacyPassword = sealed, "" })
	cl.reconnect()
	cmd.Reply("Stored your server password for " + cl.netName + "; reconnecting." + passwordNote)
	return nil
}

func (c *Connector) cmdRaw(ctx context.Context, cmd *network.CommandEvent) error {
	netName, line, ok := strings.Cut(strings.TrimSpace(cmd.RawArgs), " ")
	if !ok || strings.TrimSpace(line) == "" {
		return network.UserErrorf("usage: `irc raw <network> <line>`")
	}
	cl, err := c.clientFor(cmd, netName)
	if err != nil {
		return err
	}
	if strings.ContainsAny(line, "\r\n\x00") {
		return network.UserErrorf("the line contains a line break or NUL")
	}
	msg, err := ircconn.ParseLine(strings.TrimSpace(line))
	if err != nil {
		return network.UserErrorf("not an IRC line: %s", network.Literal(err.Error()))
	}
	msg.Prefix = nil
	if err = ircconn.Validate(msg); err != nil {
		return network.UserErrorf("refused: %s", network.Literal(err.Error()))
	}
	conn := cl.currentConn()
	if conn == nil {
		return notConnected(cl.netName)
	}
	if err = cl.sendNoted(conn, msg); err != nil {
		return err
	}
	cmd.Reply("Sent.")
	return nil
}
