package wasim

import (
	"bytes"
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/socket"
)

// frameReader undoes whatsmeow's framing (socket/framesocket.go): the
// client's first websocket message starts with the 4-byte WA header, and
// every frame is a 3-byte big-endian length followed by the data. Frames
// may in principle be split across or packed into websocket messages, so
// the reader keeps a buffer rather than assuming one frame per message.
type frameReader struct {
	ws     *websocket.Conn
	buf    []byte
	header []byte
}

func (fr *frameReader) next(ctx context.Context) ([]byte, error) {
	for {
		if fr.header == nil && len(fr.buf) >= len(socket.WAConnHeader) {
			fr.header = append([]byte(nil), fr.buf[:len(socket.WAConnHeader)]...)
			// The last header byte is the binary dictionary version,
			// which must match the codec the simulator decodes with.
			if !bytes.Equal(fr.header, socket.WAConnHeader) {
				return nil, fmt.Errorf("unexpected connection header %x", fr.header)
			}
			fr.buf = fr.buf[len(socket.WAConnHeader):]
		}
		if fr.header != nil && len(fr.buf) >= socket.FrameLengthSize {
			n := int(fr.buf[0])<<16 | int(fr.buf[1])<<8 | int(fr.buf[2])
			if len(fr.buf) >= socket.FrameLengthSize+n {
				frame := append([]byte(nil), fr.buf[socket.FrameLengthSize:socket.FrameLengthSize+n]...)
				fr.buf = fr.buf[socket.FrameLengthSize+n:]
				return frame, nil
			}
		}
		typ, data, err := fr.ws.Read(ctx)
		if err != nil {
			return nil, err
		}
		if typ != websocket.MessageBinary {
			continue
		}
		fr.buf = append(fr.buf, data...)
	}
}

// writeFrame sends one frame as one websocket message, as the real server
// does; the server side never sends the WA header.
func writeFrame(ctx context.Context, ws *websocket.Conn, data []byte) error {
	if len(data) >= socket.FrameMaxSize {
		return fmt.Errorf("frame of %d bytes too large", len(data))
	}
	frame := make([]byte, socket.FrameLengthSize+len(data))
	frame[0], frame[1], frame[2] = byte(len(data)>>16), byte(len(data)>>8), byte(len(data))
	copy(frame[socket.FrameLengthSize:], data)
	return ws.Write(ctx, websocket.MessageBinary, frame)
}

// conn is one authenticated client connection after the handshake.
type conn struct {
	sim *Sim
	ws  *websocket.Conn
	fr  *frameReader
	log zerolog.Logger
	ctx context.Context
	// cancel ends the connection's context; close() calls it.
	cancel context.CancelFunc

	readKey      cipher.AEAD
	readCounter  uint32
	writeMu      sync.Mutex
	writeKey     cipher.AEAD
	writeCounter uint32

	// noiseKey is the client's static key, which also appears in its QR
	// codes: it ties a scanned code to this connection.
	noiseKey [32]byte
	// dev is the logged-in device, nil while pairing.
	dev *device
	// refs are the pairing refs sent to an unpaired client.
	refs []string

	closeOnce sync.Once
}

// send encodes and encrypts a node. Errors are logged by callers that
// care; a failed write closes the connection.
func (c *conn) send(node waBinary.Node) error {
	data, err := marshalNode(node)
	if err != nil {
		c.log.Error().Err(err).Str("tag", node.Tag).Msg("Failed to encode node")
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	ct := c.writeKey.Seal(nil, ivFor(c.writeCounter), data, nil)
	c.writeCounter++
	c.log.Trace().Stringer("node", &node).Msg("Send")
	if err = writeFrame(c.ctx, c.ws, ct); err != nil {
		c.close(websocket.StatusGoingAway, "write failed")
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

// readNode returns the next decoded node from the client.
func (c *conn) readNode() (*waBinary.Node, error) {
	frame, err := c.fr.next(c.ctx)
	if err != nil {
		return nil, err
	}
	pt, err := c.readKey.Open(nil, ivFor(c.readCounter), frame, nil)
	c.readCounter++
	if err != nil {
		return nil, fmt.Errorf("decrypt frame: %w", err)
	}
	node, err := unmarshalNode(pt)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadNode, err)
	}
	return node, nil
}

// errBadNode marks a frame that decrypted but did not decode: the stream
// is still in sync, so the connection can go on, as whatsmeow's own
// client does with undecodable frames.
var errBadNode = errors.New("undecodable node")

func (c *conn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		_ = c.ws.Close(code, reason)
		c.cancel()
	})
}

// closeSoon closes the connection after a stream:error, giving the
// client time to handle it first: whatsmeow stops its handler queue when
// the socket closes, so a close right behind the stream error can
// overtake it (client.go handlerQueueLoop).
func (c *conn) closeSoon(reason string) {
	go func() {
		select {
		case <-c.ctx.Done():
		case <-time.After(2 * time.Second):
			c.close(websocket.StatusNormalClosure, reason)
		}
	}()
}

// drain reads and discards frames until the client closes or timeout
// passes, so a final stanza (like <failure>) is handled before the socket
// closes under it; see closeSoon.
func (c *conn) drain(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	for {
		if _, err := c.fr.next(ctx); err != nil {
			return
		}
	}
}

// marshalNode wraps waBinary.Marshal, which panics on attribute values of
// unsupported types, and adds the leading "not compressed" flag byte that
// waBinary.Unpack expects.
func marshalNode(node waBinary.Node) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("marshal %s node: %v", node.Tag, r)
		}
	}()
	return waBinary.Marshal(node)
}

var errEmptyFrame = errors.New("empty frame")

// unmarshalNode decodes client data without trusting it: Unpack indexes
// the first byte and the decoder has type assertions that can panic on
// crafted input.
func unmarshalNode(data []byte) (node *waBinary.Node, err error) {
	if len(data) == 0 {
		return nil, errEmptyFrame
	}
	defer func() {
		if r := recover(); r != nil {
			node, err = nil, fmt.Errorf("decode node: %v", r)
		}
	}()
	raw, err := waBinary.Unpack(data)
	if err != nil {
		return nil, fmt.Errorf("unpack frame: %w", err)
	}
	node, err = waBinary.Unmarshal(raw)
	if err != nil {
		return nil, fmt.Errorf("decode node: %w", err)
	}
	return node, nil
}
