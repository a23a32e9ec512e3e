package irc

import (
	"testing"

	"gopkg.in/irc.v4"
)

// TestEchoWaitsInOrder: unlabeled echoes and refusals answer our lines
// to a target in the order they were sent. A refused line does not take
// the echo of a later line with its text, and a send's second line's
// echo is not taken for a later send's first line with that text.
func TestEchoWaitsInOrder(t *testing.T) {
	echo := func(text, msgid string) *irc.Message {
		return &irc.Message{Tags: irc.Tags{"msgid": msgid}, Prefix: &irc.Prefix{Name: "alice", User: "a", Host: "h"},
			Command: "PRIVMSG", Params: []string{"#c", text}}
	}
	took := func(ew *echoWait) (string, bool) {
		select {
		case m := <-ew.echo:
			if m == nil {
				return "", true
			}
			return m.Tags["msgid"], true
		default:
			return "", false
		}
	}

	var w echoWaits
	refused := w.add(nil, "PRIVMSG", "#c", []string{"same"})
	sent := w.add(nil, "PRIVMSG", "#c", []string{"same"})
	w.refused(nil, "#c")
	if got, told := took(refused); got != "" || !told {
		t.Errorf("the refused send took %q (told %v), want to hear at once that no echo comes", got, told)
	}
	w.resolve(nil, echo("same", "m1"), "#c")
	if got, _ := took(sent); got != "m1" {
		t.Errorf("the second send took %q, want m1", got)
	}

	var v echoWaits
	a := v.add(nil, "PRIVMSG", "#c", []string{"if x {", "}"})
	b := v.add(nil, "PRIVMSG", "#c", []string{"}"})
	v.resolve(nil, echo("if x {", "m1"), "#c")
	v.end(a)
	v.resolve(nil, echo("}", "m2"), "#c")
	v.resolve(nil, echo("}", "m3"), "#c")
	if got, _ := took(a); got != "m1" {
		t.Errorf("the first send took %q, want m1", got)
	}
	if got, _ := took(b); got != "m3" {
		t.Errorf("the second send took %q, want m3 (m2 is the first send's second line)", got)
	}
}
