package irc

import (
	"math"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func parseYAML(t *testing.T, text string) (*Config, error) {
	t.Helper()
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(text), &node); err != nil {
		t.Fatal(err)
	}
	return ParseConfig(node.Content[0])
}

func TestConfig(t *testing.T) {
	cfg, err := parseYAML(t, `
networks:
  libera:
    address: irc.libera.chat:6697
    tls: true
    sasl: true
    flood: {rate: 500ms, burst: 3}
    paste_threshold: 4
    relay_allowed: true
  test-2:
    address: 127.0.0.1:6667
    flood: unlimited
    pm_from_strangers: false
    relay_nick: Relay_Bot
`)
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Networks["libera"]
	if !l.TLS || !l.SASL || l.Flood.Rate != 500*time.Millisecond || l.Flood.Burst != 3 || l.PasteThreshold != 4 || !l.RelayAllowed || !*l.PMFromStrangers || l.NickTemplate != DefaultNickTemplate || l.RelayNick != DefaultRelayNick {
		t.Errorf("libera parsed as %+v", l)
	}
	if t2 := cfg.Networks["test-2"]; !t2.Flood.Unlimited || *t2.PMFromStrangers || t2.RelayNick != "Relay_Bot" {
		t.Errorf("test-2 parsed as %+v", t2)
	}
	if cfg, err = ParseConfig(nil); err != nil || len(cfg.Networks) != 0 {
		t.Errorf("no section: %v", err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"networks:\n  Libera:\n    address: a:1", "networks.Libera: network names"},
		{"networks:\n  lib_era:\n    address: a:1", "networks.lib_era: network names"},
		{"networks:\n  libera:\n    tls: true", "networks.libera.address: missing"},
		{"networks:\n  libera:\n    address: irc.libera.chat", "networks.libera.address: \"irc.libera.chat\" is not host:port"},
		{"networks:\n  libera:\n    address: irc.libera.chat:99999", "networks.libera.address: bad port"},
		{"networks:\n  libera:\n    address: :6667", "networks.libera.address: missing host"},
		{"networks:\n  libera:\n    address: a:1\n    tls_insecure: true", "networks.libera.tls_insecure"},
		{"networks:\n  libera:\n    address: a:1\n    paste_threshold: -1", "networks.libera.paste_threshold"},
		{"networks:\n  libera:\n    address: a:1\n    nick_template: a b", "networks.libera.nick_template"},
		{"networks:\n  libera:\n    address: a:1\n    relay_nick: a b", "networks.libera.relay_nick"},
		{"networks:\n  libera:\n    address: a:1\n    relay_nick: 9bot", "networks.libera.relay_nick"},
		{"networks:\n  libera:\n    address: a:1\n    flood: {rate: fast}", "rate"},
		{"networks:\n  libera:\n    address: a:1\n    flood: lots", "unlimited"},
	} {
		_, err := parseYAML(t, tc.yaml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestConfigMaxConcurrentConnects(t *testing.T) {
	for _, tc := range []struct {
		yaml    string
		want    int // connectLimit
		wantCap int // the semaphore's capacity after Init
	}{
		{"networks: {}", DefaultMaxConcurrentConnects, DefaultMaxConcurrentConnects},
		{"max_concurrent_connects: 16", 16, 16},
		{"max_concurrent_connects: 1", 1, 1},
		{"max_concurrent_connects: 0", 0, math.MaxInt32},
	} {
		cfg, err := parseYAML(t, tc.yaml)
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if got := cfg.connectLimit(); got != tc.want {
			t.Errorf("%q: connect limit %d, want %d", tc.yaml, got, tc.want)
		}
		var node yaml.Node
		if err := yaml.Unmarshal([]byte(tc.yaml), &node); err != nil {
			t.Fatal(err)
		}
		c := New()
		if err := c.Init(nil, node.Content[0]); err != nil {
			t.Fatalf("%q: Init: %v", tc.yaml, err)
		}
		if got := cap(c.connectSem); got != tc.wantCap {
			t.Errorf("%q: semaphore capacity %d, want %d", tc.yaml, got, tc.wantCap)
		}
		c.cancel()
	}
	for _, bad := range []string{"max_concurrent_connects: -1", "max_concurrent_connects: many"} {
		if _, err := parseYAML(t, bad); err == nil || !strings.Contains(err.Error(), "max_concurrent_connects") && !strings.Contains(err.Error(), "many") {
			t.Errorf("%q: error %v, want one naming the key", bad, err)
		}
	}
}
