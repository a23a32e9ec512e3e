package bridge

import "sync"

// serialQueues runs functions one at a time per key (a room ID), with
// different keys in parallel. A key's goroutine exits when its queue is
// empty, so idle rooms cost nothing.
type serialQueues struct {
	lock   sync.Mutex
	queues map[string][]func()
	wg     sync.WaitGroup
}

func newSerialQueues() *serialQueues {
	return &serialQueues{queues: make(map[string][]func())}
}

func (s *serialQueues) run(key string, fn func()) {
	s.lock.Lock()
	defer s.lock.Unlock()
	if q, busy := s.queues[key]; busy {
		s.queues[key] = append(q, fn)
		return
	}
	s.queues[key] = []func(){}
	s.wg.Add(1)
	go s.loop(key, fn)
}

func (s *serialQueues) loop(key string, fn func()) {
	defer s.wg.Done()
	for {
		fn()
		s.lock.Lock()
		q := s.queues[key]
		if len(q) == 0 {
			delete(s.queues, key)
			s.lock.Unlock()
			return
		}
		fn = q[0]
		s.queues[key] = q[1:]
		s.lock.Unlock()
	}
}

func (s *serialQueues) wait() { s.wg.Wait() }
