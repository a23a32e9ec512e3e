package testbed

import (
	"testing"

	"github.com/ferrybridge/ferry/internal/localhs"
)

const (
	// DendriteModule is the Go module Dendrite is built from. It is the
	// Apache-2.0 matrix-org module; the element-hq fork is AGPL and must not
	// be used.
	DendriteModule = localhs.DendriteModule
	// DendriteVersion is the Dendrite release the test bed runs.
	DendriteVersion = localhs.DendriteVersion
)

// DendriteOptions configures StartDendrite.
type DendriteOptions = localhs.DendriteOptions

// Dendrite is a running Dendrite homeserver on loopback, started by
// StartDendrite and stopped in t.Cleanup.
type Dendrite struct {
	*localhs.Dendrite
}

// CacheDir is the test bed's cache directory: $FERRY_TESTBED_CACHE, or
// ~/.cache/ferry-testbed. scripts/test.sh uses the same rule.
func CacheDir() (string, error) { return localhs.CacheDir() }

// DendriteBinaries returns the directory of the Dendrite binaries,
// installing them first when needed.
func DendriteBinaries(t testing.TB) string {
	t.Helper()
	dir, err := localhs.DendriteBinaries(func(format string, args ...any) { t.Logf("testbed: "+format, args...) })
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return dir
}

// StartDendrite generates a config and signing key in t.TempDir() (see
// localhs.NewDendrite) and starts Dendrite on a free loopback port. It
// returns once GET /_matrix/client/versions answers and stops Dendrite in
// t.Cleanup. If the test fails, the tail of Dendrite's log is printed; if
// Dendrite dies on its own during the test, the test fails.
func StartDendrite(t testing.TB, opts DendriteOptions) *Dendrite {
	t.Helper()
	hs, err := localhs.NewDendrite(t.TempDir(), opts, func(format string, args ...any) { t.Logf("testbed: "+format, args...) })
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	d := &Dendrite{Dendrite: hs}
	t.Cleanup(func() {
		died, exitErr := d.ExitedOnItsOwn()
		d.Stop()
		switch {
		case died:
			t.Errorf("testbed: Dendrite exited during the test (%v); tail of %s:\n%s", exitErr, d.LogPath, tailFile(d.LogPath, 60))
		case t.Failed():
			t.Logf("testbed: tail of Dendrite log %s:\n%s", d.LogPath, tailFile(d.LogPath, 60))
		}
	})
	if err = d.Start(); err != nil {
		t.Fatalf("testbed: start Dendrite: %v", err)
	}
	return d
}

// Restart starts a stopped Dendrite again with the same port and data.
func (d *Dendrite) Restart(t testing.TB) {
	t.Helper()
	if err := d.Dendrite.Restart(); err != nil {
		t.Fatalf("testbed: %v", err)
	}
}

// RegisterUser creates a user with shared-secret registration (password
// "password-<localpart>") and returns it as a Client whose background
// /sync runs until the test ends.
func (d *Dendrite) RegisterUser(t testing.TB, localpart string, admin bool) *Client {
	t.Helper()
	password := "password-" + localpart
	resp, err := d.Dendrite.RegisterUser(localpart, password, admin)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	c := NewClient(t, d.URL, resp.UserID, resp.AccessToken)
	c.DeviceID = resp.DeviceID
	c.Password = password
	return c
}
