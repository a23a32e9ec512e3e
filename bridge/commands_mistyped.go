package bridge

import (
	"context"
	"strings"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

// mistypedDistance is the most edits (a letter added, dropped, changed,
// or two neighbours swapped) that make a command's last word the typed
// one, for a command that names none to be taken for a mistyped command
// with a secret: "passwrd" and "pasword" for "password", "sals" for
// "sasl". A short word allows one edit only: with two, "say", "all" and
// "ssh" would each be "sasl", and an ordinary `!ferry irc say hello`
// deleted as a password.
func mistypedDistance(word string) int {
	if len([]rune(word)) <= 4 {
		return 1
	}
	return 2
}

// minTypedPrefix is the fewest letters of a command word that, typed
// alone, are taken for it: "pass" for "password" (the word IRC itself
// uses for it), but not "pa".
const minTypedPrefix = 4

// mistypedSecret is the command with a secret that words, which name no
// command, look like a typo of, or nil: its words before the last typed
// as they are ("irc"), its last begun (minTypedPrefix) or within
// mistypedDistance, and something typed after it, which may be the
// secret. Of several, the nearest.
func (b *Bridge) mistypedSecret(words []string) *command {
	var best *command
	bestDistance := -1
	for _, cmd := range b.commands {
		last := len(cmd.words) - 1
		if !cmd.sensitive || len(words) <= len(cmd.words) {
			continue
		}
		prefixed := true
		for i := 0; i < last; i++ {
			if !strings.EqualFold(cmd.words[i], words[i]) {
				prefixed = false
				break
			}
		}
		if !prefixed {
			continue
		}
		want, typed := strings.ToLower(cmd.words[last]), strings.ToLower(words[last])
		d := editDistance(want, typed)
		if len([]rune(typed)) >= minTypedPrefix && strings.HasPrefix(want, typed) {
			d = 0
		}
		if d <= mistypedDistance(want) && (best == nil || d < bestDistance) {
			best, bestDistance = cmd, d
		}
	}
	return best
}

// secretCommand is the command with a secret that words name, or look
// like a typo of (mistypedSecret), or nil.
func (b *Bridge) secretCommand(words []string) *command {
	if cmd := b.findCommand(words); cmd != nil {
		if cmd.sensitive {
			return cmd
		}
		return nil
	}
	return b.mistypedSecret(words)
}

// deleteMistypedSecret answers, in a portal, a command that names none
// but looks like a typo of cmd, a command with a secret: left in the
// room, the password typed after the typo is read by everyone there, as
// the command spelt right would not have been. It is deleted as that
// one is, and the answer does not show it back.
func (b *Bridge) deleteMistypedSecret(ctx context.Context, c *commandContext, cmd *command, original id.EventID) {
	name := strings.Join(cmd.words, " ")
	zerolog.Ctx(ctx).Info().Str("command", name).Msg("Deleted an unknown command that looks like a mistyped command with a secret")
	instead := "send " + network.CodeSpan(name) + " in your management room (your direct chat with me), where no one else can read it."
	if c.level < cmd.level {
		// Told to send it there, a relayed user was refused there for
		// their permission: the command spelt right is refused so here.
		instead = c.tooLittlePermission(cmd)
	}
	c.replyf("⚠️ Your message names no command, but looks like a mistyped %s, which takes a password, so I took it for one: %s %s",
		c.command(name), instead, b.deleteSeenSecret(ctx, c, original))
}

// editDistance is the optimal string alignment distance between a and b,
// in runes: Levenshtein's, with two neighbours swapped ("sals") one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rows: the one before the previous is needed for swaps.
	before := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
		}
		before, prev, cur = prev, cur, before
	}
	return prev[len(rb)]
}
