package whatsapp

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"go.mau.fi/whatsmeow/proto/waCompanionReg"
	"gopkg.in/yaml.v3"
)

// Config is the `whatsapp:` section of Ferry's configuration.
type Config struct {
	// DisplaynameTemplate names ghosts: a Go text/template over
	// {{.PushName}} (the name the person chose), {{.BusinessName}} (a
	// verified business name) and {{.Phone}} ("+<digits>", or the number
	// as WhatsApp masks it for people known only by LID). A person's
	// private contact-book name is never offered: a ghost has one name for
	// everybody.
	DisplaynameTemplate string `yaml:"displayname_template"`
	// OSName and BrowserName make the name the phone shows under "Linked
	// devices".
	OSName      string `yaml:"os_name"`
	BrowserName string `yaml:"browser_name"`
	// ConnectTimeout bounds every wait for WhatsApp's servers during a
	// login, and is how long a connecting login may take before it is
	// reported as "still connecting".
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// HistorySync limits the history bridged after linking (history.go),
	// so that linking does not flood the homeserver.
	HistorySync HistorySyncConfig `yaml:"history_sync"`
	// ViewOnce bridges view-once photos, videos and voice messages like
	// any other media (they then stay in the Matrix room for good); off,
	// each becomes a notice saying it was not bridged.
	ViewOnce bool `yaml:"view_once"`
	// StatusBroadcasts bridges the status updates of the login's contacts
	// into one room per login ("WhatsApp status"). Off by default: status
	// updates are many, mostly photos and videos, and expire after a day
	// on WhatsApp but would stay in Matrix.
	StatusBroadcasts bool `yaml:"status_broadcasts"`

	nameTemplate *template.Template
}

type HistorySyncConfig struct {
	// MaxChats is how many of the most recent chats get history (0: none).
	MaxChats int `yaml:"max_chats"`
	// MaxMessagesPerChat bounds the messages bridged into each chat: the
	// newest ones (0: none).
	MaxMessagesPerChat int `yaml:"max_messages_per_chat"`
	// MaxAge skips messages older than this, and chats with none newer
	// (0: no age limit).
	MaxAge Duration `yaml:"max_age"`
}

// Duration is a time.Duration written as Go writes them ("90s", "1h30m")
// or in whole days ("30d").
type Duration time.Duration

func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	var s string
	if err := node.Decode(&s); err != nil {
		return err
	}
	parsed, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(parsed)
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	parsed, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 30s, 5m, 2h, 30d)", s)
	}
	return parsed, nil
}

// DefaultDisplaynameTemplate prefers the name people chose for themselves.
const DefaultDisplaynameTemplate = "{{or .BusinessName .PushName .Phone}} (WhatsApp)"

func DefaultConfig() Config {
	return Config{
		DisplaynameTemplate: DefaultDisplaynameTemplate,
		OSName:              "Ferry",
		BrowserName:         "desktop",
		ConnectTimeout:      Duration(30 * time.Second),
		HistorySync: HistorySyncConfig{
			MaxChats:           50,
			MaxMessagesPerChat: 100,
			MaxAge:             Duration(30 * 24 * time.Hour),
		},
	}
}

// platforms are the browser_name values WhatsApp knows for linked devices.
var platforms = map[string]waCompanionReg.DeviceProps_PlatformType{
	"chrome":  waCompanionReg.DeviceProps_CHROME,
	"firefox": waCompanionReg.DeviceProps_FIREFOX,
	"safari":  waCompanionReg.DeviceProps_SAFARI,
	"edge":    waCompanionReg.DeviceProps_EDGE,
	"opera":   waCompanionReg.DeviceProps_OPERA,
	"ie":      waCompanionReg.DeviceProps_IE,
	"desktop": waCompanionReg.DeviceProps_DESKTOP,
	"unknown": waCompanionReg.DeviceProps_UNKNOWN,
}

// sectionKeys are the keys the section may have, for typo detection.
var sectionKeys = map[string][]string{
	"":             {"displayname_template", "os_name", "browser_name", "connect_timeout", "history_sync", "view_once", "status_broadcasts"},
	"history_sync": {"max_chats", "max_messages_per_chat", "max_age"},
}

// ParseConfig decodes the section (nil or empty: defaults) and validates it.
// Every problem is reported with its key path, all at once.
func ParseConfig(node *yaml.Node) (Config, error) {
	cfg := DefaultConfig()
	if node != nil && node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	var problems []string
	if node != nil && node.Kind != 0 && node.Tag != "!!null" {
		problems = decodeSection(node, "", &cfg)
	}
	problems = append(problems, cfg.validate()...)
	if len(problems) > 0 {
		return cfg, errors.New(strings.Join(problems, "; "))
	}
	return cfg, nil
}

// decodeSection decodes key by key, so that a value of the wrong type is
// reported under its own key path.
func decodeSection(node *yaml.Node, prefix string, cfg *Config) []string {
	path := "whatsapp"
	if prefix != "" {
		path += "." + prefix
	}
	if node.Kind != yaml.MappingNode {
		return []string{path + ": must be a mapping of keys to values"}
	}
	var problems []string
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i].Value, node.Content[i+1]
		keyPath := path + "." + key
		target := fieldFor(cfg, prefix, key)
		if prefix == "" && key == "history_sync" {
			problems = append(problems, decodeSection(value, "history_sync", cfg)...)
			continue
		}
		if target == nil {
			known := append([]string(nil), sectionKeys[prefix]...)
			sort.Strings(known)
			problems = append(problems, fmt.Sprintf("%s: unknown key (known: %s)", keyPath, strings.Join(known, ", ")))
			continue
		}
		if err := value.Decode(target); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s", keyPath, yamlMessage(err)))
		}
	}
	return problems
}

func fieldFor(cfg *Config, prefix, key string) any {
	switch prefix + "." + key {
	case ".displayname_template":
		return &cfg.DisplaynameTemplate
	case ".os_name":
		return &cfg.OSName
	case ".browser_name":
		return &cfg.BrowserName
	case ".connect_timeout":
		return &cfg.ConnectTimeout
	case ".view_once":
		return &cfg.ViewOnce
	case ".status_broadcasts":
		return &cfg.StatusBroadcasts
	case "history_sync.max_chats":
		return &cfg.HistorySync.MaxChats
	case "history_sync.max_messages_per_chat":
		return &cfg.HistorySync.MaxMessagesPerChat
	case "history_sync.max_age":
		return &cfg.HistorySync.MaxAge
	}
	return nil
}

// yamlMessage drops yaml.v3's "line N:" and Go type names where it can.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
			msg = rest
		}
		return msg
	}
	return err.Error()
}

func (cfg *Config) validate() []string {
	var problems []string
	add := func(path, format string, args ...any) {
		problems = append(problems, "whatsapp."+path+": "+fmt.Sprintf(format, args...))
	}
	tmpl, err := template.New("displayname").Option("missingkey=error").Parse(cfg.DisplaynameTemplate)
	switch {
	case strings.TrimSpace(cfg.DisplaynameTemplate) == "":
		add("displayname_template", "must not be empty")
	case err != nil:
		add("displayname_template", "%v", err)
	default:
		sample := nameData{PushName: "Alice", BusinessName: "", Phone: "+4915112345678"}
		var out bytes.Buffer
		if err = tmpl.Execute(&out, sample); err != nil {
			add("displayname_template", "%v (the fields are .PushName, .BusinessName and .Phone)", err)
		} else if strings.TrimSpace(out.String()) == "" {
			add("displayname_template", "gives an empty name for a person with a push name")
		} else {
			cfg.nameTemplate = tmpl
		}
	}
	if strings.TrimSpace(cfg.OSName) == "" {
		add("os_name", "must not be empty: it names the linked device on the phone")
	}
	if _, ok := platforms[strings.ToLower(cfg.BrowserName)]; !ok {
		names := make([]string, 0, len(platforms))
		for name := range platforms {
			names = append(names, name)
		}
		sort.Strings(names)
		add("browser_name", "%q is not one of %s", cfg.BrowserName, strings.Join(names, ", "))
	}
	switch ct := time.Duration(cfg.ConnectTimeout); {
	case ct < time.Second:
		add("connect_timeout", "must be at least 1s")
	case ct > 10*time.Minute:
		add("connect_timeout", "must be at most 10m")
	}
	if cfg.HistorySync.MaxChats < 0 {
		add("history_sync.max_chats", "must not be negative")
	}
	if cfg.HistorySync.MaxMessagesPerChat < 0 {
		add("history_sync.max_messages_per_chat", "must not be negative")
	}
	if cfg.HistorySync.MaxAge < 0 {
		add("history_sync.max_age", "must not be negative")
	}
	return problems
}

// nameData is what the display name template sees.
type nameData struct {
	PushName     string
	BusinessName string
	Phone        string
}

// displayName renders a ghost's name; nil when nothing is known of the
// person (the core then keeps whatever name it has).
func (cfg *Config) displayName(d nameData) *string {
	if d.PushName == "" && d.BusinessName == "" && d.Phone == "" {
		return nil
	}
	tmpl := cfg.nameTemplate
	if tmpl == nil {
		tmpl = template.Must(template.New("displayname").Parse(DefaultDisplaynameTemplate))
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, d); err != nil {
		return nil
	}
	name := strings.TrimSpace(out.String())
	if name == "" {
		return nil
	}
	return &name
}

func (cfg *Config) connectTimeout() time.Duration { return time.Duration(cfg.ConnectTimeout) }
