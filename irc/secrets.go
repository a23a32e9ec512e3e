package irc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/ferrybridge/ferry/bridge/network"
)

// Passwords (`irc password`, `irc sasl`) are stored in the login's metadata
// encrypted with AES-256-GCM under irc.secret_key: a random nonce per
// value, and the login ID and the field name as additional data, so that a
// value copied into another login (or into the other field) does not
// decrypt. The stored form is "v1:" + base64(nonce || ciphertext).

// secretKeyLen is the length of irc.secret_key once decoded.
const secretKeyLen = 32

// secretKeyHelp says how an admin makes a key.
const secretKeyHelp = "base64 of 32 random bytes; generate one with `openssl rand -base64 32` or `head -c32 /dev/urandom | base64`"

const secretVersion = "v1:"

// Field names bound into the additional data.
const (
	secretFieldPassword = "password"
	secretFieldSASL     = "sasl_password"
)

// errSecretKeyChanged is the message a login shows when a stored value no
// longer decrypts.
const errSecretKeyChanged = "cannot decrypt stored password: was irc.secret_key changed?"

// secretError is a stored password that cannot be used; the login reports
// bad credentials with it instead of connecting without the password.
type secretError struct{ msg string }

func (e *secretError) Error() string { return e.msg }

// secretBox encrypts and decrypts the stored passwords.
type secretBox struct{ aead cipher.AEAD }

// parseSecretKey decodes irc.secret_key (standard or URL base64, padded
// or not).
func parseSecretKey(s string) (*secretBox, error) {
	s = strings.TrimSpace(s)
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("not valid base64 (%s)", secretKeyHelp)
	}
	if len(key) != secretKeyLen {
		return nil, fmt.Errorf("decodes to %d bytes, needs %d (%s)", len(key), secretKeyLen, secretKeyHelp)
	}
	return newSecretBox(key)
}

func newSecretBox(key []byte) (*secretBox, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &secretBox{aead: aead}, nil
}

func secretAAD(login network.LoginID, field string) []byte {
	return []byte("ferry-irc-secret\x00" + string(login) + "\x00" + field)
}

// seal encrypts one value for one login and field.
func (b *secretBox) seal(login network.LoginID, field, plain string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := b.aead.Seal(nonce, nonce, []byte(plain), secretAAD(login, field))
	return secretVersion + base64.RawStdEncoding.EncodeToString(out), nil
}

// open decrypts a value sealed for login and field. Its errors never
// contain the value.
func (b *secretBox) open(login network.LoginID, field, sealed string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, secretVersion)
	if !ok {
		return "", errors.New("unknown format of a stored password")
	}
	raw, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(raw) < b.aead.NonceSize()+b.aead.Overhead() {
		return "", errors.New("stored password is damaged")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], secretAAD(login, field))
	if err != nil {
		return "", errors.New("authentication failed")
	}
	return string(plain), nil
}

// errNoSecretKey is what `irc password` and `irc sasl` say without a key.
func errNoSecretKey() error {
	return network.UserErrorf("Ferry cannot store passwords yet: the admin must set `irc.secret_key` in the configuration (%s) and restart Ferry", secretKeyHelp)
}

// sealSecret encrypts a password for the login; without a key it refuses.
func (c *Connector) sealSecret(login network.LoginID, field, plain string) (string, error) {
	if c.cfg == nil || c.cfg.secrets == nil {
		return "", errNoSecretKey()
	}
	return c.cfg.secrets.seal(login, field, plain)
}

// openSecret decrypts a stored password; "" stays "". A failure is a
// *secretError fit to show the user.
func (c *Connector) openSecret(login network.LoginID, field, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	if c.cfg == nil || c.cfg.secrets == nil {
		return "", &secretError{"cannot decrypt stored password: irc.secret_key is not set"}
	}
	plain, err := c.cfg.secrets.open(login, field, sealed)
	if err != nil {
		return "", &secretError{errSecretKeyChanged}
	}
	return plain, nil
}

// migrateSecrets encrypts plaintext passwords stored before encryption
// existed and reports whether meta changed. Without a key they stay as
// they are (and are used): Ferry warns the admin instead.
func (c *Connector) migrateSecrets(login network.LoginID, meta *loginMeta) (bool, error) {
	if meta.LegacyPassword == "" && meta.LegacySASLPassword == "" {
		return false, nil
	}
	if c.cfg == nil || c.cfg.secrets == nil {
		return false, nil
	}
	if meta.LegacyPassword != "" {
		sealed, err := c.cfg.secrets.seal(login, secretFieldPassword, meta.LegacyPassword)
		if err != nil {
			return false, err
		}
		meta.Password, meta.LegacyPassword = sealed, ""
	}
	if meta.LegacySASLPassword != "" {
		sealed, err := c.cfg.secrets.seal(login, secretFieldSASL, meta.LegacySASLPassword)
		if err != nil {
			return false, err
		}
		meta.SASLPassword, meta.LegacySASLPassword = sealed, ""
	}
	return true, nil
}

// credentials are the login's server and SASL passwords in the clear, for
// one connection attempt.
func (cl *Client) credentials(meta *loginMeta) (password, saslPassword string, err error) {
	password = meta.LegacyPassword
	if password == "" {
		if password, err = cl.c.openSecret(cl.loginID, secretFieldPassword, meta.Password); err != nil {
			return "", "", err
		}
	}
	saslPassword = meta.LegacySASLPassword
	if saslPassword == "" {
		if saslPassword, err = cl.c.openSecret(cl.loginID, secretFieldSASL, meta.SASLPassword); err != nil {
			return "", "", err
		}
	}
	return password, saslPassword, nil
}
