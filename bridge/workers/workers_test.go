package workers

import (
	"testing"
	"time"
)

func TestGoNeverWaitsForABusyWorker(t *testing.T) {
	p := New(time.Minute)
	release := make(chan struct{})
	p.Go(func() { <-release })
	ran := make(chan struct{})
	p.Go(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the second function waited for the first worker")
	}
	close(release)
}

func TestWorkersAreReusedInABurst(t *testing.T) {
	p := New(time.Minute)
	done := make(chan struct{})
	const n = 200
	for range n {
		p.Go(func() { done <- struct{}{} })
		<-done
	}
	// One at a time: a worker is idle again a moment after its function
	// returns, so a few may start while one is on its way back, never one
	// per function.
	if live := p.Live(); live > 10 {
		t.Fatalf("%d workers for %d functions run one after another", live, n)
	}
}

func TestIdleWorkersEnd(t *testing.T) {
	p := New(10 * time.Millisecond)
	done := make(chan struct{})
	for range 3 {
		p.Go(func() { done <- struct{}{} })
	}
	for range 3 {
		<-done
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.Live() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers still live long after their keep time", p.Live())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
