// Package irc is Ferry's IRC network: every Matrix user with `user`
// permission gets their own IRC connection per configured network
// (bouncer-style), channels are rooms shared by all Ferry users in them,
// and PMs are per-user DM rooms.
//
// Choices worth knowing (see ids.go for the permanent ID encodings):
//
//   - Power levels: owner/admin (q, a) 75, op 50, halfop 25, voice 10.
//     They are applied when a portal room is created, and later MODE
//     changes follow as ChatInfoChange members.
//   - Ghosts join from NAMES and JOIN, in the background between the
//     portal's messages; with `lazy_ghosts: true` a member's ghost joins
//     only when they first speak (for networks with large channels).
//   - Other people's JOIN/PART/QUIT/KICK/NICK/MODE/TOPIC in a channel are
//     bridged by one Ferry login only (the smallest login ID among the
//     Ferry logins in the channel), so several Ferry users in a channel do
//     not multiply them. Messages are queued by every login and
//     deduplicated by the core through their MessageID (msgid, else a hash
//     with a stated time window).
//   - Lines from Ferry logins' own nicks (and the relay bot's) in channels
//     are never bridged as ghost messages (they came from Matrix), nor are
//     lines inside a chathistory batch or older than our JOIN (history
//     replays); without server-time and msgid, a line read right after
//     our JOIN that was bridged before is taken for a replay (replay.go).
//   - Media from Matrix is sent as "<name>: <link>", and a message longer
//     than paste_threshold lines as its first line and a link to the whole
//     text: the links are the core's signed public media URLs (plain
//     homeserver links need a Matrix account). Without
//     appservice.public_address, files are "[file: <name>]" and long
//     messages are split.
//   - A Matrix message's outcome (matrix_to_remote.go): with echo-message
//     and labeled-response its ID is the msgid of the server's echo (with
//     echo-message and message-tags alone, of the echo with its text,
//     echoes.go), and a
//     labeled refusal (an error numeric such as 404 or 401, or FAIL) fails
//     Send with a UserError in the server's words, for the relay bot too.
//     Without labeled-response a refusal (of a message, a reaction, a
//     deletion, a change) is told in the room as a notice in the
//     server's words (refusals.go), and answers its line (echoes.go).
//     Send returns once the message's last line is written to the socket:
//     lines still waiting for flood control when the connection drops or
//     the chat is left are lost, and a UserError counts them. Written and
//     Placed still fire at the first line's write, so a long paste does
//     not hold up the portal's next message.
//   - Nick mentions become pills (mentions.go): a whole run of nick
//     characters, or one in brackets/backquotes, that casefolds to the
//     nick of someone in the chat (at least 2 characters); Ferry users link
//     to their Matrix account, others to their ghost, and m.mentions lists
//     them. Nothing inside links or URL-looking words is touched.
//   - Relayed messages are "<name> text" (emotes an ACTION "<name> text"),
//     with the name on every piece of a line too long for one; the name
//     loses control characters and IRC codes (so never a CTCP) and is
//     capped at 64 bytes.
//     They go out through the network's relay bot (relay.go), a
//     Ferry-owned connection with nick relay_nick, not the moderator's:
//     it is dialed on the first relayed message (again on the first after
//     it dropped) and JOINs a channel before its first relayed line there,
//     with the channel key the moderator's login knows. Its nick counts as
//     a Ferry nick, so it is never a ghost, member or bridged sender. If it
//     cannot connect or join (e.g. +i), or with relay_allowed false, the
//     send fails with a UserError naming the reason; PMs are never relayed.
//   - Netsplit QUITs ("a.net b.split") are held for netsplitWindow: a nick
//     back within it is neither left nor joined; the rest leave together.
//   - Reconnects back off exponentially with jitter (backoffBase ..
//     backoffMax) and rejoin the saved channels; a Matrix message sent
//     while down fails with a UserError (the core reports it in the room).
//     The login's RemoteName follows the current nick, and a fallback nick
//     is traded for the wanted one every regainInterval or as soon as its
//     holder is seen to QUIT or change nick.
//   - Passwords (`irc password`, `irc sasl`) are kept in the login's
//     metadata sealed with AES-256-GCM under irc.secret_key (secrets.go),
//     bound to the login ID and the field; without the key the commands
//     are refused. Plaintext values from before are sealed on load. Wire
//     logs (trace level) mask PASS and AUTHENTICATE payloads.
//   - Reactions are TAGMSG with +draft/react / +draft/unreact and
//     +draft/reply=<msgid> (reactions.go), deletions REDACT with
//     draft/message-redaction (redactions.go), both ways, where the server
//     offers the cap; only messages with a server msgid ("id:" IDs) can be
//     targeted, and otherwise the user gets a UserError. Reactions and
//     deletions in a channel are bridged by its primary login only.
package irc
