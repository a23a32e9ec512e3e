package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/appservice"

	"github.com/ferrybridge/ferry/bridge/network"
)

var (
	ghostNetworks = []network.NetworkID{"whatsapp", "irc"}
	aliasNetworks = []network.NetworkID{"irc"}
)

// copyExample puts config.example.yaml into a fresh directory, world-readable
// like a file an admin just copied, and returns the config and registration paths.
func copyExample(t *testing.T) (configPath, registrationPath string) {
	t.Helper()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	configPath = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(configPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return configPath, filepath.Join(dir, "registration.yaml")
}

func generate(t *testing.T, configPath, registrationPath string) string {
	t.Helper()
	instructions, err := GenerateRegistration(configPath, registrationPath, ghostNetworks, aliasNetworks)
	if err != nil {
		t.Fatal(err)
	}
	return instructions
}

func assertMode0600(t *testing.T, path string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("%s has mode %o, want 600", filepath.Base(path), mode)
	}
}

func TestGenerateRegistration(t *testing.T) {
	configPath, registrationPath := copyExample(t)
	original, _ := os.ReadFile(configPath)
	// An old registration file, world-readable: it must be replaced and chmodded.
	if err := os.WriteFile(registrationPath, []byte("old: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	instructions := generate(t, configPath, registrationPath)

	cfg, err := Load(configPath, bothNetworks)
	if err != nil {
		t.Fatal(err)
	}
	as, hs := cfg.AppService.ASToken, cfg.AppService.HSToken
	if len(as) != 64 || len(hs) != 64 || as == hs {
		t.Fatalf("tokens %q and %q: want two distinct 64-character tokens", as, hs)
	}
	if err := cfg.Validate(true); err != nil {
		t.Errorf("the generated config must be ready to run: %v", err)
	}

	// Only the two token lines changed: comments, blank lines, order and
	// indentation survive byte for byte.
	updated, _ := os.ReadFile(configPath)
	if !strings.Contains(string(updated), "# There is deliberately no \"*\" entry: letting the whole federation be relayed\n") {
		t.Error("a distinctive comment line was lost")
	}
	oldLines, newLines := strings.Split(string(original), "\n"), strings.Split(string(updated), "\n")
	if len(oldLines) != len(newLines) {
		t.Fatalf("line count changed from %d to %d", len(oldLines), len(newLines))
	}
	for i := range oldLines {
		if oldLines[i] == newLines[i] {
			continue
		}
		wantAS, wantHS := `    as_token: `+as, `    hs_token: `+hs
		if !(oldLines[i] == `    as_token: ""` && newLines[i] == wantAS) && !(oldLines[i] == `    hs_token: ""` && newLines[i] == wantHS) {
			t.Errorf("line %d changed: %q -> %q", i+1, oldLines[i], newLines[i])
		}
	}

	reg, err := appservice.LoadRegistration(registrationPath)
	if err != nil {
		t.Fatal(err)
	}
	if reg.AppToken != as || reg.ServerToken != hs || reg.ID != "ferry" || reg.URL != "http://127.0.0.1:29318" ||
		reg.SenderLocalpart != "ferry" || !reg.EphemeralEvents || reg.RateLimited == nil || *reg.RateLimited {
		t.Errorf("registration: %+v", reg)
	}
	checkNamespaces(t, "users", reg.Namespaces.UserIDs, []string{`^@ferry:example\.org$`, `^@whatsapp_.*:example\.org$`, `^@irc_.*:example\.org$`})
	checkNamespaces(t, "aliases", reg.Namespaces.RoomAliases, []string{`^#irc_.*:example\.org$`})

	assertMode0600(t, configPath)
	assertMode0600(t, registrationPath)

	absReg, _ := filepath.Abs(registrationPath)
	for _, want := range []string{
		`app_service_config_files: ["` + absReg + `"]`,
		"app_service_api:\n      config_files: [\"" + absReg + `"]`,
		"Synapse", "Dendrite",
	} {
		if !strings.Contains(instructions, want) {
			t.Errorf("instructions lack %q:\n%s", want, instructions)
		}
	}

	// A second run keeps the tokens and the file, and fixes the modes again.
	regBefore, _ := os.ReadFile(registrationPath)
	if err := os.Chmod(configPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(registrationPath, 0o644); err != nil {
		t.Fatal(err)
	}
	generate(t, configPath, registrationPath)
	again, _ := os.ReadFile(configPath)
	if string(again) != string(updated) {
		t.Error("a second run changed the config")
	}
	regAfter, _ := os.ReadFile(registrationPath)
	if string(regAfter) != string(regBefore) {
		t.Errorf("a second run changed the registration:\n%s\n---\n%s", regBefore, regAfter)
	}
	assertMode0600(t, configPath)
	assertMode0600(t, registrationPath)
}

func TestGenerateRegistrationTokensAreRandom(t *testing.T) {
	seen := map[string]bool{}
	for range 2 {
		configPath, registrationPath := copyExample(t)
		generate(t, configPath, registrationPath)
		cfg, err := Load(configPath, bothNetworks)
		if err != nil {
			t.Fatal(err)
		}
		for _, token := range []string{cfg.AppService.ASToken, cfg.AppService.HSToken} {
			if seen[token] {
				t.Errorf("token %s generated twice", token)
			}
			seen[token] = true
		}
	}
}

func TestGenerateRegistrationKeepsExistingTokens(t *testing.T) {
	configPath, registrationPath := copyExample(t)
	data, _ := os.ReadFile(configPath)
	data = []byte(strings.Replace(string(data), `as_token: ""`, `as_token: "existing-as-token"`, 1))
	if err := os.WriteFile(configPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	generate(t, configPath, registrationPath)
	cfg, err := Load(configPath, bothNetworks)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AppService.ASToken != "existing-as-token" || len(cfg.AppService.HSToken) != 64 {
		t.Errorf("tokens %q, %q", cfg.AppService.ASToken, cfg.AppService.HSToken)
	}
}

func TestGenerateRegistrationRefuses(t *testing.T) {
	tests := []struct {
		name, from, to, wantPath string
	}{
		{"invalid config", "port: 29318", "port: 0", "appservice.port"},
		{"identical tokens", "as_token: \"\"\n    hs_token: \"\"", "as_token: same\n    hs_token: same", "appservice.hs_token"},
		{"bot inside a ghost namespace", "username: ferry", "username: irc_bot", "appservice.bot.username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			configPath, registrationPath := copyExample(t)
			data, _ := os.ReadFile(configPath)
			edited := strings.Replace(string(data), tt.from, tt.to, 1)
			if edited == string(data) {
				t.Fatalf("%q not in the example", tt.from)
			}
			if err := os.WriteFile(configPath, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := GenerateRegistration(configPath, registrationPath, ghostNetworks, aliasNetworks)
			if err == nil || !strings.Contains(err.Error(), tt.wantPath+": ") {
				t.Fatalf("want a problem at %s, got %v", tt.wantPath, err)
			}
			if after, _ := os.ReadFile(configPath); string(after) != edited {
				t.Error("the config was changed")
			}
			if _, err := os.Stat(registrationPath); !os.IsNotExist(err) {
				t.Error("a registration was written")
			}
		})
	}
}

func TestSetAppServiceKeysSplices(t *testing.T) {
	set := []keyValue{{"as_token", "AAA"}, {"hs_token", "HHH"}}
	tests := []struct{ name, in, want string }{
		{
			"empty forms and comments",
			"appservice:\n  id: x\n\n  as_token:   # filled by ferry -g\n  hs_token: ~\n",
			"appservice:\n  id: x\n\n  as_token: AAA   # filled by ferry -g\n  hs_token: HHH\n",
		},
		{
			"quoted keys and values",
			"appservice:\n    \"as_token\": ''\n    'hs_token' : null  # x\nlogging: {}\n",
			"appservice:\n    \"as_token\": AAA\n    'hs_token' : HHH  # x\nlogging: {}\n",
		},
		{
			"CRLF line endings",
			"appservice:\r\n  as_token: \"\"\r\n  hs_token: \"\"\r\n",
			"appservice:\r\n  as_token: AAA\r\n  hs_token: HHH\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := setAppServiceKeys([]byte(tt.in), set)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// When the keys cannot be replaced in place, the node tree is edited and
// re-encoded: comments, order and indentation still survive.
func TestSetAppServiceKeysReencodes(t *testing.T) {
	set := []keyValue{{"as_token", "AAA"}, {"hs_token", "HHH"}}
	tests := []struct {
		name, in string
		keep     []string // substrings that must survive
	}{
		{"keys absent", "# head comment\nappservice:\n  id: x  # the id\nlogging:\n  level: info\n", []string{"# head comment\n", "  id: x # the id\n", "  as_token: AAA\n", "logging:\n  level: info\n"}},
		{"section absent", "homeserver:\n    domain: a.org # d\n", []string{"    domain: a.org # d\n", "appservice:\n    as_token: AAA\n    hs_token: HHH\n"}},
		{"null section", "appservice: # ours\nlogging: {}\n", []string{"# ours", "as_token: AAA"}},
		{"flow section", "appservice: {id: x, as_token: \"\", hs_token: \"\"}\n", []string{"id: x"}},
		{"value on the next line", "appservice:\n  as_token:\n    \"\"\n  hs_token: \"\"\n", nil},
		{"empty file", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := setAppServiceKeys([]byte(tt.in), set)
			if err != nil {
				t.Fatal(err)
			}
			var back struct {
				AppService struct {
					AS string `yaml:"as_token"`
					HS string `yaml:"hs_token"`
				} `yaml:"appservice"`
			}
			if err := yaml.Unmarshal(got, &back); err != nil || back.AppService.AS != "AAA" || back.AppService.HS != "HHH" {
				t.Fatalf("tokens not set (%v):\n%s", err, got)
			}
			for _, s := range tt.keep {
				if !strings.Contains(string(got), s) {
					t.Errorf("lost %q:\n%s", s, got)
				}
			}
		})
	}
}
