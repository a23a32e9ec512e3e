package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Reading `perf script` output of a page-fault recording (see
// memory_faults.go) and saying, for each fault in the binary's own
// read-only mappings, what caused it.

// faultSample is one recorded page fault: when, at which data address,
// and the call chain that made it, innermost frame first.
type faultSample struct {
	time  float64
	addr  uint64
	chain []string
}

// binaryRange is one read-only mapping of the measured binary.
type binaryRange struct {
	lo, hi uint64
	exec   bool // code (r-xp) rather than read-only data (r--p)
}

var (
	faultHeader = regexp.MustCompile(`^\s*\S+\s+\d+\s+([0-9.]+):\s+([0-9a-f]+)`)
	faultFrame  = regexp.MustCompile(`^\s+[0-9a-f]+\s+(.+?)\s*$`)
	// cCompilerSuffix marks the local copies GCC makes of C functions
	// (sqlite3Update.constprop.0), whose names have dots as Go's do.
	cCompilerSuffix = regexp.MustCompile(`\.(part|constprop|isra|cold|lto_priv)(\.|$)`)
	faultMmap       = regexp.MustCompile(`PERF_RECORD_MMAP2 .*\[(0x[0-9a-f]+)\((0x[0-9a-f]+)\) @ [^\]]*\]: ([rwxp-]{4}) (\S+)\s*$`)
)

// parsePerfFaults reads `perf script -F comm,tid,time,addr,ip,sym
// --show-mmap-events` and keeps the read-only mappings of binary.
func parsePerfFaults(r io.Reader, binary string) ([]faultSample, []binaryRange, error) {
	var samples []faultSample
	var ranges []binaryRange
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var cur *faultSample
	for sc.Scan() {
		line := sc.Text()
		if m := faultMmap.FindStringSubmatch(line); m != nil {
			cur = nil
			if m[4] != binary || m[3][1] == 'w' {
				continue
			}
			lo, err1 := strconv.ParseUint(m[1], 0, 64)
			size, err2 := strconv.ParseUint(m[2], 0, 64)
			if err1 != nil || err2 != nil {
				return nil, nil, fmt.Errorf("perf script: mapping %q", line)
			}
			ranges = append(ranges, binaryRange{lo: lo, hi: lo + size, exec: m[3][2] == 'x'})
			continue
		}
		if m := faultHeader.FindStringSubmatch(line); m != nil && !strings.HasPrefix(line, "\t") {
			t, err1 := strconv.ParseFloat(m[1], 64)
			addr, err2 := strconv.ParseUint(m[2], 16, 64)
			if err1 != nil || err2 != nil {
				return nil, nil, fmt.Errorf("perf script: sample %q", line)
			}
			samples = append(samples, faultSample{time: t, addr: addr})
			cur = &samples[len(samples)-1]
			continue
		}
		if m := faultFrame.FindStringSubmatch(line); m != nil && cur != nil {
			cur.chain = append(cur.chain, m[1])
			continue
		}
		if strings.TrimSpace(line) == "" {
			cur = nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("perf script: %w", err)
	}
	return samples, ranges, nil
}

// faultCause is one cause of faults and how many it made.
type faultCause struct {
	Cause  string `json:"cause"`
	Faults int    `json:"faults"`
}

// classifyFaults counts the faults in the binary's read-only mappings
// from the first one made under main.main on (what the same binary
// stopped after init does not do), by cause, most first.
func classifyFaults(samples []faultSample, ranges []binaryRange) (causes []faultCause, afterMain, all int) {
	start := -1
	for i, s := range samples {
		if inRanges(s.addr, ranges) != nil && chainHas(s.chain, "main.main") {
			start = i
			break
		}
	}
	count := map[string]int{}
	for i, s := range samples {
		r := inRanges(s.addr, ranges)
		if r == nil {
			continue
		}
		all++
		if start < 0 || i < start {
			continue
		}
		afterMain++
		count[faultCauseOf(s, r.exec)]++
	}
	for c, n := range count {
		causes = append(causes, faultCause{Cause: c, Faults: n})
	}
	sort.Slice(causes, func(i, j int) bool {
		if causes[i].Faults != causes[j].Faults {
			return causes[i].Faults > causes[j].Faults
		}
		return causes[i].Cause < causes[j].Cause
	})
	return causes, afterMain, all
}

func inRanges(addr uint64, ranges []binaryRange) *binaryRange {
	for i := range ranges {
		if addr >= ranges[i].lo && addr < ranges[i].hi {
			return &ranges[i]
		}
	}
	return nil
}

func chainHas(chain []string, fn string) bool {
	for _, f := range chain {
		if f == fn {
			return true
		}
	}
	return false
}

// faultCauseOf names why one fault happened. Code faults are the code
// that ran: C (SQLite, cgo) or a Go package. Faults in read-only data
// made by the runtime reading its own function tables are named by what
// made it read them; other data faults by the first Go package outside
// the runtime on the stack.
func faultCauseOf(s faultSample, code bool) string {
	if code {
		if len(s.chain) == 0 {
			return "code: unknown"
		}
		if pkg := goPackage(s.chain[0]); pkg != "" {
			return "code: " + pkg
		}
		return "code: C (SQLite, cgo)"
	}
	switch {
	case chainHas(s.chain, "runtime.newproc1"):
		return "runtime tables: a new goroutine's function name"
	case chainHas(s.chain, "runtime.callers") || chainHas(s.chain, "runtime.Caller"):
		return "runtime tables: runtime.Caller in " + firstOutsideRuntime(s.chain)
	case chainHas(s.chain, "runtime.newstack"):
		return "runtime tables: moving a grown stack"
	case chainHas(s.chain, "runtime.gcDrain") || chainHas(s.chain, "runtime.markroot"):
		return "runtime tables: garbage collection"
	}
	return "data: " + firstOutsideRuntime(s.chain)
}

// firstOutsideRuntime is the package of the innermost Go frame that is
// not the runtime's, internal or reflection machinery.
func firstOutsideRuntime(chain []string) string {
	for _, f := range chain {
		pkg := goPackage(f)
		if pkg == "" || pkg == "runtime" || strings.HasPrefix(pkg, "internal/") || pkg == "reflect" || pkg == "sync" {
			continue
		}
		return pkg
	}
	return "the runtime"
}

// goPackage is the import path of a Go symbol ("net/http.(*Client).do",
// "gopkg.in/yaml%2ev3.unmarshal"), or "" for a C symbol.
func goPackage(sym string) string {
	if cCompilerSuffix.MatchString(sym) {
		return ""
	}
	slash := strings.LastIndex(sym, "/")
	dot := strings.Index(sym[slash+1:], ".")
	if dot < 0 {
		return ""
	}
	pkg := strings.ReplaceAll(sym[:slash+1+dot], "%2e", ".")
	if strings.ContainsAny(pkg, " ()[]*") {
		return ""
	}
	return pkg
}
