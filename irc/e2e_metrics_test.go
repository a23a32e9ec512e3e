package irc

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/metrics"
	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/internal/testbed"
)

// TestE2EMetrics bridges one message each way and finds the stage
// histograms counted at /metrics. It asserts counts only, never timings.
func TestE2EMetrics(t *testing.T) {
	e := startEnv(t, testbed.InspIRCdOptions{})
	// The harness starts Ferry without metrics: restart it with them (and
	// a fresh connector: a stopped one does not start again), before anyone
	// logs in.
	e.h.StopBridge()
	e.h.Config.Metrics.Listen = fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))
	e.c = New()
	e.h.Connectors = []network.Connector{e.c}
	e.h.StartBridge()
	scrape := func() *metrics.Parsed {
		t.Helper()
		resp, err := http.Get("http://" + e.h.Config.Metrics.Listen + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		p, err := metrics.Parse(resp.Body)
		if err != nil {
			t.Fatalf("/metrics does not parse: %v", err)
		}
		return p
	}
	count := func(p *metrics.Parsed, direction, net, stage string) uint64 {
		h, _ := p.Histogram(metrics.StageMetric, "direction", direction, "network", net, "stage", stage)
		return h.Count
	}

	bob := e.peer("bob")
	bob.send("JOIN", "#metrics")
	bob.expect("his JOIN", isCmd("JOIN", "bob"), nil)
	alice, mgmt, _ := e.loggedInAlice()
	room := e.joinChannel(alice, mgmt, "#metrics")
	bob.expect("alice's JOIN", isCmd("JOIN", "alice"), nil)

	before := scrape()
	if v, ok := before.Value("ferry_logins_connected", "network", string(NetworkID)); !ok || v != 1 {
		t.Errorf("ferry_logins_connected{network=irc} = %v (present %v), want 1", v, ok)
	}

	bob.send("PRIVMSG", "#metrics", "timed hello")
	alice.WaitForEvent(t, room, waitLong, bodyFrom(e.ghost("bob"), "timed hello"))
	alice.SendText(t, room, "timed reply")
	bob.expect("alice's PRIVMSG", isCmd("PRIVMSG", "alice"), nil)

	// Stages are recorded by whichever goroutine ends them: the IRC
	// writer notes the line written (Matrix -> IRC "ferry") just after the
	// write returns, which on a busy machine can be after bob has the line
	// and even after Send returned. Wait until every stage is counted.
	stages := []struct{ direction, net, stage string }{
		{metrics.RemoteToMatrix, string(NetworkID), metrics.StageFerry},
		{metrics.RemoteToMatrix, string(NetworkID), metrics.StageQueue},
		{metrics.RemoteToMatrix, string(NetworkID), metrics.StageStore},
		{metrics.RemoteToMatrix, string(NetworkID), metrics.StageHandling},
		{metrics.RemoteToMatrix, string(NetworkID), metrics.StageHomeserver},
		{metrics.MatrixToRemote, string(NetworkID), metrics.StageFerry},
		{metrics.MatrixToRemote, string(NetworkID), metrics.StageQueue},
		{metrics.MatrixToRemote, string(NetworkID), metrics.StageSend},
		{metrics.MatrixToRemote, "", metrics.StageTransaction},
		{metrics.MatrixToRemote, "", metrics.StageStore},
	}
	var after *metrics.Parsed
	missing := func() []string {
		var out []string
		for _, s := range stages {
			if b, a := count(before, s.direction, s.net, s.stage), count(after, s.direction, s.net, s.stage); a <= b {
				out = append(out, fmt.Sprintf("%s{direction=%s,network=%q,stage=%s}: count %d before, %d after one bridged message",
					metrics.StageMetric, s.direction, s.net, s.stage, b, a))
			}
		}
		return out
	}
	for deadline := time.Now().Add(waitLong); ; time.Sleep(20 * time.Millisecond) {
		after = scrape()
		if len(missing()) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, m := range missing() {
		t.Error(m)
	}
	if v, ok := after.Value("go_goroutines"); !ok || v < 1 {
		t.Errorf("go_goroutines = %v (present %v)", v, ok)
	}
}
