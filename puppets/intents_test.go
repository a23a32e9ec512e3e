package puppets

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
	"weak"

	"maunium.net/go/mautrix/id"
)

func ghostID(i int) id.UserID { return id.UserID(fmt.Sprintf("@test_%d:example.org", i)) }

// TestGhostIntentsActAsTheRealAppService: an intent from a factory
// AppService must request as the real one would: same homeserver, token,
// state store and HTTP client, as its own user, with the bot's client
// beside it for invites.
func TestGhostIntentsActAsTheRealAppService(t *testing.T) {
	m := matrixFor(t, "http://127.0.0.1:8008")
	intent := m.Intent(ghostID(1))
	if intent == nil {
		t.Fatal("no intent for a ghost")
	}
	bot := m.AS.BotClient()
	if intent.UserID != ghostID(1) || intent.Client.UserID != ghostID(1) || !intent.Client.SetAppServiceUserID {
		t.Errorf("intent acts as %s (client %s, as_user_id %v)", intent.UserID, intent.Client.UserID, intent.Client.SetAppServiceUserID)
	}
	if intent.Client.HomeserverURL.String() != bot.HomeserverURL.String() || intent.Client.AccessToken != bot.AccessToken {
		t.Errorf("intent requests %s with token %q; the bot %s with %q", intent.Client.HomeserverURL, intent.Client.AccessToken, bot.HomeserverURL, bot.AccessToken)
	}
	if intent.Client.Client != m.AS.HTTPClient || intent.Client.StateStore != m.AS.StateStore {
		t.Error("intent has an HTTP client or state store of its own")
	}
	if m.Intent(m.BotMXID()) != m.AS.BotIntent() {
		t.Error("the bot's intent is not the real AppService's")
	}
	if m.Intent("@test_1:elsewhere.org") != nil {
		t.Error("an intent was made for a user of another server")
	}
}

// TestGhostIntentsOfAnOldFactoryAreFreed: after a factory made its
// limit of intents, the next ghost's comes from a new one, and the old
// factory, with mautrix's maps of everything it made, is freed once its
// intents are no longer held. Acting through the real AppService keeps
// every intent for good.
func TestGhostIntentsOfAnOldFactoryAreFreed(t *testing.T) {
	m := matrixFor(t, "http://127.0.0.1:8008")
	m.intents = newIntentFactory(m.AS, 3)
	first := m.Intent(ghostID(0))
	if again := m.Intent(ghostID(0)); again != first {
		t.Fatal("the same factory made a second intent for one ghost")
	}
	m.intents.mu.Lock()
	old := weak.Make(m.intents.as)
	m.intents.mu.Unlock()
	for i := 1; i < 10; i++ {
		if m.Intent(ghostID(i)) == nil {
			t.Fatalf("no intent for ghost %d", i)
		}
	}
	if m.Intent(ghostID(0)) == first {
		t.Error("ghost 0's intent still comes from the first factory after 9 others were met")
	}
	m.intents.mu.Lock()
	if n := len(m.intents.users); n > 3 {
		t.Errorf("the current factory has made intents for %d ghosts, over its limit of 3", n)
	}
	m.intents.mu.Unlock()
	first = nil
	for deadline := time.Now().Add(10 * time.Second); old.Value() != nil; {
		if time.Now().After(deadline) {
			t.Fatal("the first factory is still alive with none of its intents held")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAGhostKeptSpeakingHoldsNoOldFactory: a person who speaks all the
// time stays in the ghost cache; as the cache keeps them for another
// generation their intent must come from a current factory, or they
// would keep the first factory, and every intent it made, alive for good.
func TestAGhostKeptSpeakingHoldsNoOldFactory(t *testing.T) {
	g := testGhosts(t)
	g.SetCacheSize(3)
	g.matrix.intents = newIntentFactory(g.matrix.AS, 3)
	ctx := context.Background()
	speaker, err := g.Get(ctx, ghostKey(0))
	if err != nil {
		t.Fatal(err)
	}
	g.matrix.intents.mu.Lock()
	first := weak.Make(g.matrix.intents.as)
	g.matrix.intents.mu.Unlock()
	for i := 1; i <= 30; i++ {
		if _, err = g.Get(ctx, ghostKey(i)); err != nil {
			t.Fatal(err)
		}
		if again, err := g.Get(ctx, ghostKey(0)); err != nil || again != speaker {
			t.Fatalf("the speaker left the cache after %d others (%v)", i, err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); first.Value() != nil; {
		if time.Now().After(deadline) {
			t.Fatal("the first intent factory is still alive, held by the speaker's ghost")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if speaker.Intent() == nil || speaker.Intent().UserID != speaker.MXID {
		t.Errorf("the speaker acts as %v", speaker.Intent())
	}
}
