package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// The startup scenario: how fast Ferry answers and has K logins back on
// IRC, for each connect pacing.

type startupResult struct {
	Logins       int     `json:"logins"`
	Pacing       int     `json:"max_concurrent_connects"`
	PortMs       float64 `json:"appservice_port_ms"`
	FirstConnMs  float64 `json:"first_connection_ms"` // InspIRCd sees a Ferry connection (LUSERS 253)
	FirstLoginMs float64 `json:"first_login_registered_ms"`
	AllLoginsMs  float64 `json:"all_logins_registered_ms"`
	ConnectMs    float64 `json:"connect_phase_ms"` // first to last login
	PerSecond    float64 `json:"logins_per_second"`
}

func (b *memBed) startupScenario(ctx context.Context, rep *memReport, ks, pacings []int) error {
	base, err := b.observer.users()
	if err != nil {
		return err
	}
	for _, k := range ks {
		for _, pacing := range pacings {
			label := fmt.Sprintf("startup-%d-pacing%d", k, pacing)
			dbPath := filepath.Join(b.dir, label+".db")
			if err := b.seedLogins(ctx, dbPath, memNetPlain, "s", k, "", func(int) []string { return nil }); err != nil {
				return err
			}
			say("%s: starting Ferry with %d logins, %s", label, k, pacingText(pacing))
			p, portAt, st, err := b.startAndRestore(ctx, label, dbPath, pacing, base, k)
			if err != nil {
				return err
			}
			r := startupResult{
				Logins: k, Pacing: pacing,
				PortMs:       toMs(portAt.Sub(p.started)),
				FirstConnMs:  toMs(st.firstConn.Sub(p.started)),
				FirstLoginMs: toMs(st.firstUser.Sub(p.started)),
				AllLoginsMs:  toMs(st.all.Sub(p.started)),
				ConnectMs:    toMs(st.all.Sub(st.firstConn)),
			}
			if s := st.all.Sub(p.started).Seconds(); s > 0 {
				r.PerSecond = float64(k) / s
			}
			say("%s: port %.1f ms, first connection %.1f ms, first login registered %.1f ms, all %.1f ms", label, r.PortMs, r.FirstConnMs, r.FirstLoginMs, r.AllLoginsMs)
			rep.Startup = append(rep.Startup, r)
			if err := b.drain(ctx, p, base); err != nil {
				return err
			}
		}
	}
	for _, r := range rep.Startup {
		if r.Pacing == 0 && r.Logins == 150 {
			rep.Targets = append(rep.Targets, targetLine{
				What: "150 logins registered on IRC after start, no connect pacing", Target: "<= 2 s",
				Got: fmt.Sprintf("%.3f s", r.AllLoginsMs/1000), Met: r.AllLoginsMs <= 2000,
			})
		}
	}
	if len(rep.Startup) > 0 {
		r := rep.Startup[0]
		ready := max(r.PortMs, r.FirstConnMs)
		rep.Targets = append(rep.Targets, targetLine{
			What:   "ready: appservice port answering and logins being restored (first connection on InspIRCd)",
			Target: "<= 0.1 s",
			Got:    fmt.Sprintf("%.3f s (port %.1f ms, first IRC connection %.1f ms, first registered %.1f ms)", ready/1000, r.PortMs, r.FirstConnMs, r.FirstLoginMs),
			Met:    ready <= 100,
		})
	}
	return nil
}

// startAndRestore starts Ferry on the seeded database at dbPath and waits
// until its appservice port answers (portAt) and InspIRCd counts its k
// logins on top of base users (st). On an error Ferry is stopped.
func (b *memBed) startAndRestore(ctx context.Context, label, dbPath string, pacing, base, k int) (p *memProc, portAt time.Time, st startupTimes, err error) {
	if p, err = b.startFerry(label, dbPath, pacing); err != nil {
		return nil, portAt, st, err
	}
	if portAt, err = waitPortOpen(ctx, p, b.ferryPort(), time.Millisecond, 30*time.Second); err != nil {
		p.stop()
		return nil, portAt, st, err
	}
	if st, err = b.observer.waitUsers(ctx, p, base, base+k, mflags.Poll, 60*time.Second); err != nil {
		p.stop()
		return nil, portAt, st, p.withLog(err)
	}
	return p, portAt, st, nil
}

// ferryPort is the appservice port in the generated config.
func (b *memBed) ferryPort() string {
	for _, line := range strings.Split(b.cfgText, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "port:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// waitPortOpen polls 127.0.0.1:port until it accepts a connection.
func waitPortOpen(ctx context.Context, p *memProc, port string, poll, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		c, err := dialOnce("127.0.0.1:" + port)
		if err == nil {
			at := time.Now()
			c.Close()
			return at, nil
		}
		if p.exited() {
			return time.Time{}, p.withLog(fmt.Errorf("exited before listening on %s", port))
		}
		if time.Now().After(deadline) {
			return time.Time{}, p.withLog(fmt.Errorf("not listening on %s after %s", port, timeout))
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(poll):
		}
	}
}
