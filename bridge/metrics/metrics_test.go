package metrics

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	h := NewHistogram([]float64{0.001, 0.002, 0.005})
	for _, d := range []time.Duration{
		0,                      // first bucket
		-time.Second,           // a clock step: counts as 0
		time.Millisecond,       // on the bound: le is inclusive
		time.Millisecond + 1,   // just above: second bucket
		2 * time.Millisecond,   // second
		4 * time.Millisecond,   // third
		time.Second,            // +Inf
		5*time.Millisecond + 1, // +Inf
	} {
		h.Observe(d)
	}
	s := h.Snapshot()
	want := []uint64{3, 5, 6, 8}
	for i, c := range s.Cumulative {
		if c != want[i] {
			t.Errorf("cumulative[%d] = %d, want %d (all: %v)", i, c, want[i], s.Cumulative)
		}
	}
	if s.Count != 8 {
		t.Errorf("count %d", s.Count)
	}
	wantSum := time.Millisecond + time.Millisecond + 1 + 2*time.Millisecond + 4*time.Millisecond + time.Second + 5*time.Millisecond + 1
	if s.Sum != wantSum {
		t.Errorf("sum %v, want %v", s.Sum, wantSum)
	}
	if got := s.Quantile(0.5); got != 0.002 {
		t.Errorf("median bucket bound %v, want 0.002", got)
	}
	if got := s.Quantile(0.99); !math.IsInf(got, 1) {
		t.Errorf("p99 %v, want +Inf", got)
	}
	if got := (Snapshot{}).Quantile(0.5); !math.IsNaN(got) {
		t.Errorf("empty quantile %v", got)
	}
	var nilH *Histogram
	nilH.Observe(time.Second) // must not panic
}

func TestHistogramConcurrent(t *testing.T) {
	h := NewHistogram(Buckets)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				h.Observe(time.Duration(g*1000+i) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	if s := h.Snapshot(); s.Count != 8000 || s.Cumulative[len(s.Cumulative)-1] != 8000 {
		t.Errorf("count %d, +Inf %d", s.Count, s.Cumulative[len(s.Cumulative)-1])
	}
}

func TestNilRegistry(t *testing.T) {
	var r *Registry
	if r.Enabled() {
		t.Error("nil registry enabled")
	}
	r.ObserveSince(StageKey{"a", "b", "c"}, time.Now(), time.Now())
	r.Gauge("x", "y", nil)
	if r.Stage(StageKey{}) != nil {
		t.Error("nil registry made a histogram")
	}
}

func TestObserveSinceSkipsUnknownAndOldTimes(t *testing.T) {
	r := New()
	k := StageKey{RemoteToMatrix, "irc", StageFerry}
	now := r.start.Add(time.Second)
	r.ObserveSince(k, time.Time{}, now)
	r.ObserveSince(k, r.start.Add(-time.Hour), now) // stored before a restart
	r.ObserveSince(k, now.Add(-time.Millisecond), now)
	if s := r.Stage(k).Snapshot(); s.Count != 1 || s.Sum != time.Millisecond {
		t.Errorf("count %d sum %v, want one observation of 1ms", s.Count, s.Sum)
	}
}

func TestExpositionParses(t *testing.T) {
	r := New()
	r.Stage(StageKey{RemoteToMatrix, "irc", StageFerry}).Observe(700 * time.Microsecond)
	r.Stage(StageKey{RemoteToMatrix, "irc", StageFerry}).Observe(3 * time.Millisecond)
	r.Stage(StageKey{RemoteToMatrix, "irc", StageHomeserver}).Observe(20 * time.Millisecond)
	r.Stage(StageKey{MatrixToRemote, "irc", StageFerry}).Observe(time.Minute)
	r.Gauge("ferry_logins_connected", "Connected logins.\nSecond line with a \\ backslash.", func() []Sample {
		return []Sample{
			{Labels: []string{"network", "irc"}, Value: 3},
			{Labels: []string{"network", `we"ird\` + "\n"}, Value: 0},
		}
	})

	srv := httptest.NewServer(r)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != ContentType {
		t.Errorf("content type %q", ct)
	}
	p, err := Parse(resp.Body)
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}

	if p.Types[StageMetric] != "histogram" || p.Types["go_goroutines"] != "gauge" || p.Types["ferry_logins_connected"] != "gauge" {
		t.Errorf("types %v", p.Types)
	}
	h, ok := p.Histogram(StageMetric, "direction", RemoteToMatrix, "network", "irc", "stage", StageFerry)
	if !ok || h.Count != 2 || len(h.Bounds) != len(Buckets) {
		t.Fatalf("stage histogram %+v ok=%v", h, ok)
	}
	if got := h.Quantile(0.5); got != 0.00075 {
		t.Errorf("median bound %v", got)
	}
	if math.Abs(h.Sum.Seconds()-0.0037) > 1e-9 {
		t.Errorf("sum %v", h.Sum)
	}
	if h2, _ := p.Histogram(StageMetric, "direction", MatrixToRemote, "network", "irc", "stage", StageFerry); h2.Cumulative[len(h2.Cumulative)-1] != 1 || h2.Cumulative[len(h2.Cumulative)-2] != 0 {
		t.Errorf("a minute must land in +Inf only: %v", h2.Cumulative)
	}
	if v, ok := p.Value("ferry_logins_connected", "network", "irc"); !ok || v != 3 {
		t.Errorf("logins gauge %v %v", v, ok)
	}
	if _, ok := p.Value("ferry_logins_connected", "network", `we"ird\`+"\n"); !ok {
		t.Error("escaped label value did not round-trip")
	}
	if v, ok := p.Value("go_goroutines"); !ok || v < 1 {
		t.Errorf("goroutines %v %v", v, ok)
	}
	if v, ok := p.Value("go_memstats_heap_alloc_bytes"); !ok || v <= 0 {
		t.Errorf("heap %v %v", v, ok)
	}

	// Sub isolates what happened between two scrapes.
	before := h
	r.Stage(StageKey{RemoteToMatrix, "irc", StageFerry}).Observe(40 * time.Microsecond)
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	p2, err := Parse(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := p2.Histogram(StageMetric, "direction", RemoteToMatrix, "network", "irc", "stage", StageFerry)
	if d := after.Sub(before); d.Count != 1 || d.Quantile(1) != 0.00005 {
		t.Errorf("delta %+v", d)
	}

	post, err := http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", post.StatusCode)
	}
}

func TestParseRejects(t *testing.T) {
	for _, bad := range []string{
		"1metric 1\n",
		"m{a=\"1\" 1\n",
		"m{a=1} 1\n",
		"m{a=\"1\",a=\"2\"} 1\n",
		"m{a=\"\\x\"} 1\n",
		"m one\n",
		"m\n",
		"m 1\n# TYPE m gauge\n",
		"# TYPE m meter\n",
	} {
		if _, err := Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	r := New()
	k := StageKey{RemoteToMatrix, "irc", StageFerry}
	from := time.Now()
	r.ObserveSince(k, from, from) // creates the histogram
	if n := testing.AllocsPerRun(100, func() { r.ObserveSince(k, from, from.Add(time.Millisecond)) }); n != 0 {
		t.Errorf("%v allocations per observation", n)
	}
}
