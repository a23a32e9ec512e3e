// Package metrics is Ferry's opt-in instrumentation: latency histograms
// for the stages a message passes through, and gauges read when scraped,
// served in the Prometheus text exposition format. It is written by hand
// (a few hundred lines) so that Ferry needs no client library, and it is a
// leaf so that the bridge and the portals can both record into it.
//
// A nil *Registry is valid and records nothing: with metrics off, the hot
// path pays one nil check.
package metrics

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Directions of travel, the "direction" label of stage histograms.
const (
	RemoteToMatrix = "remote_to_matrix"
	MatrixToRemote = "matrix_to_remote"
)

// Stages, the "stage" label of stage histograms.
const (
	// StageFerry is Ferry's own share. Remote to Matrix: from the line or
	// frame read off the network's socket to the send request written to
	// the homeserver. Matrix to remote: from the homeserver's transaction
	// received to the line written to the network's socket.
	StageFerry = "ferry"
	// StageQueue is the part of StageFerry spent waiting for the portal:
	// from read off the socket (or transaction received) until the
	// portal's goroutine starts on the event. Events of one room are
	// bridged one after the other, so in a burst each waits for those
	// before it, their homeserver (or network) round trips included.
	StageQueue = "queue"
	// StageStore times storing an event, so that a crash cannot lose it.
	// Remote to Matrix (per network): from read off the socket until its
	// row is committed, part of StageQueue; only events that found their
	// portal busy are stored first. Matrix to remote (for all networks at
	// once, network=""): from the transaction received until its events
	// are, which is after they were routed (bridge.StoreAfterWait) and so
	// not part of StageFerry. A slow disk shows here first.
	StageStore = "store"
	// StageHandling is the rest of StageFerry, remote to Matrix: from the
	// portal starting on the event to the send request written.
	StageHandling = "handling"
	// StageHomeserver is the homeserver's answer to the send request: from
	// the request written to the response (retries included).
	StageHomeserver = "homeserver"
	// StageTransaction is Matrix to remote, for all networks at once
	// (network=""): from a homeserver transaction received to Ferry's
	// answer, which the homeserver waits for before it pushes the next.
	StageTransaction = "transaction"
	// StageSend is Matrix to remote, from the transaction received until
	// the network's Send returned; for IRC that includes waiting for the
	// server's echo of the line.
	StageSend = "send"
)

// StageMetric is the name of the stage latency histogram family.
const StageMetric = "ferry_stage_duration_seconds"

// Buckets are the upper bounds, in seconds, of every stage histogram. They
// are dense around a millisecond and just under 2 ms, where Ferry's own
// share is judged ("p99 under 2 ms" needs a bound below 2 ms to be told
// apart from "at most 2 ms"), and reach far enough for a slow homeserver.
var Buckets = []float64{
	0.000025, 0.00005, 0.0001, 0.0002, 0.0003, 0.0005, 0.00075,
	0.001, 0.00125, 0.0015, 0.00175, 0.002, 0.0025, 0.003, 0.005, 0.0075,
	0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
	0.1, 0.15, 0.2, 0.3, 0.5, 0.75,
	1, 2, 5, 10, 30,
}

// Histogram counts durations into Buckets. Observe is lock-free.
type Histogram struct {
	bounds []time.Duration
	counts []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum    atomic.Int64    // nanoseconds
}

// NewHistogram makes a histogram with the given upper bounds in seconds,
// which must be increasing.
func NewHistogram(bounds []float64) *Histogram {
	h := &Histogram{bounds: make([]time.Duration, len(bounds)), counts: make([]atomic.Uint64, len(bounds)+1)}
	for i, b := range bounds {
		h.bounds[i] = time.Duration(b * float64(time.Second))
	}
	return h
}

// Observe records one duration; negative ones (a clock step) count as 0.
// A nil histogram records nothing.
func (h *Histogram) Observe(d time.Duration) {
	if h == nil {
		return
	}
	d = max(d, 0)
	i := sort.Search(len(h.bounds), func(i int) bool { return d <= h.bounds[i] })
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// Snapshot is a histogram's state: cumulative counts per bound (the last
// entry is +Inf and equals Count) and the sum.
type Snapshot struct {
	Bounds     []float64
	Cumulative []uint64
	Count      uint64
	Sum        time.Duration
}

// Snapshot reads the histogram. Buckets are read one by one while others
// may record, so a snapshot can be a few observations behind in some
// buckets, but it is always self-consistent (cumulative, Count = +Inf).
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{Bounds: make([]float64, len(h.bounds)), Cumulative: make([]uint64, len(h.counts))}
	var total uint64
	for i := range h.counts {
		total += h.counts[i].Load()
		s.Cumulative[i] = total
		if i < len(h.bounds) {
			s.Bounds[i] = h.bounds[i].Seconds()
		}
	}
	s.Count = total
	s.Sum = time.Duration(h.sum.Load())
	return s
}

// StageKey names one stage histogram.
type StageKey struct {
	Direction string
	Network   string
	Stage     string
}

// Sample is one value of a gauge, with its labels as name/value pairs.
type Sample struct {
	Labels []string // name, value, name, value...
	Value  float64
}

type gauge struct {
	name, help string
	read       func() []Sample
}

// Registry holds every metric of one Ferry process.
type Registry struct {
	start time.Time

	// A map under a read lock rather than a sync.Map: looking a struct
	// key up in a sync.Map boxes it, one allocation per observation.
	stageMu sync.RWMutex
	stages  map[StageKey]*Histogram

	mu     sync.Mutex
	gauges []gauge
}

// New makes a registry. Its start time bounds what counts as this
// process's timing (see Since).
func New() *Registry {
	return &Registry{start: time.Now(), stages: map[StageKey]*Histogram{}}
}

// Stage returns the histogram of one stage, creating it on first use; nil
// for a nil registry.
func (r *Registry) Stage(k StageKey) *Histogram {
	if r == nil {
		return nil
	}
	r.stageMu.RLock()
	h := r.stages[k]
	r.stageMu.RUnlock()
	if h != nil {
		return h
	}
	r.stageMu.Lock()
	defer r.stageMu.Unlock()
	if h = r.stages[k]; h == nil {
		h = NewHistogram(Buckets)
		r.stages[k] = h
	}
	return h
}

// ObserveSince records now − from in a stage, unless the registry is nil
// or from is unknown (zero) or older than the registry: an event stored
// before a restart and replayed after it would otherwise report the
// downtime as Ferry's latency.
func (r *Registry) ObserveSince(k StageKey, from time.Time, now time.Time) {
	if r == nil || from.IsZero() || from.Before(r.start) {
		return
	}
	r.Stage(k).Observe(now.Sub(from))
}

// Enabled reports whether r records anything.
func (r *Registry) Enabled() bool { return r != nil }

// Gauge registers a gauge family read at every scrape. read returns one
// sample per label set; it must be safe to call from any goroutine.
func (r *Registry) Gauge(name, help string, read func() []Sample) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.gauges = append(r.gauges, gauge{name: name, help: help, read: read})
	r.mu.Unlock()
}
