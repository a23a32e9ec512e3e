package config

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ferrybridge/ferry/bridge/network"
)

const examplePath = "../../config.example.yaml"

var bothNetworks = []network.NetworkID{"whatsapp", "irc"}

// problemPaths returns the key paths of a *ValidationError (and fails on any other error).
func problemPaths(t *testing.T, err error) []string {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want a *ValidationError, got %T: %v", err, err)
	}
	var paths []string
	for _, p := range verr.Problems {
		paths = append(paths, p.Path)
	}
	return paths
}

func TestParseAppliesDefaults(t *testing.T) {
	cfg, err := Parse([]byte("homeserver:\n    domain: example.org\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Homeserver.Domain = "example.org"
	want.Permissions = Permissions{"example.org": LevelUser}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v\nwant %+v", cfg, want)
	}
	if err := cfg.Validate(false); err != nil {
		t.Errorf("defaults plus a domain must validate without tokens: %v", err)
	}
}

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(*Config) string
	}{
		{"empty file", "", func(c *Config) string {
			if c.Homeserver.Domain != "" || c.Permissions != nil || c.AppService.Address != "http://127.0.0.1:29318" {
				return "want no domain, no permissions and the default address"
			}
			return ""
		}},
		{"only comments", "# nothing\n", func(c *Config) string {
			if c.AppService.Port != 29318 {
				return "want the default port"
			}
			return ""
		}},
		{"address follows hostname and port", "appservice: {hostname: 10.0.0.2, port: 30000}", func(c *Config) string {
			if c.AppService.Address != "http://10.0.0.2:30000" {
				return "address " + c.AppService.Address
			}
			return ""
		}},
		{"unspecified listen address becomes loopback", "appservice: {hostname: '::', port: 30000}", func(c *Config) string {
			if c.AppService.Address != "http://127.0.0.1:30000" {
				return "address " + c.AppService.Address
			}
			return ""
		}},
		{"explicit address wins", "appservice: {address: 'https://ferry.internal', port: 30000}", func(c *Config) string {
			if c.AppService.Address != "https://ferry.internal" {
				return "address " + c.AppService.Address
			}
			return ""
		}},
		{"null keeps the default", "appservice:\n  port:\n  bot:\n", func(c *Config) string {
			if c.AppService.Port != 29318 || c.AppService.Bot.Username != "ferry" {
				return "defaults lost"
			}
			return ""
		}},
		{"partial section keeps other defaults", "appservice: {bot: {displayname: Boat}}", func(c *Config) string {
			if c.AppService.Bot.Displayname != "Boat" || c.AppService.Bot.Username != "ferry" || c.AppService.ID != "ferry" {
				return "got " + c.AppService.Bot.Displayname + " " + c.AppService.Bot.Username
			}
			return ""
		}},
		{"explicit permissions replace the default", "homeserver: {domain: example.org}\npermissions: {'@a:b.org': admin}", func(c *Config) string {
			if !reflect.DeepEqual(c.Permissions, Permissions{"@a:b.org": LevelAdmin}) {
				return "permissions merged with the default"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(cfg); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestParseAlias(t *testing.T) {
	cfg, err := Parse([]byte("homeserver: {domain: &d example.org}\nappservice: {id: *d}"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AppService.ID != "example.org" {
		t.Errorf("alias not resolved: %q", cfg.AppService.ID)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := &Config{
		Homeserver: HomeserverConfig{Address: "ftp://hs", Domain: "not a domain"},
		AppService: AppServiceConfig{
			Address:  "127.0.0.1:29318", // no scheme
			Hostname: "",
			Port:     70000,
			ID:       "ferry bridge",
			Bot:      BotConfig{Username: "Ferry", Avatar: "https://example.org/a.png"},
		},
		Database:    DatabaseConfig{Type: "mysql", URI: "", MaxOpenConns: 0, MaxIdleConns: -1},
		Permissions: Permissions{"not a server": LevelUser, "@bad": LevelUser, "*": Level(9)},
		Logging:     LoggingConfig{Level: "loud", Format: "xml"},
		Media:       MediaConfig{MaxFileSize: -1, Transfers: 65},
	}
	want := map[string]string{
		"media.max_file_size":         "must be positive",
		"media.transfers":             "between 1 and 64",
		"homeserver.address":          "http:// or https://",
		"homeserver.domain":           "not a valid server name",
		"appservice.address":          "http:// or https://",
		"appservice.hostname":         "required",
		"appservice.port":             "between 1 and 65535",
		"appservice.id":               "a-z, A-Z, 0-9",
		"appservice.bot.username":     "Matrix localpart",
		"appservice.bot.avatar":       "mxc://",
		"appservice.as_token":         "required",
		"appservice.hs_token":         "required",
		"database.type":               "sqlite3-fk-wal or postgres",
		"database.uri":                "required",
		"database.max_open_conns":     "at least 1",
		"database.max_idle_conns":     "negative",
		`permissions["not a server"]`: "server name",
		`permissions["@bad"]`:         "not a valid user ID",
		`permissions["*"]`:            "unknown permission level 9",
		"logging.level":               "trace, debug, info, warn, error",
		"logging.format":              "pretty or json",
	}
	err := cfg.Validate(true)
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want a *ValidationError, got %v", err)
	}
	got := map[string]string{}
	for _, p := range verr.Problems {
		got[p.Path] += p.Message
	}
	for path, fragment := range want {
		if !strings.Contains(got[path], fragment) {
			t.Errorf("%s: want a problem containing %q, got %q", path, fragment, got[path])
		}
		if !strings.Contains(err.Error(), path+": ") {
			t.Errorf("error text does not name %s:\n%v", path, err)
		}
	}
	var problem Problem
	if !errors.As(err, &problem) || problem != verr.Problems[0] {
		t.Errorf("errors.As must reach the individual problems, got %v", problem)
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("unexpected problem %s: %s", path, got[path])
		}
	}
}

func TestValidateTokens(t *testing.T) {
	tests := []struct {
		name          string
		as, hs        string
		requireTokens bool
		wantPaths     []string
	}{
		{"empty, not required", "", "", false, nil},
		{"empty, required", "", "", true, []string{"appservice.as_token", "appservice.hs_token"}},
		{"one missing", "a", "", true, []string{"appservice.hs_token"}},
		{"set and distinct", "a", "b", true, nil},
		{"identical", "a", "a", true, []string{"appservice.hs_token"}},
		{"identical, not required", "a", "a", false, []string{"appservice.hs_token"}},
		{"whitespace", " a", "b\n", false, []string{"appservice.as_token", "appservice.hs_token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig(t)
			cfg.AppService.ASToken, cfg.AppService.HSToken = tt.as, tt.hs
			err := cfg.Validate(tt.requireTokens)
			if tt.wantPaths == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if got := problemPaths(t, err); !slices.Equal(got, tt.wantPaths) {
				t.Errorf("got %v, want %v", got, tt.wantPaths)
			}
		})
	}
}

func TestValidateDatabase(t *testing.T) {
	cfg := validConfig(t)
	cfg.Database.URI = "postgres://ferry@localhost/ferry"
	if got := problemPaths(t, cfg.Validate(false)); !slices.Equal(got, []string{"database.uri"}) {
		t.Errorf("a postgres URI with type sqlite3-fk-wal: got %v", got)
	}
	cfg.Database.Type = DatabasePostgres
	if err := cfg.Validate(false); err != nil {
		t.Error(err)
	}
}

func TestParseReportsProblemsWithKeyPaths(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		path     string
		fragment string
	}{
		{"type error", "appservice:\n  port: abc\n", "appservice.port", `line 2: expected an integer, got "abc"`},
		{"mapping for a string", "homeserver:\n  domain: {a: b}\n", "homeserver.domain", "expected a string, got a mapping"},
		{"scalar for a section", "database: sqlite\n", "database", `expected a mapping, got "sqlite"`},
		{"unknown top-level key", "whatsap: {}\n", "whatsap", "unknown top-level key (known: homeserver, appservice, database, permissions, logging, metrics, media, whatsapp, irc)"},
		{"unknown nested key", "appservice:\n  prot: 1\n", "appservice.prot", "unknown key"},
		{"unknown level", "permissions:\n  example.org: superuser\n", `permissions["example.org"]`, `unknown permission level "superuser"`},
		{"numeric level", "permissions:\n  example.org: 2\n", `permissions["example.org"]`, "unknown permission level"},
		{"missing level", "permissions:\n  '@a:example.org':\n", `permissions["@a:example.org"]`, "missing value"},
		{"duplicate key", "logging:\n  level: info\n  level: debug\n", "logging.level", "duplicate key (first given on line 2)"},
		{"root not a mapping", "- a\n", "(root)", "expected a mapping"},
		{"merge key", "appservice:\n  <<: {port: 1}\n", "appservice", "merge keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), bothNetworks)
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("want a *ValidationError, got %v", err)
			}
			for _, p := range verr.Problems {
				if p.Path == tt.path && strings.Contains(p.Message, tt.fragment) {
					return
				}
			}
			t.Errorf("want %s: ...%s..., got:\n%v", tt.path, tt.fragment, err)
		})
	}
}

func TestParseReportsEverythingAtOnce(t *testing.T) {
	data := "appservice:\n  port: abc\n  id: 'no spaces'\nlogging: {level: loud}\nwhatsap: {}\n"
	_, err := Parse([]byte(data), bothNetworks)
	got := problemPaths(t, err)
	// Decoding problems first, then what Validate finds elsewhere; port is
	// reported once (its default survives the failed decode).
	want := []string{"appservice.port", "whatsap", "homeserver.domain", "appservice.id", "logging.level"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestParseSyntaxError(t *testing.T) {
	if _, err := Parse([]byte("a: [\n"), nil); err == nil {
		t.Fatal("want a syntax error")
	}
}

func TestParseRejectsBadNetworkIDs(t *testing.T) {
	for _, n := range []network.NetworkID{"", "database", "Whats App"} {
		if _, err := Parse(nil, []network.NetworkID{n}); err == nil {
			t.Errorf("network ID %q accepted", n)
		}
	}
}

func TestNetworkSections(t *testing.T) {
	data := "homeserver: {domain: example.org}\nwhatsapp:\n  os_name: Ferry\nirc:\n"
	cfg, err := Parse([]byte(data), bothNetworks)
	if err != nil {
		t.Fatal(err)
	}
	var wa struct {
		OSName string `yaml:"os_name"`
	}
	if err := cfg.Networks["whatsapp"].Decode(&wa); err != nil || wa.OSName != "Ferry" {
		t.Errorf("whatsapp section: %+v, %v", wa, err)
	}
	if cfg.Networks["irc"] != nil {
		t.Error("an empty irc section must yield nil")
	}
	if _, err := Parse([]byte(data), []network.NetworkID{"irc"}); err == nil {
		t.Error("whatsapp is unknown when only irc is registered")
	}
}

func TestExampleConfig(t *testing.T) {
	cfg, err := Load(examplePath, bothNetworks)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(false); err != nil {
		t.Fatalf("example must validate without tokens: %v", err)
	}
	if got := problemPaths(t, cfg.Validate(true)); !slices.Equal(got, []string{"appservice.as_token", "appservice.hs_token"}) {
		t.Errorf("without tokens: %v", got)
	}
	cfg.AppService.ASToken, cfg.AppService.HSToken = "as", "hs"
	if err := cfg.Validate(true); err != nil {
		t.Errorf("example with tokens: %v", err)
	}
	for _, n := range bothNetworks {
		if cfg.Networks[n] == nil || cfg.Networks[n].Kind != yaml.MappingNode {
			t.Errorf("network section %s: %v", n, cfg.Networks[n])
		}
	}

	// The example shows the defaults: the core sections equal Default() plus
	// the domain and the illustrated permissions.
	want := Default()
	want.Homeserver.Domain = "example.org"
	want.Permissions = Permissions{"example.org": LevelUser, "@admin:example.org": LevelAdmin}
	want.AppService.ASToken, want.AppService.HSToken = "as", "hs"
	cfg.Networks = nil
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("example differs from the defaults:\n got %+v\nwant %+v", cfg, want)
	}
	if _, ok := cfg.Permissions["*"]; ok {
		t.Error(`the example must not grant anything to "*"`)
	}
}

func TestExampleNeedsItsNetworks(t *testing.T) {
	_, err := Load(examplePath, nil)
	if got := problemPaths(t, err); !slices.Equal(got, []string{"whatsapp", "irc"}) {
		t.Errorf("got %v", got)
	}
	if !strings.Contains(err.Error(), examplePath) {
		t.Errorf("Load errors name the file: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load(t.TempDir()+"/nope.yaml", nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v", err)
	}
}

// validConfig is the example config with tokens: valid for running.
func validConfig(t *testing.T) *Config {
	t.Helper()
	cfg, err := Load(examplePath, bothNetworks)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AppService.ASToken, cfg.AppService.HSToken = "as-token", "hs-token"
	return cfg
}

func TestMetricsListen(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string // the listen address parsed, when valid
		problem    bool
	}{
		{"absent: off", "", "", false},
		{"empty: off", "metrics: {listen: ''}", "", false},
		{"loopback", "metrics: {listen: '127.0.0.1:9400'}", "127.0.0.1:9400", false},
		{"all interfaces", "metrics: {listen: ':9400'}", ":9400", false},
		{"IPv6", "metrics: {listen: '[::1]:9400'}", "[::1]:9400", false},
		{"no port", "metrics: {listen: '127.0.0.1'}", "", true},
		{"port out of range", "metrics: {listen: '127.0.0.1:70000'}", "", true},
		{"a URL", "metrics: {listen: 'http://127.0.0.1:9400'}", "", true},
		{"the appservice's own port", "appservice: {hostname: 127.0.0.1, port: 29318}\nmetrics: {listen: '127.0.0.1:29318'}", "", true},
		{"unknown key", "metrics: {listen: '127.0.0.1:9400', path: /m}", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte("homeserver: {domain: example.org}\n"+tt.yaml+"\n"), nil)
			if err == nil {
				err = cfg.Validate(false)
			}
			if tt.problem {
				paths := problemPaths(t, err)
				if !slices.ContainsFunc(paths, func(p string) bool { return strings.HasPrefix(p, "metrics.") }) {
					t.Errorf("want a problem at metrics.*, got %v", paths)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Metrics.Listen != tt.want {
				t.Errorf("listen = %q, want %q", cfg.Metrics.Listen, tt.want)
			}
		})
	}
}

func TestMediaLimits(t *testing.T) {
	tests := []struct {
		name, yaml string
		size       ByteSize
		transfers  int
		problem    string // path of the expected problem
	}{
		{"defaults", "", 100 << 20, 4, ""},
		{"binary unit", "media: {max_file_size: 512 MiB, transfers: 8}", 512 << 20, 8, ""},
		{"fraction", "media: {max_file_size: 1.5GiB}", 3 << 29, 4, ""},
		{"decimal unit", "media: {max_file_size: 20 MB}", 20_000_000, 4, ""},
		{"plain bytes", "media: {max_file_size: 4096}", 4096, 4, ""},
		{"unknown unit", "media: {max_file_size: 5 parsecs}", 0, 0, "media.max_file_size"},
		{"not a number", "media: {max_file_size: lots}", 0, 0, "media.max_file_size"},
		{"zero", "media: {max_file_size: 0}", 0, 0, "media.max_file_size"},
		{"too many transfers", "media: {transfers: 100}", 0, 0, "media.transfers"},
		{"no transfers", "media: {transfers: 0}", 0, 0, "media.transfers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte("homeserver: {domain: example.org}\n"+tt.yaml+"\n"), nil)
			if err == nil {
				err = cfg.Validate(false)
			}
			if tt.problem != "" {
				if paths := problemPaths(t, err); !slices.Contains(paths, tt.problem) {
					t.Errorf("want a problem at %s, got %v", tt.problem, paths)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Media.MaxFileSize != tt.size || cfg.Media.Transfers != tt.transfers {
				t.Errorf("media %+v, want %d bytes and %d transfers", cfg.Media, tt.size, tt.transfers)
			}
		})
	}
	if s := ByteSize(100 << 20).String(); s != "100 MiB" {
		t.Errorf("String() = %q", s)
	}
}
