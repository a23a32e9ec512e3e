// Package config loads, checks and writes Ferry's YAML configuration, and
// derives from it what the homeserver must know: the bot and ghost user IDs
// and the appservice registration.
//
// The sections Ferry's core owns are decoded into structs; every network's
// section (by top-level key, e.g. "whatsapp") is kept as a raw *yaml.Node for
// the network to decode itself.
package config

import (
	"fmt"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
)

type Config struct {
	Homeserver  HomeserverConfig `yaml:"homeserver"`
	AppService  AppServiceConfig `yaml:"appservice"`
	Database    DatabaseConfig   `yaml:"database"`
	Permissions Permissions      `yaml:"permissions"`
	Logging     LoggingConfig    `yaml:"logging"`
	Metrics     MetricsConfig    `yaml:"metrics"`
	Media       MediaConfig      `yaml:"media"`
	// Network sections by top-level key (e.g. "whatsapp", "irc"), kept as raw
	// nodes: each network decodes its own. An absent or empty (null) section
	// has no entry, so lookups yield nil.
	Networks map[network.NetworkID]*yaml.Node `yaml:"-"`
}

type HomeserverConfig struct {
	// Address is the homeserver's client-server API base URL.
	Address string `yaml:"address"`
	// Domain is the server name in user IDs. It has no default.
	Domain string `yaml:"domain"`
	// PipelineSends lets each room write its next event to the homeserver
	// before the previous one is answered (HTTP/1.1 pipelining, in order,
	// one connection per busy room). Turn it off only for a proxy in front
	// of the homeserver that mishandles pipelined requests.
	PipelineSends bool `yaml:"pipeline_sends"`
}

type AppServiceConfig struct {
	// Address is how the homeserver reaches Ferry (the registration's url).
	// When absent it is derived from Hostname and Port.
	Address string `yaml:"address"`
	// PublicAddress is the base URL at which people outside Matrix (IRC
	// users following a paste or file link) reach Ferry's media endpoint,
	// usually through a reverse proxy. Empty: no such links are made.
	PublicAddress string    `yaml:"public_address"`
	Hostname      string    `yaml:"hostname"`
	Port          int       `yaml:"port"`
	ID            string    `yaml:"id"`
	Bot           BotConfig `yaml:"bot"`
	ASToken       string    `yaml:"as_token"`
	HSToken       string    `yaml:"hs_token"`
}

type BotConfig struct {
	Username    string `yaml:"username"`
	Displayname string `yaml:"displayname"`
	// Avatar is an mxc:// URI or empty.
	Avatar string `yaml:"avatar"`
}

type DatabaseConfig struct {
	// Type is DatabaseSQLite or DatabasePostgres.
	Type         string `yaml:"type"`
	URI          string `yaml:"uri"`
	MaxOpenConns int    `yaml:"max_open_conns"`
	MaxIdleConns int    `yaml:"max_idle_conns"`
}

const (
	DatabaseSQLite   = "sqlite3-fk-wal"
	DatabasePostgres = "postgres"
)

type LoggingConfig struct {
	// Level is a zerolog level name: trace, debug, info, warn, error (or
	// fatal, panic, disabled).
	Level string `yaml:"level"`
	// Format is "pretty" or "json".
	Format string `yaml:"format"`
}

// MetricsConfig turns on Ferry's Prometheus endpoint.
type MetricsConfig struct {
	// Listen is the host:port serving GET /metrics; empty: metrics off
	// (nothing is recorded, nothing listens). Keep it on loopback or
	// behind a firewall: it is not authenticated.
	Listen string `yaml:"listen"`
}

// MediaConfig bounds the files Ferry carries from networks to Matrix.
type MediaConfig struct {
	// MaxFileSize is the largest file bridged into Matrix; the
	// homeserver's own upload limit applies as well. A larger file
	// becomes a notice naming it and its size.
	MaxFileSize ByteSize `yaml:"max_file_size"`
	// Transfers is how many files are fetched and uploaded at once,
	// across all rooms; more wait their turn.
	Transfers int `yaml:"transfers"`
}

// Default returns the configuration an empty file yields (before the
// defaults that derive from other keys: appservice.address and permissions).
// homeserver.domain has no default.
func Default() *Config {
	return &Config{
		Homeserver: HomeserverConfig{Address: "http://127.0.0.1:8008", PipelineSends: true},
		AppService: AppServiceConfig{
			Address:  "http://127.0.0.1:29318",
			Hostname: "127.0.0.1",
			Port:     29318,
			ID:       "ferry",
			Bot:      BotConfig{Username: "ferry", Displayname: "Ferry"},
		},
		Database: DatabaseConfig{
			Type:         DatabaseSQLite,
			URI:          "file:ferry.db?_txlock=immediate",
			MaxOpenConns: 5,
			MaxIdleConns: 5,
		},
		Logging: LoggingConfig{Level: "info", Format: "pretty"},
		Media:   MediaConfig{MaxFileSize: 100 << 20, Transfers: 4},
	}
}

// Load reads the file at path and parses it with Parse.
func Load(path string, networks []network.NetworkID) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(data, networks)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes a configuration and applies defaults for absent keys:
//   - appservice.address, when absent, is http://<hostname>:<port> (an
//     unspecified listen address such as 0.0.0.0 becomes 127.0.0.1);
//   - permissions, when absent, is {<homeserver.domain>: user}.
//
// The raw node of every top-level key named in networks is kept in
// Config.Networks. Unknown keys (at the top level and inside the core's
// sections), duplicate keys, values of the wrong type and unknown permission
// levels are reported as a *ValidationError naming each key path; it also
// lists what Validate(false) finds in the rest of the file, so one run shows
// every problem. Parse does not validate otherwise: call Validate.
func Parse(data []byte, networks []network.NetworkID) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	cfg := Default()
	d := decoder{present: map[string]bool{}}
	if err := d.decodeRoot(&doc, cfg, networks); err != nil {
		return nil, err
	}
	cfg.applyDerivedDefaults(d.present)
	if len(d.problems) == 0 {
		return cfg, nil
	}
	reported := make(map[string]bool, len(d.problems))
	for _, p := range d.problems {
		reported[p.Path] = true
	}
	if err := cfg.Validate(false); err != nil {
		for _, p := range err.(*ValidationError).Problems {
			if !reported[p.Path] {
				d.problems = append(d.problems, p)
			}
		}
	}
	return nil, &ValidationError{Problems: d.problems}
}

func (c *Config) applyDerivedDefaults(present map[string]bool) {
	if !present["appservice.address"] {
		host := c.AppService.Hostname
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		c.AppService.Address = "http://" + net.JoinHostPort(host, strconv.Itoa(c.AppService.Port))
	}
	if !present["permissions"] && c.Homeserver.Domain != "" {
		c.Permissions = Permissions{c.Homeserver.Domain: LevelUser}
	}
}

// decoder walks the YAML node tree alongside the config structs so that
// every problem carries its key path, which yaml.v3's own errors do not.
type decoder struct {
	problems []Problem
	// present holds the path of every key given a non-null value.
	present map[string]bool
}

func (d *decoder) add(path, format string, args ...any) {
	d.problems = append(d.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) decodeRoot(doc *yaml.Node, cfg *Config, networks []network.NetworkID) error {
	v := reflect.ValueOf(cfg).Elem()
	fields := fieldsByTag(v.Type())
	var known []string // for the unknown-key message, in declaration order
	for i := range v.NumField() {
		if tag := v.Type().Field(i).Tag.Get("yaml"); tag != "-" {
			known = append(known, tag)
		}
	}
	isNetwork := make(map[string]bool, len(networks))
	for _, n := range networks {
		if _, clash := fields[string(n)]; clash || id.ValidateUserLocalpart(string(n)) != nil {
			return fmt.Errorf("invalid network ID %q", n)
		}
		isNetwork[string(n)] = true
		known = append(known, string(n))
	}
	if len(doc.Content) == 0 { // empty file, or only comments
		return nil
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.add("(root)", "line %d: expected a mapping of sections, got %s", root.Line, describeNode(root))
		return nil
	}
	d.eachPair(root, "", func(key, value *yaml.Node, path string) {
		if isNetwork[key.Value] {
			if value = resolve(value); !isNull(value) {
				if cfg.Networks == nil {
					cfg.Networks = make(map[network.NetworkID]*yaml.Node)
				}
				cfg.Networks[network.NetworkID(key.Value)] = value
			}
		} else if i, ok := fields[key.Value]; ok {
			d.decode(value, v.Field(i), path)
		} else {
			d.add(path, "line %d: unknown top-level key (known: %s)", key.Line, strings.Join(known, ", "))
		}
	})
	return nil
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolve(n)
	if isNull(n) {
		return // keep the default
	}
	d.present[path] = true
	switch {
	case v.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.add(path, "line %d: expected a mapping, got %s", n.Line, describeNode(n))
			return
		}
		fields := fieldsByTag(v.Type())
		d.eachPair(n, path, func(key, value *yaml.Node, keyPath string) {
			if i, ok := fields[key.Value]; ok {
				d.decode(value, v.Field(i), keyPath)
			} else {
				d.add(keyPath, "line %d: unknown key", key.Line)
			}
		})
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		if n.Kind != yaml.MappingNode {
			d.add(path, "line %d: expected a mapping, got %s", n.Line, describeNode(n))
			return
		}
		m := reflect.MakeMap(v.Type()) // replaces the default rather than merging with it
		d.eachPair(n, path, func(key, value *yaml.Node, keyPath string) {
			if isNull(resolve(value)) {
				d.add(keyPath, "line %d: missing value", key.Line)
				return
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			before := len(d.problems)
			d.decode(value, elem, keyPath)
			if len(d.problems) == before {
				m.SetMapIndex(reflect.ValueOf(key.Value).Convert(v.Type().Key()), elem)
			}
		})
		v.Set(m)
	default:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			if _, isTypeErr := err.(*yaml.TypeError); isTypeErr {
				d.add(path, "line %d: expected %s, got %s", n.Line, describeType(v.Type()), describeNode(n))
			} else {
				d.add(path, "line %d: %v", n.Line, err)
			}
		}
	}
}

// eachPair calls fn for every key of a mapping node, reporting keys that are
// not plain strings, merge keys and duplicates instead.
func (d *decoder) eachPair(n *yaml.Node, path string, fn func(key, value *yaml.Node, keyPath string)) {
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, value := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.add(orRoot(path), "line %d: a key must be a string, got %s", k.Line, describeNode(k))
			continue
		}
		keyPath := keyPath(path, k.Value)
		if k.Tag == "!!merge" {
			d.add(orRoot(path), "line %d: merge keys (<<) are not supported", k.Line)
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.add(keyPath, "line %d: duplicate key (first given on line %d)", k.Line, line)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, value, keyPath)
	}
}

func fieldsByTag(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("yaml"); tag != "" && tag != "-" {
			fields[tag] = i
		}
	}
	return fields
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func orRoot(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}

// keyPath appends key to a dotted path, quoting keys that are not plain
// words: permissions["@admin:example.org"].
func keyPath(parent, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return parent + "[" + strconv.Quote(key) + "]"
	case parent == "":
		return key
	default:
		return parent + "." + key
	}
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	default:
		return "an unexpected YAML node"
	}
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	default:
		return t.String()
	}
}
