package ircconn

import (
	"strings"

	"gopkg.in/irc.v4"
)

// Every line read or written is logged at trace level ("IRC wire", with
// dir "in" or "out"), with secrets masked as "***": PASS parameters,
// AUTHENTICATE payloads (not "+", "*" or a mechanism name), and the
// arguments of NickServ IDENTIFY/REGISTER/GHOST-style commands.

const masked = "***"

// saslMechanisms are the AUTHENTICATE parameters that are not secret.
var saslMechanisms = map[string]bool{
	"PLAIN": true, "EXTERNAL": true, "SCRAM-SHA-1": true, "SCRAM-SHA-256": true,
	"SCRAM-SHA-512": true, "ECDSA-NIST256P-CHALLENGE": true, "ANONYMOUS": true,
}

// nickServSecret are NickServ commands whose arguments carry a password.
var nickServSecret = map[string]bool{
	"IDENTIFY": true, "ID": true, "REGISTER": true, "GHOST": true, "RECOVER": true,
	"RELEASE": true, "REGAIN": true, "SET": true, "LOGIN": true,
}

// logWire logs one line in or out, masked, when trace logging is on.
func (c *Conn) logWire(dir string, line []byte) {
	e := c.log.Trace()
	if !e.Enabled() {
		return
	}
	e.Str("dir", dir).Str("line", maskLine(line)).Msg("IRC wire")
}

// maskLine is line with its secrets replaced by "***". A line that does
// not parse is not shown at all.
func maskLine(raw []byte) string {
	line := strings.TrimRight(string(raw), "\r\n")
	msg, err := ParseLine(line)
	if err != nil {
		return "(unparsable line)"
	}
	if !maskMessage(msg) {
		return line
	}
	return msg.String()
}

// maskMessage masks msg's secret parameters in place and reports whether
// it changed anything.
func maskMessage(msg *irc.Message) bool {
	switch strings.ToUpper(msg.Command) {
	case "PASS", "OPER":
		return maskFrom(msg, 0)
	case "AUTHENTICATE":
		if p := msg.Param(0); len(msg.Params) == 1 && (p == "+" || p == "*" || saslMechanisms[strings.ToUpper(p)]) {
			return false
		}
		return maskFrom(msg, 0)
	case "NICKSERV", "NS":
		return maskNickServ(msg, 0)
	case "PRIVMSG":
		if len(msg.Params) == 2 {
			target, _, _ := strings.Cut(msg.Params[0], "@")
			if strings.EqualFold(target, "NickServ") {
				return maskNickServ(msg, 1)
			}
		}
	}
	return false
}

func maskFrom(msg *irc.Message, i int) bool {
	changed := false
	for ; i < len(msg.Params); i++ {
		msg.Params[i] = masked
		changed = true
	}
	return changed
}

// maskNickServ masks everything after the verb of a NickServ command in
// parameter i ("IDENTIFY account password" -> "IDENTIFY ***"), and any
// parameters after it.
func maskNickServ(msg *irc.Message, i int) bool {
	if i >= len(msg.Params) {
		return false
	}
	verb, _, hasArgs := strings.Cut(strings.TrimSpace(msg.Params[i]), " ")
	if !nickServSecret[strings.ToUpper(verb)] {
		return false
	}
	if !hasArgs && i+1 >= len(msg.Params) {
		return false
	}
	if hasArgs {
		msg.Params[i] = verb + " " + masked
	}
	maskFrom(msg, i+1)
	return true
}
