package hammer

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestStartRunsUntilStopped(t *testing.T) {
	var calls atomic.Int64
	stop := Start(3, func() { calls.Add(1) })
	for calls.Load() < 100 {
		time.Sleep(time.Millisecond)
	}
	stop()
	after := calls.Load()
	time.Sleep(10 * time.Millisecond)
	if calls.Load() != after {
		t.Errorf("fn ran %d more times after stop returned", calls.Load()-after)
	}
}
