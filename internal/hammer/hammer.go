// Package hammer keeps a function running on several goroutines while a
// test does something else: for tests of caches and locks, where a
// reader must race a writer.
package hammer

import "sync"

// Start runs fn on n goroutines, each calling it again as soon as it
// returns, until stop is called; stop returns once they have all ended.
func Start(n int, fn func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				fn()
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
	}
}
