package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
)

// The networks a build runs follow its tags: both by default, IRC alone
// with -tags ferry_no_whatsapp.
func TestConnectorsOfThisBuild(t *testing.T) {
	var got []network.NetworkID
	for _, c := range connectors() {
		got = append(got, c.ID())
	}
	want := []network.NetworkID{"whatsapp", "irc"}
	if !withWhatsApp {
		want = []network.NetworkID{"irc"}
	}
	if !slices.Equal(got, want) {
		t.Errorf("connectors = %v, want %v", got, want)
	}
}

// What makes a build without WhatsApp worth having is what it leaves out:
// none of the WhatsApp libraries is linked in.
func TestBuildWithoutWhatsAppLinksNoWhatsAppLibrary(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to list the build's packages")
	}
	deps := func(tags ...string) []string {
		args := append([]string{"list", "-deps"}, tags...)
		out, err := exec.Command(goTool, append(args, ".")...).Output()
		if err != nil {
			t.Fatalf("go %v: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	whatsappLibrary := func(pkg string) bool {
		for _, prefix := range []string{"go.mau.fi/whatsmeow", "go.mau.fi/libsignal", "google.golang.org/protobuf", "github.com/ferrybridge/ferry/whatsapp"} {
			if pkg == prefix || strings.HasPrefix(pkg, prefix+"/") {
				return true
			}
		}
		return false
	}
	if !slices.ContainsFunc(deps(), whatsappLibrary) {
		t.Fatal("the default build links no WhatsApp library; this test would prove nothing")
	}
	for _, pkg := range deps("-tags", "ferry_no_whatsapp") {
		if whatsappLibrary(pkg) {
			t.Errorf("-tags ferry_no_whatsapp still links %s", pkg)
		}
	}
}
