package ircconn

import (
	"strings"
	"sync"
	"weak"
)

// weakCache lets connections share one copy of a value they would each
// otherwise hold (ISUPPORT, capability lists): a bridge keeps hundreds of
// connections to one server. Entries are weak, so a value no connection
// uses any more is collected; dead entries are swept as the map grows.
type weakCache[T any] struct {
	mu    sync.Mutex
	m     map[string]weak.Pointer[T]
	sweep int // sweep dead entries when len(m) reaches this
}

// intern returns the live value stored under key for which same holds, or
// stores and returns the one fresh makes.
func (c *weakCache[T]) intern(key string, same func(*T) bool, fresh func() *T) *T {
	c.mu.Lock()
	defer c.mu.Unlock()
	if wp, ok := c.m[key]; ok {
		if shared := wp.Value(); shared != nil && same(shared) {
			return shared
		}
	}
	shared := fresh()
	if c.m == nil {
		c.m = make(map[string]weak.Pointer[T])
		c.sweep = 16
	}
	if len(c.m) >= c.sweep {
		for k, wp := range c.m {
			if wp.Value() == nil {
				delete(c.m, k)
			}
		}
		c.sweep = max(16, 2*len(c.m))
	}
	c.m[strings.Clone(key)] = weak.Make(shared)
	return shared
}
