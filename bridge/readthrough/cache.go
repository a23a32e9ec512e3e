// Package readthrough remembers what a database read returned, in front
// of that database, for answers asked often and changed seldom. It keeps
// only what the database said, and only while that is sure to still be
// true: the caller routes every write of a key through Write (or
// WriteAll), which forgets the key before and after the write, and a read
// that overlapped a write is returned but not remembered.
package readthrough

import "sync"

// Cache is a read-through cache of V by K. The zero value is an unbounded,
// empty cache.
type Cache[K comparable, V any] struct {
	// max bounds the entries (0: no bound); past it the cache starts over.
	max int

	mu     sync.Mutex
	values map[K]V
	gen    uint64 // counts forgets, so that a read can tell it overlapped one
}

// New returns an empty cache of at most max entries (0: no bound).
func New[K comparable, V any](max int) *Cache[K, V] {
	return &Cache[K, V]{max: max}
}

// Get returns the remembered value of key, or what load reads. load says
// whether its value may be remembered; an error is never remembered.
func (c *Cache[K, V]) Get(key K, load func() (value V, keep bool, err error)) (V, error) {
	c.mu.Lock()
	value, ok := c.values[key]
	gen := c.gen
	c.mu.Unlock()
	if ok {
		return value, nil
	}
	value, keep, err := load()
	if err != nil || !keep {
		return value, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if c.values == nil || (c.max > 0 && len(c.values) >= c.max) {
			c.values = make(map[K]V)
		}
		c.values[key] = value
	}
	c.mu.Unlock()
	return value, nil
}

// Forget drops what the cache knows of key, e.g. a value the caller found
// stale.
func (c *Cache[K, V]) Forget(key K) {
	c.mu.Lock()
	delete(c.values, key)
	c.gen++
	c.mu.Unlock()
}

// ForgetAll empties the cache.
func (c *Cache[K, V]) ForgetAll() {
	c.mu.Lock()
	clear(c.values)
	c.gen++
	c.mu.Unlock()
}

// Write runs write, which changes key in the database, with key forgotten
// before and after it: a read during the write must not be kept.
func (c *Cache[K, V]) Write(key K, write func() error) error {
	c.Forget(key)
	defer c.Forget(key)
	return write()
}

// WriteAll is Write for a write that may change any key.
func (c *Cache[K, V]) WriteAll(write func() error) error {
	c.ForgetAll()
	defer c.ForgetAll()
	return write()
}

// Len is the number of remembered values.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.values)
}
