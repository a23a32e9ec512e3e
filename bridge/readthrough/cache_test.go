package readthrough

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// store is the database the cache stands in front of, counting reads.
type store struct {
	mu    sync.Mutex
	rows  map[string]int
	reads atomic.Int64
}

func (s *store) load(key string) func() (int, bool, error) {
	return func() (int, bool, error) {
		s.reads.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		v, ok := s.rows[key]
		return v, ok, nil
	}
}

func (s *store) set(key string, v int) func() error {
	return func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.rows[key] = v
		return nil
	}
}

func TestGetRemembersUntilWrite(t *testing.T) {
	db := &store{rows: map[string]int{"a": 1}}
	var c Cache[string, int]
	for range 3 {
		if v, err := c.Get("a", db.load("a")); err != nil || v != 1 {
			t.Fatalf("Get = %d, %v; want 1", v, err)
		}
	}
	if n := db.reads.Load(); n != 1 {
		t.Errorf("%d reads for three Gets; want 1", n)
	}
	if err := c.Write("a", db.set("a", 2)); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("a", db.load("a")); v != 2 {
		t.Errorf("after Write, Get = %d; want 2", v)
	}
	if err := c.WriteAll(db.set("a", 3)); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("a", db.load("a")); v != 3 {
		t.Errorf("after WriteAll, Get = %d; want 3", v)
	}
}

func TestGetKeepsNeitherRefusalsNorErrors(t *testing.T) {
	db := &store{rows: map[string]int{}}
	var c Cache[string, int]
	c.Get("missing", db.load("missing")) // keep is false: no row
	failed := errors.New("database down")
	if _, err := c.Get("x", func() (int, bool, error) { return 0, true, failed }); !errors.Is(err, failed) {
		t.Errorf("Get's error = %v; want the load's", err)
	}
	if n := c.Len(); n != 0 {
		t.Errorf("%d values remembered; want none", n)
	}
}

// slowRead is a read of key that has read its row and waits for release
// before it answers, as a database read does when a write lands in
// between.
func slowRead(c *Cache[string, int], db *store, key string) (release func(), answer <-chan int) {
	read, wait, out := make(chan struct{}), make(chan struct{}), make(chan int, 1)
	go func() {
		v, _ := c.Get(key, func() (int, bool, error) {
			v, ok, err := db.load(key)()
			close(read)
			<-wait
			return v, ok, err
		})
		out <- v
	}()
	<-read
	return func() { close(wait) }, out
}

func TestReadStartedBeforeAWriteIsNotKept(t *testing.T) {
	db := &store{rows: map[string]int{"k": 1}}
	var c Cache[string, int]
	release, answer := slowRead(&c, db, "k")
	if err := c.Write("k", db.set("k", 2)); err != nil {
		t.Fatal(err)
	}
	release()
	if v := <-answer; v != 1 {
		t.Fatalf("the slow read answered %d; want what it read, 1", v)
	}
	if v, _ := c.Get("k", db.load("k")); v != 2 {
		t.Errorf("after the write, Get = %d; want 2", v)
	}
}

func TestReadStartedDuringAWriteIsNotKept(t *testing.T) {
	db := &store{rows: map[string]int{"k": 1}}
	var c Cache[string, int]
	var release func()
	var answer <-chan int
	err := c.Write("k", func() error {
		release, answer = slowRead(&c, db, "k") // reads 1, the row before the write
		return db.set("k", 2)()
	})
	if err != nil {
		t.Fatal(err)
	}
	release()
	<-answer
	if v, _ := c.Get("k", db.load("k")); v != 2 {
		t.Errorf("after the write, Get = %d; want 2", v)
	}
}

func TestMaxBoundsTheEntries(t *testing.T) {
	c := New[int, int](10)
	for i := range 25 {
		c.Get(i, func() (int, bool, error) { return i, true, nil })
		if n := c.Len(); n > 10 {
			t.Fatalf("%d values remembered; the bound is 10", n)
		}
	}
}
