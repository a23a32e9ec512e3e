package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"
)

// Problem is one thing wrong with the configuration, at one key path.
type Problem struct {
	Path    string // e.g. "appservice.port", `permissions["example.org"]`
	Message string
}

func (p Problem) Error() string { return p.Path + ": " + p.Message }

// ValidationError lists every problem found in a configuration.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid configuration: " + e.Problems[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

var (
	// appserviceIDRegex is the character set the brief and Synapse accept for
	// an appservice ID.
	appserviceIDRegex = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	// botLocalpartRegex is the Matrix user ID localpart grammar without the
	// "+" that newer spec versions allow: older homeservers reject it.
	botLocalpartRegex = regexp.MustCompile(`^[a-z0-9._=/-]+$`)
)

// Validate checks the configuration and returns a *ValidationError listing
// every problem, each with its key path, or nil. requireTokens is false for
// `ferry -g` (which fills the tokens in) and true for running the bridge.
func (c *Config) Validate(requireTokens bool) error {
	var problems []Problem
	add := func(path, format string, args ...any) {
		problems = append(problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}

	checkHTTPURL(add, "homeserver.address", c.Homeserver.Address)
	switch {
	case c.Homeserver.Domain == "":
		add("homeserver.domain", "required: the server name in your user IDs (the part after the colon)")
	case !id.ValidateServerName(c.Homeserver.Domain):
		add("homeserver.domain", "%q is not a valid server name", c.Homeserver.Domain)
	}

	as := c.AppService
	checkHTTPURL(add, "appservice.address", as.Address)
	if as.PublicAddress != "" {
		checkHTTPURL(add, "appservice.public_address", as.PublicAddress)
	}
	switch {
	case strings.TrimSpace(as.Hostname) == "":
		add("appservice.hostname", "required: the address to listen on, e.g. 127.0.0.1")
	case strings.Contains(as.Hostname, "/"):
		add("appservice.hostname", "%q must be a host name or IP address, not a URL", as.Hostname)
	}
	if as.Port < 1 || as.Port > 65535 {
		add("appservice.port", "must be between 1 and 65535, got %d", as.Port)
	}
	if !appserviceIDRegex.MatchString(as.ID) {
		add("appservice.id", "%q must be non-empty and contain only a-z, A-Z, 0-9, '_', '.' and '-'", as.ID)
	}
	switch {
	case !botLocalpartRegex.MatchString(as.Bot.Username):
		add("appservice.bot.username", "%q must be a non-empty Matrix localpart: lowercase a-z, 0-9 and ._=-/ only", as.Bot.Username)
	case len(c.BotMXID()) > id.UserIDMaxLength:
		add("appservice.bot.username", "too long: the bot's user ID would exceed %d characters", id.UserIDMaxLength)
	}
	if as.Bot.Avatar != "" {
		if _, err := id.ParseContentURI(as.Bot.Avatar); err != nil {
			add("appservice.bot.avatar", "%q must be an mxc:// URI or empty", as.Bot.Avatar)
		}
	}
	if requireTokens {
		if as.ASToken == "" {
			add("appservice.as_token", "required: run `ferry -g` to generate the tokens and the registration file")
		}
		if as.HSToken == "" {
			add("appservice.hs_token", "required: run `ferry -g` to generate the tokens and the registration file")
		}
	}
	if strings.ContainsFunc(as.ASToken, unicode.IsSpace) {
		add("appservice.as_token", "must not contain whitespace")
	}
	if strings.ContainsFunc(as.HSToken, unicode.IsSpace) {
		add("appservice.hs_token", "must not contain whitespace")
	}
	if as.ASToken != "" && as.ASToken == as.HSToken {
		add("appservice.hs_token", "must differ from appservice.as_token (empty it and run `ferry -g` again)")
	}

	db := c.Database
	switch db.Type {
	case DatabaseSQLite, DatabasePostgres:
	default:
		add("database.type", "%q must be %s or %s", db.Type, DatabaseSQLite, DatabasePostgres)
	}
	switch {
	case db.URI == "":
		add("database.uri", "required")
	case db.Type == DatabaseSQLite && (strings.HasPrefix(db.URI, "postgres://") || strings.HasPrefix(db.URI, "postgresql://")):
		add("database.uri", "is a PostgreSQL URI, but database.type is %s", DatabaseSQLite)
	}
	if db.MaxOpenConns < 1 {
		add("database.max_open_conns", "must be at least 1, got %d", db.MaxOpenConns)
	}
	if db.MaxIdleConns < 0 {
		add("database.max_idle_conns", "must not be negative, got %d", db.MaxIdleConns)
	}

	c.Permissions.validate(add)

	if _, err := parseLogLevel(c.Logging.Level); err != nil {
		add("logging.level", "%v", err)
	}
	if c.Logging.Format != "pretty" && c.Logging.Format != "json" {
		add("logging.format", "%q must be pretty or json", c.Logging.Format)
	}

	if c.Media.MaxFileSize < 1 {
		add("media.max_file_size", "must be positive, got %d", c.Media.MaxFileSize)
	}
	if c.Media.Transfers < 1 || c.Media.Transfers > 64 {
		add("media.transfers", "must be between 1 and 64, got %d", c.Media.Transfers)
	}

	if c.Metrics.Listen != "" {
		checkListen(add, "metrics.listen", c.Metrics.Listen)
		if c.Metrics.Listen == net.JoinHostPort(as.Hostname, strconv.Itoa(as.Port)) {
			add("metrics.listen", "%q is the appservice's own address; give metrics a port of their own", c.Metrics.Listen)
		}
	}

	if len(problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: problems}
}

func checkHTTPURL(add func(path, format string, args ...any), path, value string) {
	if value == "" {
		add(path, "required")
		return
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add(path, "%q must be an http:// or https:// URL", value)
	}
}

// checkListen checks a host:port to listen on (the host may be empty for
// every interface).
func checkListen(add func(path, format string, args ...any), path, value string) {
	host, port, err := net.SplitHostPort(value)
	if err != nil {
		add(path, "%q must be host:port, e.g. 127.0.0.1:9400", value)
		return
	}
	if strings.ContainsAny(host, "/ ") {
		add(path, "%q: the host must be a host name or IP address, not a URL", value)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		add(path, "%q: the port must be between 1 and 65535", value)
	}
}

// parseLogLevel accepts zerolog's level names only (not its numbers, nor the
// empty string that zerolog.ParseLevel takes for "no level").
func parseLogLevel(s string) (zerolog.Level, error) {
	switch strings.ToLower(s) {
	case "trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled":
		return zerolog.ParseLevel(strings.ToLower(s))
	}
	return zerolog.NoLevel, fmt.Errorf("%q must be one of trace, debug, info, warn, error", s)
}
