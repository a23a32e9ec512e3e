package localhs

import (
	"fmt"
	"path/filepath"
)

// FerryConfig describes a Ferry config for a homeserver of this package:
// server name localhost, everyone there an admin, SQLite in Dir. Tokens
// are left empty for `ferry -g` to fill.
type FerryConfig struct {
	Header         string // first comment line, e.g. "Written by ferry-demo."
	HomeserverPort int
	FerryPort      int
	Dir            string // where ferry.db lives
	DatabaseType   string // default sqlite3-fk-wal
	LogLevel       string // default info
	LogFormat      string // default pretty
	// MetricsListen, when set, turns on Ferry's /metrics there (host:port).
	MetricsListen string
	// NoPipelining turns homeserver.pipeline_sends off.
	NoPipelining bool
	// Networks is YAML appended at the top level (network sections).
	Networks string
}

// YAML renders the config file.
func (c FerryConfig) YAML() string {
	dbType, level, format := c.DatabaseType, c.LogLevel, c.LogFormat
	if dbType == "" {
		dbType = "sqlite3-fk-wal"
	}
	if level == "" {
		level = "info"
	}
	if format == "" {
		format = "pretty"
	}
	pipelining := ""
	if c.NoPipelining {
		pipelining = "    pipeline_sends: false\n"
	}
	metrics := ""
	if c.MetricsListen != "" {
		metrics = fmt.Sprintf("metrics:\n    listen: %q\n", c.MetricsListen)
	}
	return fmt.Sprintf(`# %s
homeserver:
    address: http://127.0.0.1:%d
    domain: localhost
%sappservice:
    address: http://127.0.0.1:%d
    hostname: 127.0.0.1
    port: %d
    id: ferry
    bot:
        username: ferry
        displayname: Ferry
    as_token: ""
    hs_token: ""
database:
    type: %s
    uri: file:%s?_txlock=immediate
permissions:
    localhost: admin
logging:
    level: %s
    format: %s
%s%s`, c.Header, c.HomeserverPort, pipelining, c.FerryPort, c.FerryPort, dbType, filepath.Join(c.Dir, "ferry.db"), level, format, metrics, c.Networks)
}
