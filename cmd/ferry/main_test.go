package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/bridge"
	"github.com/ferrybridge/ferry/bridge/config"
	"github.com/ferrybridge/ferry/irc"
	"github.com/ferrybridge/ferry/whatsapp"
)

func runFerry(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut, make(chan struct{}))
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runFerry(t, "--version")
	if code != 0 || strings.TrimSpace(out) != "ferry "+bridge.Version {
		t.Errorf("--version: exit %d, output %q", code, out)
	}
}

func TestBadConfigListsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	bad := "homeserver:\n    address: not a url\nappservice:\n    port: 70000\nlogging:\n    format: fancy\nfrobnicate: 1\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runFerry(t, "-c", path)
	if code == 0 {
		t.Fatalf("ferry started with a bad config")
	}
	for _, key := range []string{"homeserver.address", "homeserver.domain", "appservice.port", "logging.format", "frobnicate"} {
		if !strings.Contains(errOut, key) {
			t.Errorf("the error output does not name %s:\n%s", key, errOut)
		}
	}
}

func exampleConfig(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err = os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRefusesToRunWithoutTokens(t *testing.T) {
	code, _, errOut := runFerry(t, "-c", exampleConfig(t))
	if code == 0 || !strings.Contains(errOut, "as_token") || !strings.Contains(errOut, "hs_token") {
		t.Errorf("exit %d; want a refusal naming both tokens:\n%s", code, errOut)
	}
}

func TestRefusesEqualTokens(t *testing.T) {
	path := exampleConfig(t)
	data, _ := os.ReadFile(path)
	data = []byte(strings.Replace(strings.Replace(string(data), `as_token: ""`, `as_token: "same"`, 1), `hs_token: ""`, `hs_token: "same"`, 1))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runFerry(t, "-c", path)
	if code == 0 || !strings.Contains(errOut, "hs_token") {
		t.Errorf("exit %d with equal tokens:\n%s", code, errOut)
	}
}

func TestGenerateRegistration(t *testing.T) {
	cfgPath := exampleConfig(t)
	regPath := filepath.Join(filepath.Dir(cfgPath), "registration.yaml")
	code, out, errOut := runFerry(t, "-g", "-c", cfgPath, "-r", regPath)
	if code != 0 {
		t.Fatalf("ferry -g failed (%d): %s", code, errOut)
	}
	if !strings.Contains(out, "app_service_config_files") || !strings.Contains(out, regPath) {
		t.Errorf("ferry -g did not say what to add to the homeserver config:\n%s", out)
	}
	cfg, err := config.Load(cfgPath, configSections)
	if err != nil {
		t.Fatal(err)
	}
	if err = cfg.Validate(true); err != nil {
		t.Errorf("config after -g does not validate: %v", err)
	}
	reg, err := os.ReadFile(regPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{cfg.AppService.ASToken, cfg.AppService.HSToken, `@whatsapp_.*:example\.org`, `@irc_.*:example\.org`, `#irc_.*:example\.org`} {
		if !strings.Contains(string(reg), want) {
			t.Errorf("registration lacks %q:\n%s", want, reg)
		}
	}
	for _, p := range []string{cfgPath, regPath} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, st.Mode().Perm())
		}
	}
	// A second run keeps the tokens.
	if code, _, errOut = runFerry(t, "-g", "-c", cfgPath, "-r", regPath); code != 0 {
		t.Fatalf("second ferry -g failed: %s", errOut)
	}
	again, _ := config.Load(cfgPath, configSections)
	if again.AppService.ASToken != cfg.AppService.ASToken || again.AppService.HSToken != cfg.AppService.HSToken {
		t.Errorf("ferry -g rotated existing tokens")
	}
}

// TestExampleConfigNetworkSections: each network accepts its section of
// config.example.yaml.
func TestExampleConfigNetworkSections(t *testing.T) {
	cfg, err := config.Load("../../config.example.yaml", configSections)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := whatsapp.ParseConfig(cfg.Networks[whatsapp.NetworkID]); err != nil {
		t.Errorf("whatsapp rejects its example section: %v", err)
	}
	if _, err := irc.ParseConfig(cfg.Networks[irc.NetworkID]); err != nil {
		t.Errorf("irc rejects its example section: %v", err)
	}
}

// The collector is paced for the start, and restored after; an
// administrator's GOGC is not touched.
func TestStartupGCPacing(t *testing.T) {
	current := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	before := current()
	restore := relaxStartupGC()
	if got := current(); got != startupGCPercent {
		t.Errorf("GC percent during the start = %d, want %d", got, startupGCPercent)
	}
	restore()
	if got := current(); got != before {
		t.Errorf("GC percent after the start = %d, want %d as before", got, before)
	}

	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50)
	defer debug.SetGCPercent(before)
	restore = relaxStartupGC()
	if got := current(); got != 50 {
		t.Errorf("with GOGC=50 the start's GC percent = %d, want it left at 50", got)
	}
	restore()
}
