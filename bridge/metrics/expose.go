package metrics

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
)

// ContentType is the Prometheus text exposition format, version 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// ServeHTTP serves the exposition (GET /metrics).
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	bw := bufio.NewWriter(w)
	_ = r.WriteText(bw)
	_ = bw.Flush()
}

// runtimeSamples are the Go runtime metrics exposed, read with
// runtime/metrics (which, unlike ReadMemStats, does not stop the world).
var runtimeSamples = []struct {
	name, help, source string
}{
	{"go_goroutines", "Number of goroutines that currently exist.", "/sched/goroutines:goroutines"},
	{"go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects (live and not yet swept).", "/memory/classes/heap/objects:bytes"},
	{"go_memstats_sys_bytes", "Bytes of memory obtained from the OS by the Go runtime.", "/memory/classes/total:bytes"},
}

// WriteText writes every metric in the text exposition format: the stage
// histograms, the registered gauges, the Go runtime's goroutines and heap,
// and on Linux the process's resident memory.
func (r *Registry) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	r.writeStages(ew)

	r.mu.Lock()
	gauges := slices.Clone(r.gauges)
	r.mu.Unlock()
	for _, g := range gauges {
		writeHeader(ew, g.name, g.help, "gauge")
		for _, s := range g.read() {
			ew.printf("%s%s %s\n", g.name, formatLabels(s.Labels), formatValue(s.Value))
		}
	}

	samples := make([]metrics.Sample, len(runtimeSamples))
	for i, s := range runtimeSamples {
		samples[i].Name = s.source
	}
	metrics.Read(samples)
	for i, s := range runtimeSamples {
		var v float64
		switch samples[i].Value.Kind() {
		case metrics.KindUint64:
			v = float64(samples[i].Value.Uint64())
		case metrics.KindFloat64:
			v = samples[i].Value.Float64()
		default:
			continue // not supported by this Go version
		}
		writeHeader(ew, s.name, s.help, "gauge")
		ew.printf("%s %s\n", s.name, formatValue(v))
	}
	if rss, ok := residentBytes(); ok {
		writeHeader(ew, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge")
		ew.printf("process_resident_memory_bytes %d\n", rss)
	}
	if r != nil {
		writeHeader(ew, "process_start_time_seconds", "Start time of the metrics registry since the Unix epoch, in seconds.", "gauge")
		ew.printf("process_start_time_seconds %s\n", formatValue(float64(r.start.UnixNano())/1e9))
	}
	return ew.err
}

func (r *Registry) writeStages(ew *errWriter) {
	if r == nil {
		return
	}
	type stage struct {
		key StageKey
		h   *Histogram
	}
	r.stageMu.RLock()
	stages := make([]stage, 0, len(r.stages))
	for k, h := range r.stages {
		stages = append(stages, stage{k, h})
	}
	r.stageMu.RUnlock()
	// A stable order makes scrapes diffable.
	slices.SortFunc(stages, func(a, b stage) int {
		return cmp.Or(cmp.Compare(a.key.Direction, b.key.Direction),
			cmp.Compare(a.key.Network, b.key.Network), cmp.Compare(a.key.Stage, b.key.Stage))
	})
	writeHeader(ew, StageMetric, "Time a message spends in one stage of bridging, by direction of travel, network and stage (ferry: Ferry's own share, of which queue is waiting for the portal and handling the rest; homeserver: the homeserver's answer to the send; send: until the network's send returned).", "histogram")
	for _, s := range stages {
		labels := []string{"direction", s.key.Direction, "network", s.key.Network, "stage", s.key.Stage}
		snap := s.h.Snapshot()
		for i, c := range snap.Cumulative {
			le := "+Inf"
			if i < len(snap.Bounds) {
				le = formatValue(snap.Bounds[i])
			}
			ew.printf("%s_bucket%s %d\n", StageMetric, formatLabels(append(labels, "le", le)), c)
		}
		ew.printf("%s_sum%s %s\n", StageMetric, formatLabels(labels), formatValue(snap.Sum.Seconds()))
		ew.printf("%s_count%s %d\n", StageMetric, formatLabels(labels), snap.Count)
	}
}

func writeHeader(ew *errWriter, name, help, typ string) {
	ew.printf("# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

// formatLabels renders name/value pairs as {a="1",b="2"}, or "" for none.
func formatLabels(pairs []string) string {
	if len(pairs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(pairs[i])
		b.WriteString(`="`)
		b.WriteString(escapeLabel(pairs[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// errWriter keeps the first write error so that the writing code stays
// linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// residentBytes reads the process's RSS from /proc (Linux only).
func residentBytes() (int64, bool) {
	if runtime.GOOS != "linux" {
		return 0, false
	}
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(string(data))
	if len(fields) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
