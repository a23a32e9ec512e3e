// Package ircfmt converts message formatting between IRC (mIRC-style control
// codes) and Matrix (org.matrix.custom.html). It imports nothing from the
// rest of Ferry.
//
// IRC to Matrix (IRCToMatrix): each code toggles its style, 0x0F resets
// everything and styles still open at the end are closed, so the HTML is
// always balanced. Ambiguous inputs are read as follows:
//
//   - \x03 takes at most two digits ("\x0312345" is colour 12 then "345");
//     a comma belongs to the code only when a digit follows ("\x034,x" is
//     colour 4 then ",x"); \x03 with no digit resets both colours, so
//     "\x03,5" is a reset followed by the text ",5"; a foreground alone keeps
//     the background; 99 means the default colour.
//   - \x04 takes exactly six hex digits per colour, else it is a reset.
//   - Reverse video becomes explicit colours (swapped; black on white when
//     unset), since Matrix has no equivalent.
//   - A LF (multi-line input) resets formatting, as each IRC line does.
//   - Invalid UTF-8 is replaced first (so bytes split by a code are each
//     replaced), NUL and CR are dropped.
//   - HTML is returned only when some text is formatted; it escapes & < > " '
//     and writes the second and later spaces of a run (and leading spaces) as
//     &nbsp; so that ASCII art survives HTML whitespace collapsing.
//
// Matrix to IRC (MatrixToIRC) runs mautrix's format.HTMLParser with
// callbacks that emit private markers (C0 bytes that are stripped from all
// message text) instead of IRC codes; render.go then replays them with a
// style stack, so nested or repeated tags do not toggle each other off,
// each line starts clean and re-opens the styles that span into it, and
// codes are only written before visible text. HTML whitespace rules are
// applied (collapsing, trimming at line edges), except inside <pre>, whose
// lines are sent as they are without codes. Colours go to the nearest of
// the 99 IRC colours; a digit or comma right after a colour code is
// protected (two-digit number, or a neutral "\x02\x02"). Untrusted HTML is
// bounded before parsing (see sanitize.go): nesting deeper than 48 is
// unwrapped and <ol start> is clamped, because the parser is
// depth × size and crashes the process on extreme start values.
package ircfmt
