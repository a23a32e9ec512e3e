package config

import (
	"testing"

	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/id"
)

func TestPermissionsFor(t *testing.T) {
	perms := Permissions{
		"*":                  LevelRelay,
		"example.org":        LevelUser,
		"@admin:example.org": LevelAdmin,
		"@troll:example.org": LevelNone,
		"@boss:other.org":    LevelAdmin,
	}
	tests := []struct {
		perms Permissions
		user  id.UserID
		want  Level
	}{
		{perms, "@admin:example.org", LevelAdmin},      // user ID over server name
		{perms, "@alice:example.org", LevelUser},       // server name over "*"
		{perms, "@troll:example.org", LevelNone},       // an explicit none beats the server
		{perms, "@boss:other.org", LevelAdmin},         // user ID over "*"
		{perms, "@bob:other.org", LevelRelay},          // "*"
		{perms, "@alice:sub.example.org", LevelRelay},  // no suffix matching
		{perms, "@alice:example.org.evil", LevelRelay}, // no prefix matching
		{perms, "not a user id", LevelRelay},           // only "*" can match
		{Permissions{"example.org": LevelUser}, "@bob:other.org", LevelNone},
		{Permissions{"example.org": LevelUser}, "example.org", LevelNone}, // a bare server name is not a user
		{nil, "@alice:example.org", LevelNone},
	}
	for _, tt := range tests {
		if got := tt.perms.For(tt.user); got != tt.want {
			t.Errorf("For(%q) = %v, want %v", tt.user, got, tt.want)
		}
	}
}

func TestLevelOrder(t *testing.T) {
	if !(LevelNone < LevelRelay && LevelRelay < LevelUser && LevelUser < LevelAdmin) {
		t.Fatal("levels are not ordered")
	}
}

func TestLevelText(t *testing.T) {
	tests := []struct {
		in      string
		want    Level
		wantErr bool
	}{
		{"none", LevelNone, false},
		{"relay", LevelRelay, false},
		{"user", LevelUser, false},
		{"admin", LevelAdmin, false},
		{"Admin", LevelAdmin, false},
		{"superuser", LevelNone, true},
		{"", LevelNone, true},
		{"3", LevelNone, true},
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseLevel(%q) = %v, %v", tt.in, got, err)
		}
	}
	for l := LevelNone; l <= LevelAdmin; l++ {
		text, err := l.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Level
		if err := back.UnmarshalText(text); err != nil || back != l {
			t.Errorf("%v did not round-trip: %v %v", l, back, err)
		}
	}
	if _, err := Level(7).MarshalText(); err == nil {
		t.Error("Level(7) marshalled")
	}
}

func TestPermissionsYAMLRoundTrip(t *testing.T) {
	perms := Permissions{"example.org": LevelUser, "@admin:example.org": LevelAdmin, "*": LevelRelay}
	data, err := yaml.Marshal(perms)
	if err != nil {
		t.Fatal(err)
	}
	var back Permissions
	if err := yaml.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 3 || back["@admin:example.org"] != LevelAdmin || back["*"] != LevelRelay {
		t.Errorf("round trip: %s -> %v", data, back)
	}
	if err := yaml.Unmarshal([]byte("a: [user]"), &back); err == nil {
		t.Error("a list was accepted as a level")
	}
}
