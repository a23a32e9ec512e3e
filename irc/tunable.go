package irc

import (
	"sync/atomic"
	"time"
)

// duration is a package-level timing that tests shorten while goroutines
// of earlier tests may still read it, hence atomic.
type duration struct{ ns atomic.Int64 }

func newDuration(d time.Duration) *duration {
	v := &duration{}
	v.ns.Store(int64(d))
	return v
}

func (d *duration) get() time.Duration { return time.Duration(d.ns.Load()) }

// setForTest changes the value until the test ends.
func (d *duration) setForTest(t interface{ Cleanup(func()) }, v time.Duration) {
	old := d.ns.Swap(int64(v))
	t.Cleanup(func() { d.ns.Store(old) })
}
