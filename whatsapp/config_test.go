package whatsapp

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func parseYAML(t *testing.T, text string) (Config, error) {
	t.Helper()
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(text), &node); err != nil {
		t.Fatal(err)
	}
	return ParseConfig(&node)
}

func TestConfigDefaults(t *testing.T) {
	for _, node := range []*yaml.Node{nil, {}} {
		cfg, err := ParseConfig(node)
		if err != nil {
			t.Fatalf("defaults: %v", err)
		}
		if cfg.DisplaynameTemplate != DefaultDisplaynameTemplate || cfg.OSName != "Ferry" ||
			cfg.connectTimeout() != 30*time.Second || cfg.HistorySync.MaxChats != 50 {
			t.Errorf("defaults: %+v", cfg)
		}
	}
	if _, err := parseYAML(t, "{}"); err != nil {
		t.Errorf("empty section: %v", err)
	}
}

func TestConfigDecodes(t *testing.T) {
	cfg, err := parseYAML(t, `
displayname_template: "{{.PushName}} on WA"
os_name: Ferry Test
browser_name: Chrome
connect_timeout: 5s
history_sync:
    max_chats: 10
    max_messages_per_chat: 0
    max_age: 7d
`)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OSName != "Ferry Test" || cfg.BrowserName != "Chrome" || cfg.connectTimeout() != 5*time.Second ||
		cfg.HistorySync.MaxChats != 10 || cfg.HistorySync.MaxMessagesPerChat != 0 ||
		time.Duration(cfg.HistorySync.MaxAge) != 7*24*time.Hour {
		t.Errorf("decoded %+v", cfg)
	}
	if got := cfg.displayName(nameData{PushName: "Bob"}); got == nil || *got != "Bob on WA" {
		t.Errorf("custom template gave %v", got)
	}
}

func TestConfigErrorsNameKeyPaths(t *testing.T) {
	cases := map[string][]string{
		`displayname_template: "{{.FullName}}"`:     {"whatsapp.displayname_template:", "FullName"},
		`displayname_template: "{{.PushName"`:       {"whatsapp.displayname_template:"},
		`displayname_template: " "`:                 {"whatsapp.displayname_template: must not be empty"},
		`displayname_template: "{{.BusinessName}}"`: {"whatsapp.displayname_template: gives an empty name"},
		`os_name: ""`:                               {"whatsapp.os_name: must not be empty"},
		`browser_name: netscape`:                    {`whatsapp.browser_name: "netscape" is not one of`},
		`connect_timeout: soon`:                     {"whatsapp.connect_timeout:", "not a duration"},
		`connect_timeout: 100ms`:                    {"whatsapp.connect_timeout: must be at least 1s"},
		`connect_timeout: 1h`:                       {"whatsapp.connect_timeout: must be at most 10m"},
		`history_sync: {max_chats: many}`:           {"whatsapp.history_sync.max_chats:"},
		`history_sync: {max_messages_per_chat: -1}`: {"whatsapp.history_sync.max_messages_per_chat: must not be negative"},
		`history_sync: {max_age: -5d}`:              {"whatsapp.history_sync.max_age:"},
		`history_sync: {max_agee: 5d}`:              {"whatsapp.history_sync.max_agee: unknown key"},
		`history_sync: 5`:                           {"whatsapp.history_sync: must be a mapping"},
		`displayname: x`:                            {"whatsapp.displayname: unknown key (known: browser_name, connect_timeout"},
		`[1, 2]`:                                    {"whatsapp: must be a mapping"},
		`status_broadcasts: maybe`:                  {"whatsapp.status_broadcasts:"},
	}
	for text, wants := range cases {
		_, err := parseYAML(t, text)
		if err == nil {
			t.Errorf("%s: accepted", text)
			continue
		}
		for _, want := range wants {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q lacks %q", text, err, want)
			}
		}
	}
	// Every problem at once.
	_, err := parseYAML(t, "os_name: ''\nconnect_timeout: 0s\nbrowser_name: x")
	if err == nil || strings.Count(err.Error(), "whatsapp.") != 3 {
		t.Errorf("want three problems, got %v", err)
	}
}

func TestStatusBroadcastsAreOffByDefault(t *testing.T) {
	for text, want := range map[string]bool{"": false, "status_broadcasts: false": false, "status_broadcasts: true": true} {
		if cfg, err := parseYAML(t, text); err != nil || cfg.StatusBroadcasts != want {
			t.Errorf("%q: status_broadcasts %v, %v; want %v", text, cfg.StatusBroadcasts, err, want)
		}
	}
}

func TestDisplayNameTemplate(t *testing.T) {
	cfg := DefaultConfig()
	if problems := cfg.validate(); len(problems) > 0 {
		t.Fatal(problems)
	}
	cases := []struct {
		in   nameData
		want string // "" means nil: unknown
	}{
		{nameData{PushName: "Bob", Phone: "+4915100000002"}, "Bob (WhatsApp)"},
		{nameData{PushName: "Bob", BusinessName: "Bob's Bikes", Phone: "+4915100000002"}, "Bob's Bikes (WhatsApp)"},
		{nameData{Phone: "+4915100000002"}, "+4915100000002 (WhatsApp)"},
		{nameData{Phone: "+49∙∙∙∙∙∙∙∙02"}, "+49∙∙∙∙∙∙∙∙02 (WhatsApp)"},
		{nameData{}, ""},
	}
	for _, tc := range cases {
		got := cfg.displayName(tc.in)
		switch {
		case tc.want == "" && got != nil:
			t.Errorf("%+v: got %q, want nil", tc.in, *got)
		case tc.want != "" && (got == nil || *got != tc.want):
			t.Errorf("%+v: got %v, want %q", tc.in, got, tc.want)
		}
	}
}
