package puppets

import (
	"context"
	"fmt"
	"testing"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

func testGhosts(t testing.TB) *Ghosts {
	db := dbtest.Open(t, database.DefaultType, dbtest.SQLiteURI(t))
	m := matrixFor(t, "http://127.0.0.1:1")
	return NewGhosts(db, m, "example.org", m.Log)
}

func ghostKey(i int) network.GhostKey {
	return network.GhostKey{Network: "whatsapp", User: network.UserID(fmt.Sprintf("49151%08d", i))}
}

// BenchmarkGhostsGet is the hot path: a message's sender, found in the
// cache (a working set of 1,000 people).
func BenchmarkGhostsGet(b *testing.B) {
	g := testGhosts(b)
	ctx := context.Background()
	const people = 1000
	keys := make([]network.GhostKey, people)
	for i := range keys {
		keys[i] = ghostKey(i)
		if _, err := g.Get(ctx, keys[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := g.Get(ctx, keys[i%people]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGhostsGetParallel is the same from every core at once.
func BenchmarkGhostsGetParallel(b *testing.B) {
	g := testGhosts(b)
	ctx := context.Background()
	const people = 1000
	keys := make([]network.GhostKey, people)
	for i := range keys {
		keys[i] = ghostKey(i)
		if _, err := g.Get(ctx, keys[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := g.Get(ctx, keys[i%people]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// TestGhostsCacheIsBounded: a bridge meets ever more remote people; the
// ghosts it keeps in memory stay bounded, and one that keeps speaking
// stays cached (the same Ghost) while the others come and go.
func TestGhostsCacheIsBounded(t *testing.T) {
	g := testGhosts(t)
	g.SetCacheSize(10)
	ctx := context.Background()
	hot, err := g.Get(ctx, ghostKey(-1))
	if err != nil {
		t.Fatal(err)
	}
	first, err := g.Get(ctx, ghostKey(0))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 100; i++ {
		if _, err = g.Get(ctx, ghostKey(i)); err != nil {
			t.Fatal(err)
		}
		again, err := g.Get(ctx, ghostKey(-1))
		if err != nil {
			t.Fatal(err)
		}
		if again != hot {
			t.Fatalf("after %d other people, the one who keeps speaking was dropped from the cache", i)
		}
	}
	if n := g.cached(); n > 20 {
		t.Errorf("%d ghosts cached, want at most twice the size of 10", n)
	}
	again, err := g.Get(ctx, ghostKey(0))
	if err != nil {
		t.Fatal(err)
	}
	if again == first {
		t.Error("the first person, silent since, is still cached")
	}
	if again.MXID != first.MXID {
		t.Errorf("reloaded ghost %s, want %s", again.MXID, first.MXID)
	}
}
