package irc

import (
	"context"
	"strings"

	"gopkg.in/irc.v4"

	"github.com/ferrybridge/ferry/bridge/network"
)

var _ network.ChatInfoSetter = (*Client)(nil)

// SetChatTopic sets a channel's topic from the Matrix room's. The server's
// TOPIC echo comes back as a ChatInfoChange, which the core recognises as
// the value it already has.
func (cl *Client) SetChatTopic(ctx context.Context, meta *network.OutgoingMeta, topic string) error {
	if meta.Portal.Receiver != "" {
		return network.UserErrorf("private chats on IRC have no topic")
	}
	target, err := cl.target(meta.Portal)
	if err != nil {
		return err
	}
	conn := cl.currentConn()
	if conn == nil {
		return cl.errNotConnected()
	}
	// A topic is one line: line breaks become spaces, control characters
	// and IRC codes go, and it is cut to the server's TOPICLEN.
	topic = strings.Join(strings.Fields(stripControl(strings.NewReplacer("\r", " ", "\n", " ").Replace(topic))), " ")
	if max := conn.ISupport().TopicLen; max > 0 && len(topic) > max {
		topic = strings.ToValidUTF8(topic[:max], "")
	}
	if err = conn.Send(&irc.Message{Command: "TOPIC", Params: []string{target, topic}}); err != nil {
		return &network.UserError{Message: "could not set the topic on " + cl.netName, Err: err}
	}
	return nil
}

// SetChatName refuses: an IRC channel's name is what it is.
func (cl *Client) SetChatName(ctx context.Context, meta *network.OutgoingMeta, name string) error {
	return network.UserErrorf("IRC channels cannot be renamed")
}
