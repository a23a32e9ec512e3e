package config

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := LoggingConfig{Level: "warn", Format: "json"}.Logger(&buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Msg("hidden")
	log.Warn().Str("network", "irc").Msg("shown")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("want one JSON line, got %q: %v", buf.String(), err)
	}
	if line["message"] != "shown" || line["network"] != "irc" || line["level"] != "warn" || line["time"] == nil {
		t.Errorf("got %v", line)
	}

	buf.Reset()
	log, err = LoggingConfig{Level: "debug", Format: "pretty"}.Logger(&buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug().Str("network", "irc").Msg("pretty")
	out := buf.String()
	if !strings.Contains(out, "pretty") || !strings.Contains(out, "network=irc") || strings.HasPrefix(out, "{") || strings.Contains(out, "\x1b[") {
		t.Errorf("want uncoloured console output, got %q", out)
	}
}

func TestLoggerRejectsBadSettings(t *testing.T) {
	for _, l := range []LoggingConfig{{Level: "loud", Format: "json"}, {Level: "", Format: "json"}, {Level: "1", Format: "json"}, {Level: "info", Format: "xml"}} {
		if _, err := l.Logger(&bytes.Buffer{}); err == nil {
			t.Errorf("%+v accepted", l)
		}
	}
}
