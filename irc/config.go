package irc

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the `irc:` section of Ferry's configuration.
//
//	irc:
//	  secret_key: "<openssl rand -base64 32>"
//	  max_concurrent_connects: 4           # 0: no connect pacing
//	  networks:
//	    libera:
//	      address: irc.libera.chat:6697
//	      tls: true
//	      nick_template: "{localpart}"
//	      sasl: true
//	      flood: {rate: 2s, burst: 5}   # or: flood: unlimited
//	      paste_threshold: 5
//	      relay_allowed: true
//	      relay_nick: ferry-relay
//	      pm_from_strangers: true
//	      lazy_ghosts: false
type Config struct {
	Networks map[string]*NetworkConfig `yaml:"networks"`
	// SecretKey encrypts the passwords users store (`irc password`,
	// `irc sasl`): base64 of 32 random bytes, e.g. from
	// `openssl rand -base64 32` or `head -c32 /dev/urandom | base64`.
	// Without it those commands are refused. Changing it makes the stored
	// passwords unreadable (users must store them again).
	SecretKey string `yaml:"secret_key"`
	// MaxConcurrentConnects caps the dials and registrations in flight at
	// once across all logins (default DefaultMaxConcurrentConnects), so
	// that a restart with many users does not trip a network's connection
	// throttle. 0 turns pacing off: for servers that exempt Ferry, and
	// benchmarks. A pointer, because 0 is a meaningful value.
	MaxConcurrentConnects *int `yaml:"max_concurrent_connects"`

	secrets *secretBox
}

// DefaultMaxConcurrentConnects is the connect pacing of a config that
// names none: a few at a time stays below common per-IP connect throttles
// while a restart of a hundred logins still takes seconds, not minutes.
const DefaultMaxConcurrentConnects = 4

// connectLimit is the effective max_concurrent_connects; 0 means none.
func (c *Config) connectLimit() int {
	if c == nil || c.MaxConcurrentConnects == nil {
		return DefaultMaxConcurrentConnects
	}
	return *c.MaxConcurrentConnects
}

// NetworkConfig is one IRC network users may connect to.
type NetworkConfig struct {
	Address     string `yaml:"address"`
	TLS         bool   `yaml:"tls"`
	TLSInsecure bool   `yaml:"tls_insecure"`
	// NickTemplate makes a user's default nick; "{localpart}" is the
	// Matrix localpart. The result is sanitized to a valid nick.
	NickTemplate string `yaml:"nick_template"`
	// SASL allows users to store SASL PLAIN credentials (`irc sasl`).
	SASL  bool        `yaml:"sasl"`
	Flood FloodConfig `yaml:"flood"`
	// PasteThreshold is the number of lines above which a Matrix message
	// goes to IRC as its first line and a link to the whole text (needs
	// appservice.public_address; without it long messages are split).
	PasteThreshold int `yaml:"paste_threshold"`
	// RelayAllowed lets room moderators turn relaying on: messages of
	// Matrix users without an IRC login go out as "<name> text" through
	// the network's relay bot, a Ferry-owned connection.
	RelayAllowed bool `yaml:"relay_allowed"`
	// RelayNick is the relay bot's nick (default "ferry-relay"); it is
	// dialed on the first relayed message and joins channels as needed.
	RelayNick string `yaml:"relay_nick"`
	// PMFromStrangers opens a DM room for a PM from anyone (default true).
	PMFromStrangers *bool `yaml:"pm_from_strangers"`
	// LazyGhosts: a channel member's ghost joins the room when they first
	// speak, not from the names list or their JOIN. For networks with
	// large channels: each ghost costs the homeserver a registration, a
	// profile and a join, and a room's every later event grows with its
	// members. Power levels (op, voice) are set either way.
	LazyGhosts bool `yaml:"lazy_ghosts"`

	name string
}

// FloodConfig is token-bucket flood control: one line per Rate with bursts
// of Burst, or Unlimited for servers that exempt the bridge.
type FloodConfig struct {
	Rate      time.Duration
	Burst     int
	Unlimited bool
}

func (f *FloodConfig) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind == yaml.ScalarNode {
		if node.Value == "unlimited" {
			f.Unlimited = true
			return nil
		}
		return fmt.Errorf("must be `unlimited` or {rate, burst}")
	}
	var raw struct {
		Rate  string `yaml:"rate"`
		Burst int    `yaml:"burst"`
	}
	if err := node.Decode(&raw); err != nil {
		return err
	}
	if raw.Rate != "" {
		d, err := time.ParseDuration(raw.Rate)
		if err != nil || d <= 0 {
			return fmt.Errorf("rate: %q is not a positive duration (e.g. 2s, 500ms)", raw.Rate)
		}
		f.Rate = d
	}
	if raw.Burst < 0 {
		return fmt.Errorf("burst: must not be negative")
	}
	f.Burst = raw.Burst
	return nil
}

var networkNameRE = regexp.MustCompile(`^[a-z0-9-]+$`)

// DefaultNickTemplate is the nick of a user who names none.
const DefaultNickTemplate = "{localpart}"

// ParseConfig decodes and validates the section; errors name the key path
// below the section ("networks.libera.address: missing port").
func ParseConfig(node *yaml.Node) (*Config, error) {
	cfg := &Config{}
	if node != nil {
		if err := node.Decode(cfg); err != nil {
			return nil, fmt.Errorf("%s", yamlErr(err))
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func yamlErr(err error) string {
	if te, ok := err.(*yaml.TypeError); ok {
		return strings.Join(te.Errors, "; ")
	}
	return err.Error()
}

// Validate checks every network and fills defaults.
func (c *Config) Validate() error {
	if c.SecretKey != "" {
		box, err := parseSecretKey(c.SecretKey)
		if err != nil {
			return fmt.Errorf("secret_key: %v", err)
		}
		c.secrets = box
	}
	if c.MaxConcurrentConnects != nil && *c.MaxConcurrentConnects < 0 {
		return fmt.Errorf("max_concurrent_connects: must not be negative (0 turns connect pacing off)")
	}
	for _, name := range c.names() {
		n := c.Networks[name]
		path := "networks." + name
		if !networkNameRE.MatchString(name) {
			return fmt.Errorf("%s: network names may only contain a-z, 0-9 and -", path)
		}
		if n == nil {
			return fmt.Errorf("%s: empty network", path)
		}
		n.name = name
		host, port, err := net.SplitHostPort(n.Address)
		switch {
		case n.Address == "":
			return fmt.Errorf("%s.address: missing", path)
		case err != nil:
			return fmt.Errorf("%s.address: %q is not host:port", path, n.Address)
		case host == "":
			return fmt.Errorf("%s.address: missing host", path)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("%s.address: bad port %q", path, port)
		}
		if n.TLSInsecure && !n.TLS {
			return fmt.Errorf("%s.tls_insecure: needs tls: true", path)
		}
		if n.NickTemplate == "" {
			n.NickTemplate = DefaultNickTemplate
		}
		if strings.ContainsAny(n.NickTemplate, " \r\n\x00,") {
			return fmt.Errorf("%s.nick_template: must not contain spaces, commas or control characters", path)
		}
		if n.RelayNick == "" {
			n.RelayNick = DefaultRelayNick
		}
		if err := validateNick(n.RelayNick, 0); err != nil {
			return fmt.Errorf("%s.relay_nick: %q is not a valid IRC nick", path, n.RelayNick)
		}
		if n.PasteThreshold < 0 {
			return fmt.Errorf("%s.paste_threshold: must not be negative", path)
		}
		if n.PMFromStrangers == nil {
			yes := true
			n.PMFromStrangers = &yes
		}
	}
	return nil
}

func (c *Config) names() []string {
	names := make([]string, 0, len(c.Networks))
	for name := range c.Networks {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
