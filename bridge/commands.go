package bridge

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// command is a management-bot command: the core's own and those networks
// contribute. Each is declared next to its handler with its help line.
type command struct {
	words       []string
	args        string
	description string
	level       network.Level
	sensitive   bool
	handler     func(ctx context.Context, cmd *commandContext) error
}

type commandContext struct {
	b    *Bridge
	evt  *event.Event
	user id.UserID
	room id.RoomID
	// inManagementRoom: the command came from the sender's management
	// room, which no one else can read.
	inManagementRoom bool
	level            network.Level
	args             []string
	raw              string
}

func (c *commandContext) reply(markdown string) {
	if c.inManagementRoom {
		c.b.notice(c.b.ctx, c.room, markdown)
		return
	}
	// A portal may be a direct chat the user opened with a ghost, where
	// the bot is no member: the portal knows who can answer there.
	if _, err := c.b.Portals.SendNotice(c.b.ctx, c.room, noticeContent(markdown)); err != nil {
		zerolog.Ctx(c.b.ctx).Err(err).Stringer("room_id", c.room).Msg("Failed to answer a command")
	}
}

func (c *commandContext) replyf(format string, args ...any) {
	c.reply(fmt.Sprintf(format, args...))
}

// command is text, a command, as a code span the user can type in c's
// room: with the prefix outside the management room, where "help" alone
// would go to the chat. text may hold outside words (an account's name,
// with a backtick in it): the code span holds them as they are.
func (c *commandContext) command(text string) string {
	if c.inManagementRoom {
		return network.CodeSpan(text)
	}
	return network.CodeSpan(commandPrefix + " " + text)
}

func (b *Bridge) buildCommands() []*command {
	cmds := []*command{
		b.cmdHelp(), b.cmdVersion(), b.cmdStatus(), b.cmdCancel(), b.cmdList(), b.cmdLogin(), b.cmdLogout(), b.cmdReconnect(), b.cmdRelay(),
	}
	for _, net := range b.order {
		for _, nc := range b.networks[net].connector.Commands() {
			cmds = append(cmds, b.wrapNetworkCommand(net, nc))
		}
	}
	return cmds
}

// handleCommandMessage runs the command in a message. prefixed is true
// outside the management room, where commands start with "!ferry".
func (b *Bridge) handleCommandMessage(ctx context.Context, evt *event.Event, prefixed bool) {
	msg := evt.Content.AsMessage()
	if msg == nil || msg.MsgType != event.MsgText {
		return
	}
	body := strings.TrimSpace(msg.Body)
	c := &commandContext{b: b, evt: evt, user: evt.Sender, room: evt.RoomID, inManagementRoom: !prefixed, level: b.Level(evt.Sender)}
	// original is the message the command was first sent in: the edited
	// one for an edit.
	original := evt.ID
	// An edit without its new content (m.new_content) is no valid one,
	// but an edit all the same: read as a message, its fallback ("* "
	// and the new text) was taken for a login's answer, a second one.
	edited := msg.RelatesTo.GetReplaceID() != ""
	if edited {
		// The correction of a command the bot did not know runs as
		// corrected (the edit's own body is a fallback, "* " and the
		// new text). No other edit runs: the command it edits already
		// ran (or was a login answer, taken by the question).
		original = msg.RelatesTo.GetReplaceID()
		if msg.NewContent == nil || msg.NewContent.MsgType != event.MsgText {
			b.refuseEdit(ctx, c, original)
			return
		}
		switch b.edits.takeCorrection(original, evt.Sender) {
		case correctionIgnored:
			zerolog.Ctx(ctx).Debug().Stringer("edited_event_id", original).Msg("Ignored an edit of another sender's command")
			return
		case correctionRefused:
			b.refuseEdit(ctx, c, original)
			return
		}
		body = strings.TrimSpace(msg.NewContent.Body)
	}
	// ended is set when this message may be the late answer to a login
	// question for a secret (login_late.go).
	var ended endedQuestion
	var late bool
	if !edited && b.takeLoginInput(ctx, evt, body) {
		// The login asks here: in the management room, or with the
		// prefix in one that was it when the login began.
		return
	}
	// Outside the management room, the prefix said that the message is
	// a command; in it, the prefix is optional: people type it from
	// habit or paste a command written for other rooms (`!ferry relay
	// on`).
	body, _ = cutCommandPrefix(body)
	if !edited {
		// With the prefix too: an earlier management room, where a
		// login asked and ended (login_late.go), needs it now, and the
		// user may type the password with it; it must not be shown
		// back as an unknown command. Only such a room may hold the
		// mark, never a portal.
		ended, late = b.lateAnswer(evt.Sender, evt.RoomID, body)
	}
	if c.level == network.LevelNone {
		refusal := "You are not allowed to use this bridge. Ask its administrator for access."
		if cmd := b.secretCommand(strings.Fields(body)); cmd != nil && !c.inManagementRoom {
			// As a refusal for too little permission: the password in
			// it is for no one else here, nor in its typo.
			zerolog.Ctx(ctx).Info().Str("command", strings.Join(cmd.words, " ")).Msg("Refused a command with a secret from a user without permission")
			refusal += " " + b.deleteSeenSecret(ctx, c, original)
		}
		c.reply(refusal)
		return
	}
	words := strings.Fields(body)
	if len(words) == 0 {
		c.reply("Send " + c.command("help") + " for the list of commands.")
		return
	}
	cmd := b.findCommand(words)
	if cmd == nil && late {
		b.answerLate(ctx, c, ended)
		return
	}
	if cmd == nil && !edited {
		// "!ferry <answer>" is the answer in every room a login asks
		// in, so here too it is taken for what it may be, the prefix
		// typed or not, a secret asked for or not: it is not shown
		// back as an unknown command, and the user is told where the
		// login waits.
		if asking, secret := b.questionElsewhere(evt.Sender, evt.RoomID); asking != "" {
			b.answerElsewhere(ctx, c, asking, secret)
			return
		}
	}
	if cmd == nil {
		b.edits.wasUnknown(original, evt.Sender)
		if typo := b.mistypedSecret(words); typo != nil {
			if !c.inManagementRoom {
				b.deleteMistypedSecret(ctx, c, typo, original)
				return
			}
			// No one else reads it here, and an edit may correct it:
			// it stays, but its stored body is emptied once handled,
			// as the command's spelt right is (holdsSecret).
			b.secretEvents.Store(evt.ID, struct{}{})
		}
		c.reply(b.unknownCommand(c, words))
		return
	}
	if c.level < cmd.level {
		refusal := c.tooLittlePermission(cmd)
		if cmd.sensitive && !c.inManagementRoom {
			// Refused or not, the password in it is for no one else.
			zerolog.Ctx(ctx).Info().Str("command", strings.Join(cmd.words, " ")).Msg("Refused a command with a secret its sender may not run")
			refusal += " " + b.deleteSeenSecret(ctx, c, original)
		}
		c.reply(refusal)
		return
	}
	c.args = words[len(cmd.words):]
	c.raw = rawArgs(body, len(cmd.words))
	log := zerolog.Ctx(ctx).With().Str("command", strings.Join(cmd.words, " ")).Logger()
	if !cmd.sensitive {
		log = log.With().Strs("args", c.args).Logger()
	}
	if cmd.sensitive && !c.inManagementRoom {
		// Like a login: a password belongs where no one else reads it.
		// Others here may have read it already, which the user must know.
		log.Info().Msg("Refused a command with a secret outside the management room")
		c.replyf("⚠️ Not run here: send `%s` in your management room (your direct chat with me), where no one else can read it. %s",
			strings.Join(cmd.words, " "), b.deleteSeenSecret(ctx, c, original))
		return
	}
	log.Info().Msg("Running command")
	if cmd.sensitive {
		b.holdsSecret(evt.ID)
	}
	err := cmd.handler(log.WithContext(ctx), c)
	if cmd.sensitive {
		b.redactSecret(log.WithContext(ctx), c, true)
		if original != evt.ID && !b.redactEarlierSecret(log.WithContext(ctx), c, original) {
			// The typo this edit corrected held the secret too.
			c.reply("⚠️ I could not delete the message you edited, which holds the secret too; please delete it yourself.")
		}
	}
	if err != nil {
		log.Warn().Err(err).Msg("Command failed")
		c.reply("⚠️ " + userMessage(err, "Something went wrong; the bridge log has the details."))
	}
}

// tooLittlePermission refuses cmd to c's sender, whose level is below it.
func (c *commandContext) tooLittlePermission(cmd *command) string {
	return fmt.Sprintf("`%s` needs `%s` permission; you have `%s`.", strings.Join(cmd.words, " "), cmd.level, c.level)
}

// deleteSeenSecret deletes a command with a secret that was not run,
// sent where others read it, and says for the answer what became of it.
// original is the message c's edit corrected (c's own ID when c is no
// edit): the typo held the secret too, and was read as long.
func (b *Bridge) deleteSeenSecret(ctx context.Context, c *commandContext, original id.EventID) string {
	b.holdsSecret(c.evt.ID)
	deleted := b.redactSecret(ctx, c, false)
	if original != c.evt.ID && !b.redactEarlierSecret(ctx, c, original) {
		deleted = false
	}
	if !deleted {
		// The bot may not delete others' messages in a room of theirs.
		return "Others in this room can read your message, and I could not delete it: delete it yourself, and change the password in it if that matters."
	}
	return "Others in this room could read your message until I deleted it; change the password in it if that matters."
}

// redactSecret deletes the command message, which holds a secret, and
// reports whether it could; tell: say so in the room when it could not.
func (b *Bridge) redactSecret(ctx context.Context, c *commandContext, tell bool) bool {
	err := b.Matrix.Redact(ctx, b.Matrix.Bot(), c.room, c.evt.ID, "contained a secret")
	if err == nil {
		return true
	}
	zerolog.Ctx(ctx).Warn().Err(err).Msg("Failed to redact command with a secret")
	if tell {
		c.reply("⚠️ I could not delete your message with the secret; please delete it yourself.")
	}
	return false
}

// cutCommandPrefix takes a leading "!ferry" word off body (trimmed), and
// reports whether it did. It is the one rule for the prefix, in every
// room: in any case ("!Ferry help", as a phone's keyboard capitalises
// it), alone ("!ferry" asks what to send) or before any space (a line
// break, or the no-break space some phone keyboards put after a word:
// the words are read with strings.Fields, which counts it). A portal read only "!ferry" in lower case followed by a
// space as a command, and sent the rest to the chat.
func cutCommandPrefix(body string) (rest string, found bool) {
	if len(body) < len(commandPrefix) || !strings.EqualFold(body[:len(commandPrefix)], commandPrefix) {
		return body, false
	}
	rest = body[len(commandPrefix):]
	if first, _ := utf8.DecodeRuneInString(rest); rest != "" && !unicode.IsSpace(first) {
		return body, false // "!ferryx" is a word of its own
	}
	return strings.TrimSpace(rest), true
}

// unknownCommand answers words that name no command. A first word that
// starts commands (a network's: "irc", "whatsapp") was not the mistake:
// the answer names the two words and lists that family's commands.
func (b *Bridge) unknownCommand(c *commandContext, words []string) string {
	if _, replayed := b.replayed.Load(c.evt.ID); replayed && b.replayedMayBeSecret(c.user, c.room) {
		// Sent before the last stop, maybe as the answer to a login
		// that asked then, and ended with the stop, which the stored
		// questions do not tell: a password, which is not to be shown
		// back.
		return "Your message sent before Ferry restarted names no command; it is not shown back, in case it held a password. Send " +
			c.command("help") + " for the list of commands."
	}
	var family []string
	for _, cmd := range b.commands {
		if len(cmd.words) > 1 && strings.EqualFold(cmd.words[0], words[0]) && cmd.level <= c.level {
			family = append(family, "`"+strings.Join(cmd.words, " ")+"`")
		}
	}
	if len(family) == 0 {
		return fmt.Sprintf("Unknown command `%s`. Send %s for the list of commands.", sanitizeWord(words[0]), c.command("help"))
	}
	typed := words[0]
	if len(words) > 1 {
		typed += " " + words[1] // no further: a password may follow
	}
	return fmt.Sprintf("Unknown command `%s`. The `%s` commands: %s. Send %s for all commands.",
		sanitizeWord(typed), strings.ToLower(sanitizeWord(words[0])), strings.Join(family, ", "), c.command("help"))
}

// findCommand picks the command whose name matches most leading words.
func (b *Bridge) findCommand(words []string) *command {
	var best *command
	for _, cmd := range b.commands {
		if len(cmd.words) > len(words) || (best != nil && len(cmd.words) <= len(best.words)) {
			continue
		}
		match := true
		for i, w := range cmd.words {
			if !strings.EqualFold(w, words[i]) {
				match = false
				break
			}
		}
		if match {
			best = cmd
		}
	}
	return best
}

// rawArgs is body without its first n words, spacing inside kept.
func rawArgs(body string, n int) string {
	rest := strings.TrimSpace(body)
	for i := 0; i < n; i++ {
		if idx := strings.IndexFunc(rest, unicode.IsSpace); idx >= 0 {
			rest = strings.TrimSpace(rest[idx:])
		} else {
			return ""
		}
	}
	return rest
}

// maxEchoedWord is the most bytes of a word an answer shows back.
const maxEchoedWord = 40

// sanitizeWord keeps an echoed word short and free of Markdown tricks.
func sanitizeWord(w string) string {
	w = strings.Map(func(r rune) rune {
		if r == '`' || r < 0x20 {
			return -1
		}
		return r
	}, w)
	if len(w) > maxEchoedWord {
		// At a character's start: cut inside one, the answer would
		// end in an invalid byte sequence.
		cut := maxEchoedWord
		for !utf8.RuneStart(w[cut]) {
			cut--
		}
		w = w[:cut] + "…"
	}
	return w
}

func (b *Bridge) wrapNetworkCommand(net network.NetworkID, nc network.Command) *command {
	return &command{
		words:       strings.Fields(nc.Name),
		args:        nc.Args,
		description: nc.Description,
		level:       nc.Level,
		sensitive:   nc.Sensitive,
		handler: func(ctx context.Context, c *commandContext) error {
			var logins []*network.Login
			for _, le := range b.userLogins(c.user, net) {
				logins = append(logins, le.login.Load())
			}
			return nc.Handler(ctx, &network.CommandEvent{
				User: c.user, Level: c.level, Args: c.args, RawArgs: c.raw, Logins: logins,
				Client: func(login network.LoginID) (network.Client, bool) {
					le := b.loginEntry(net, login)
					if le == nil || le.login.Load().User != c.user {
						return nil, false
					}
					return le.client, true
				},
				Reply: c.reply,
			})
		},
	}
}

func (b *Bridge) cmdHelp() *command {
	return &command{
		words: []string{"help"}, description: "List the commands you can use.", level: network.LevelRelay,
		handler: func(ctx context.Context, c *commandContext) error {
			var sb strings.Builder
			if c.inManagementRoom {
				sb.WriteString("**Commands** (in other rooms, start them with `!ferry`):\n\n")
			} else {
				// "In other rooms" read here as other than this one.
				sb.WriteString("**Commands** (here, start them with `!ferry`, as in `!ferry status`; in your management room, no need):\n\n")
			}
			for _, cmd := range b.commands {
				if cmd.level > c.level {
					continue
				}
				name := strings.Join(cmd.words, " ")
				if cmd.args != "" {
					name += " " + cmd.args
				}
				fmt.Fprintf(&sb, "* `%s` — %s\n", name, cmd.description)
			}
			c.reply(sb.String())
			return nil
		},
	}
}

func (b *Bridge) cmdVersion() *command {
	return &command{
		words: []string{"version"}, description: "Show Ferry's version.", level: network.LevelRelay,
		handler: func(ctx context.Context, c *commandContext) error {
			names := make([]string, 0, len(b.order))
			for _, net := range b.order {
				names = append(names, b.NetworkName(net))
			}
			networks := strings.Join(names, ", ")
			if networks == "" {
				networks = "none"
			}
			c.replyf("Ferry %s (networks: %s)", Version, networks)
			return nil
		},
	}
}

func (b *Bridge) cmdStatus() *command {
	return &command{
		words: []string{"status"}, description: "Show your logins and their connection state.", level: network.LevelUser,
		handler: func(ctx context.Context, c *commandContext) error {
			logins, unstarted := b.userLogins(c.user, ""), b.userUnstarted(c.user, "")
			if len(logins)+len(unstarted) == 0 {
				c.reply("You have no logins. Send " + c.command("help") + " to see how to log in.")
				return nil
			}
			var sb strings.Builder
			for _, le := range logins {
				le.lock.Lock()
				st, since := le.state, le.stateSince
				le.lock.Unlock()
				// The state's message is the network's Markdown, as in
				// the notices: its code spans are meant, its server's
				// words are not (stateMarkdown).
				fmt.Fprintf(&sb, "* **%s** %s: %s since %s\n", b.NetworkName(le.net), network.Literal(le.login.Load().RemoteName), stateMarkdown(st), since.UTC().Format("2006-01-02 15:04:05 MST"))
			}
			for _, u := range unstarted {
				sb.WriteString(b.statusUnstarted(c, u))
			}
			c.reply(sb.String())
			return nil
		},
	}
}

func (b *Bridge) cmdCancel() *command {
	return &command{
		words: []string{"cancel"}, description: "Abort a running login.", level: network.LevelUser,
		handler: func(ctx context.Context, c *commandContext) error {
			if !b.cancelLoginFlow(c.user) {
				c.reply("Nothing to cancel.")
			}
			return nil
		},
	}
}

func (b *Bridge) cmdList() *command {
	return &command{
		words: []string{"list"}, description: "List your bridged chats.", level: network.LevelUser,
		handler: func(ctx context.Context, c *commandContext) error {
			portals, err := b.Portals.UserPortals(ctx, c.user)
			if err != nil {
				return err
			}
			if len(portals) == 0 {
				c.reply("You have no bridged chats yet.")
				return nil
			}
			sort.Slice(portals, func(i, j int) bool { return portals[i].Key.String() < portals[j].Key.String() })
			var sb strings.Builder
			for _, p := range portals {
				name := p.Name
				if name == "" {
					name = string(p.Key.Chat)
				}
				// The name is the remote chat's, which anyone naming a group
				// there chose: Markdown in it must not make a link of its own.
				fmt.Fprintf(&sb, "* %s: [%s](https://matrix.to/#/%s)\n", b.NetworkName(p.Key.Network), network.Literal(name), p.RoomID)
			}
			c.reply(sb.String())
			return nil
		},
	}
}

func (b *Bridge) loginSyntax() string {
	var parts []string
	for _, net := range b.order {
		for _, flow := range b.networks[net].connector.LoginFlows() {
			// Without arguments (WhatsApp's QR code) no space is left
			// inside the code span: "`login whatsapp `".
			typed := strings.TrimSpace(fmt.Sprintf("login %s %s", net, flow.Args))
			parts = append(parts, fmt.Sprintf("`%s` (%s)", typed, flow.Description))
		}
	}
	if len(parts) == 0 {
		return "no networks are enabled"
	}
	return strings.Join(parts, "; ")
}

func (b *Bridge) cmdLogin() *command {
	return &command{
		words: []string{"login"}, args: "<network> [...]", level: network.LevelUser,
		description: "Link a remote account: " + b.loginSyntax() + ".",
		handler: func(ctx context.Context, c *commandContext) error {
			if len(b.order) == 0 {
				c.reply("This Ferry bridges no networks: there is nothing to log in to.")
				return nil
			}
			if !c.inManagementRoom {
				// A login shows codes that link an account and asks for
				// passwords: others in the room could use the one, and
				// in a portal the other would be bridged to the chat.
				// Said first: the usage below is for the management
				// room, and typed here as it reads it would go to the chat.
				return network.UserErrorf("log in from your management room (your direct chat with me), where no one else can see the codes or what you type")
			}
			if len(c.args) == 0 {
				c.replyf("Name the network to log in to (%s). Usage: %s.", b.networkList(), b.loginSyntax())
				return nil
			}
			opened, err := b.roomOpenedBefore(ctx, c.room)
			if err != nil {
				// Unchecked, the room may be open to anyone: no password
				// is asked for there.
				return &network.UserError{
					Message: fmt.Sprintf("I could not check who may join or read this room, so I will not log you in yet: send `login %s` again in a moment", sanitizeWord(c.args[0])),
					Err:     fmt.Errorf("check the login's room: %w", err),
				}
			}
			if opened != "" {
				zerolog.Ctx(ctx).Info().Str("opened", opened).Msg("Refused a login in a room open to anyone")
				return network.UserErrorf("anyone may join this room or read it, so I will not log you in here: invite me to a new direct chat, and send `login %s` there", sanitizeWord(c.args[0]))
			}
			return b.startLoginFlow(ctx, c.user, c.room, network.NetworkID(strings.ToLower(c.args[0])), c.args[1:])
		},
	}
}
