package main

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// A waiter sees the state a recorder changes (and notifies) after the
// wait began, hears the check's error, and gives up at its timeout.
func TestWaitUntil(t *testing.T) {
	var mu sync.Mutex
	sig := newChangeSignal()
	n := 0
	go func() {
		for range 3 {
			time.Sleep(5 * time.Millisecond)
			mu.Lock()
			n++
			sig.notify()
			mu.Unlock()
		}
	}()
	ctx := context.Background()
	if err := waitUntil(ctx, &mu, &sig, time.Minute, func() (bool, error) { return n == 3, nil }); err != nil {
		t.Fatalf("waiting for three changes: %v", err)
	}
	broken := errors.New("broken")
	if err := waitUntil(ctx, &mu, &sig, time.Minute, func() (bool, error) { return false, broken }); !errors.Is(err, broken) {
		t.Errorf("a failing check gave %v, want its error", err)
	}
	if err := waitUntil(ctx, &mu, &sig, 10*time.Millisecond, func() (bool, error) { return false, nil }); !errors.Is(err, errWaitTimeout) {
		t.Errorf("an unmet check gave %v, want errWaitTimeout", err)
	}
}
