package testbed

import (
	"testing"

	"github.com/ferrybridge/ferry/internal/localhs"
)

// InspIRCdModules are the modules every test server loads: the IRCv3 set
// (InspIRCd 3 offers no IRCv3 capability without them) plus the NAMES
// extensions. Module file names are m_<name>.so in /usr/lib/inspircd/modules.
var InspIRCdModules = localhs.InspIRCdModules

// InspIRCdOptions configures StartInspIRCd (see localhs.InspIRCdOptions).
type InspIRCdOptions = localhs.InspIRCdOptions

// InspIRCd is a running InspIRCd 3 on loopback, started by StartInspIRCd
// and killed in t.Cleanup. The server itself lives in localhs.
type InspIRCd struct {
	*localhs.InspIRCd
}

// StartInspIRCd writes a config into t.TempDir(), starts InspIRCd on free
// loopback ports and returns once it has accepted a connection and
// registered a client. The binary comes from PATH or /usr/sbin/inspircd
// (Debian package inspircd; scripts/test.sh installs it).
func StartInspIRCd(t testing.TB, opts InspIRCdOptions) *InspIRCd {
	t.Helper()
	s, err := localhs.StartInspIRCd(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	t.Cleanup(func() {
		died, state := s.DiedOnItsOwn()
		s.Stop()
		switch {
		case died:
			t.Errorf("testbed: InspIRCd exited during the test (%v); tail of %s:\n%s\ntail of %s:\n%s",
				state, s.OutPath, tailFile(s.OutPath, 30), s.LogPath, tailFile(s.LogPath, 30))
		case t.Failed():
			t.Logf("testbed: tail of InspIRCd log %s:\n%s", s.LogPath, tailFile(s.LogPath, 40))
		}
	})
	return &InspIRCd{s}
}

// Restart kills InspIRCd if it still runs and starts it again with the
// same config and ports, returning once a client can register. All state
// (channels, nicks) is lost, as in a real restart.
func (s *InspIRCd) Restart(t testing.TB) {
	t.Helper()
	if err := s.InspIRCd.Restart(); err != nil {
		t.Fatalf("testbed: %v", err)
	}
}
