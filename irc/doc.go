// Package irc is Ferry's IRC network: every Matrix user with `user`
// permission gets their own IRC connection per configured network
// (bouncer-style), channels are rooms shared by all Ferry users in them,
// and PMs are per-user DM rooms.
//
// Choices worth knowing (see ids.go for the permanent ID encodings):
//
//   - Power levels: owner/admin (q, a) 75, op 50, halfop 25, voice 10.
//     They are applied when a portal room is created; later MODE changes
//     are reported as ChatInfoChange members, which the core does not yet
//     turn into power levels.
//   - Ghosts join eagerly from NAMES; `lazy_ghosts: true` is refused.
//   - Other people's JOIN/PART/QUIT/KICK/NICK/MODE/TOPIC in a channel are
//     bridged by one Ferry login only (the smallest login ID among the
//     Ferry logins in the channel), so several Ferry users in a channel do
//     not multiply them. Messages are queued by every login and
//     deduplicated by the core through their MessageID (msgid, else a hash
//     with a stated time window).
//   - Lines from Ferry logins' own nicks in channels are never bridged as
//     ghost messages (they came from Matrix), nor are lines inside a
//     chathistory batch or older than our JOIN (history replays).
//   - Media from Matrix is sent as "[file: <name>]": plain homeserver
//     links do not work with authenticated media, and signed public URLs
//     are not implemented yet.
//   - Passwords (`irc password`, `irc sasl`) are kept in the login's
//     metadata, not yet encrypted at rest.
package irc
