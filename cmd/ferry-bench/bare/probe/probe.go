// Package probe is ferry-bench's window into a process it measures: a
// blank import starts, when FERRY_BENCH_PROBE names a loopback address, a
// tiny HTTP server there with the Go runtime's own figures (live heap,
// stacks, goroutines) and heap, goroutine and CPU profiles. Without the
// variable it does nothing. ferry-bench adds the import to the Ferry it
// builds through `go build -overlay`, so the tree itself carries no
// benchmark hook, and to the bare program, so both pay the same for it.
package probe

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// EnvVar names the address to listen on, e.g. 127.0.0.1:7070.
const EnvVar = "FERRY_BENCH_PROBE"

// ExactHeapEnvVar, when set, records every allocation in the heap
// profile (runtime.MemProfileRate = 1) instead of one per 512 KiB, which
// is too coarse to attribute a few KiB per connection. It slows
// allocation down, so ferry-bench sets it only for profiling runs.
const ExactHeapEnvVar = "FERRY_BENCH_EXACT_HEAP"

// Mem is what GET /mem answers: the runtime's figures right after forced
// garbage collections, so HeapAlloc is the live heap.
type Mem struct {
	HeapAlloc    uint64 `json:"heap_alloc"`
	HeapInuse    uint64 `json:"heap_inuse"`
	HeapIdle     uint64 `json:"heap_idle"`
	HeapReleased uint64 `json:"heap_released"`
	HeapObjects  uint64 `json:"heap_objects"`
	StackInuse   uint64 `json:"stack_inuse"`
	Sys          uint64 `json:"sys"`
	Goroutines   int    `json:"goroutines"`
	NumGC        uint32 `json:"num_gc"`
}

// Classes maps each runtime/metrics memory class (the name without its
// "/memory/classes/" prefix and ":bytes" suffix, e.g. "heap/objects",
// "metadata/other", "os-stacks") to its bytes. The classes add up to
// "total", everything the Go runtime has mapped. C allocations (cgo,
// SQLite) are not in it; where glibc tells, they are under CMallocHeld
// and CMallocInUse.
type Classes map[string]uint64

// Keys of Classes that are not the Go runtime's: what glibc's malloc has
// taken from the system (mapped, not all of it resident) and how much of
// that is allocated (mallinfo2).
const (
	CMallocHeld  = "c-malloc/held"
	CMallocInUse = "c-malloc/in-use"
	// GCCycles is a count, not bytes: the collections finished so far
	// (/gc/cycles/total:gc-cycles). Each further cycle after start-up
	// leaves runtime metadata behind (mcentral span-set blocks, mark
	// bits), so two processes compare best with the same count.
	GCCycles = "gc/cycles"
)

// ReadClasses reads the memory classes (and GCCycles) now.
func ReadClasses() Classes {
	const prefix, suffix = "/memory/classes/", ":bytes"
	var samples []metrics.Sample
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, prefix) && d.Kind == metrics.KindUint64 {
			samples = append(samples, metrics.Sample{Name: d.Name})
		}
	}
	samples = append(samples, metrics.Sample{Name: "/gc/cycles/total:gc-cycles"})
	metrics.Read(samples)
	out := make(Classes, len(samples)+2)
	if held, inUse, ok := cMalloc(); ok {
		out[CMallocHeld], out[CMallocInUse] = held, inUse
	}
	for _, s := range samples {
		if !strings.HasPrefix(s.Name, prefix) {
			out[GCCycles] = s.Value.Uint64()
			continue
		}
		out[strings.TrimSuffix(strings.TrimPrefix(s.Name, prefix), suffix)] = s.Value.Uint64()
	}
	return out
}

func init() {
	addr := os.Getenv(EnvVar)
	if addr == "" {
		return
	}
	// Ferry's own binary does not link runtime/pprof, so its linker turns
	// heap sampling off (runtime.MemProfileRate = 0). This package links
	// it, which would turn sampling on, one allocation in 512 KiB, each
	// sample an unwind of the stack and a bucket kept off the heap: work
	// the measured Ferry would do and the real one does not. So sampling
	// stays off, unless a run asks for exact heap profiles.
	runtime.MemProfileRate = 0
	if os.Getenv(ExactHeapEnvVar) != "" {
		runtime.MemProfileRate = 1
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferry-bench probe: %v\n", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/mem", func(w http.ResponseWriter, r *http.Request) {
		// Three collections, because each shrinks an idle goroutine's
		// stack by at most half: the floor that collection can reach.
		for range 3 {
			runtime.GC()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Mem{
			HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, HeapIdle: ms.HeapIdle,
			HeapReleased: ms.HeapReleased, HeapObjects: ms.HeapObjects,
			StackInuse: ms.StackInuse, Sys: ms.Sys,
			Goroutines: runtime.NumGoroutine(), NumGC: ms.NumGC,
		})
	})
	// /classes is the runtime's own account of the memory it mapped
	// (runtime/metrics /memory/classes/...), read as it is, without a
	// collection first, so that it describes the process at rest, the
	// same moment as the RSS read just before it.
	mux.HandleFunc("/classes", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ReadClasses())
	})
	// /profile/heap, /profile/goroutine, ... in pprof's format (debug=1
	// for text); /profile/cpu?seconds=N records CPU.
	mux.HandleFunc("/profile/{name}", func(w http.ResponseWriter, r *http.Request) {
		debug, _ := strconv.Atoi(r.URL.Query().Get("debug"))
		name := r.PathValue("name")
		if name == "cpu" {
			secs, _ := strconv.Atoi(r.URL.Query().Get("seconds"))
			if err := pprof.StartCPUProfile(w); err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			time.Sleep(time.Duration(max(secs, 1)) * time.Second)
			pprof.StopCPUProfile()
			return
		}
		p := pprof.Lookup(name)
		if p == nil {
			http.NotFound(w, r)
			return
		}
		if name == "heap" {
			runtime.GC()
		}
		_ = p.WriteTo(w, debug)
	})
	go func() { _ = http.Serve(ln, mux) }()
}
