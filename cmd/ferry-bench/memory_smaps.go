package main

// What an RSS figure is made of: /proc/<pid>/smaps summed per kind of
// mapping, so that the report can say which part of a difference is the
// binary's code, its read-only data, C allocations or the Go runtime.
//
// File-backed pages of the binary depend on how the kernel maps them, not
// only on which code runs: on kernels with large page-cache folios (ext4
// since 6.16), a binary just written by the linker sits in the cache in
// folios up to 2 MiB, and a fault maps the whole folio (FilePmdMapped for
// 2 MiB ones), so touching one function makes its neighbours resident.
// That is why the breakdown keeps FilePmdMapped apart.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

// smapsPart is the resident memory of one kind of mapping.
type smapsPart struct {
	Kind string `json:"kind"`
	// Size is the mapped (virtual) size; RSS, Anon and PmdMapped are
	// resident bytes: all of them, the anonymous ones (for a file mapping:
	// pages copied on write) and the file pages mapped as 2 MiB folios.
	Size      uint64 `json:"size_bytes"`
	RSS       uint64 `json:"rss_bytes"`
	Anon      uint64 `json:"anon_bytes"`
	PmdMapped uint64 `json:"file_pmd_mapped_bytes"`
}

// The kinds, in the order the report lists them.
var smapsKinds = []string{
	"binary text", "binary rodata", "binary data+bss", "shared libraries", "other files",
	"C heap (brk)", "other anonymous",
}

// smapsKind classifies a mapping by its path and permissions. exe is the
// measured binary's path.
func smapsKind(exe, path, perms string) string {
	switch {
	case path == exe:
		switch {
		case strings.Contains(perms, "x"):
			return "binary text"
		case strings.HasPrefix(perms, "rw"):
			return "binary data+bss"
		default:
			return "binary rodata" // also the ELF headers' first page
		}
	case path == "[heap]":
		return "C heap (brk)"
	case strings.HasPrefix(path, "/"):
		if strings.Contains(filepath.Base(path), ".so") {
			return "shared libraries"
		}
		return "other files" // e.g. SQLite's -shm file
	default:
		// Go's heap, stacks and runtime metadata, glibc's per-thread
		// malloc arenas and thread stacks, [stack], [vdso]: the kernel
		// does not tell them apart; the Go runtime's own classes do for
		// its part.
		return "other anonymous"
	}
}

// readSmaps sums /proc/<pid>/smaps per kind. The unnamed anonymous part
// of the binary's bss (the mapping right after its data) counts as
// "binary data+bss".
func readSmaps(pid int) ([]smapsPart, error) {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return nil, err
	}
	return parseSmaps(bytes.NewReader(data), exe)
}

func parseSmaps(r io.Reader, exe string) ([]smapsPart, error) {
	sums := make(map[string]*smapsPart, len(smapsKinds))
	for _, k := range smapsKinds {
		sums[k] = &smapsPart{Kind: k}
	}
	var cur *smapsPart
	var lastEnd uint64
	prevData := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			// A mapping's header: range perms offset dev inode [path].
			lo, hi, _ := strings.Cut(f[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("smaps: bad range in %q", line)
			}
			path := ""
			if len(f) >= 6 {
				path = strings.Join(f[5:], " ")
			}
			kind := smapsKind(exe, path, f[1])
			if path == "" && prevData && start == lastEnd {
				kind = "binary data+bss"
			}
			prevData = kind == "binary data+bss"
			lastEnd = end
			cur = sums[kind]
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok || cur == nil {
			continue
		}
		var dst *uint64
		switch key {
		case "Size":
			dst = &cur.Size
		case "Rss":
			dst = &cur.RSS
		case "Anonymous":
			dst = &cur.Anon
		case "FilePmdMapped":
			dst = &cur.PmdMapped
		default:
			continue
		}
		n, err := parseKB(val)
		if err != nil {
			return nil, fmt.Errorf("smaps %s: %w", key, err)
		}
		*dst += n
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := make([]smapsPart, 0, len(smapsKinds))
	for _, k := range smapsKinds {
		out = append(out, *sums[k])
	}
	return out, nil
}

// goClassRows are the runtime/metrics memory classes the report shows,
// with what they are.
var goClassRows = []struct{ class, what string }{
	{"heap/objects", "heap objects (live and not yet swept garbage)"},
	{"heap/unused", "heap spans in use, free slots"},
	{"heap/free", "heap free, not yet returned to the OS"},
	{"heap/stacks", "goroutine stacks"},
	{"os-stacks", "OS thread stacks (Go-allocated)"},
	{"metadata/other", "GC metadata and other runtime structures"},
	{"profiling/buckets", "heap-profile buckets (mapped; pages touched only where used)"},
	{"other", "other runtime structures"},
	{"heap/released", "heap returned to the OS (not resident)"},
	{"total", "all the Go runtime mapped"},
	{"c-malloc/held", "C: what glibc's malloc took from the system (mallinfo2; not a Go class)"},
	{"c-malloc/in-use", "C: of that, allocated (SQLite's caches and schema, cgo)"},
	{"gc/cycles", "collections finished so far (a count, shown as is)"},
}

// printBreakdown is the at-rest make-up of the idle processes: smaps per
// kind and the Go runtime's classes, for the baselines and Ferry with no
// logins, with Ferry's difference to each baseline.
func printBreakdown(w io.Writer, samples []memSample) {
	var have []memSample
	for _, s := range samples {
		if len(s.Smaps) > 0 {
			have = append(have, s)
		}
	}
	if len(have) == 0 {
		return
	}
	last := have[len(have)-1]
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "  make-up at rest (smaps per kind of mapping: RSS, of which anonymous / FilePmdMapped)")
	head := "  kind\t"
	for _, s := range have {
		head += s.Label + "\t"
	}
	for _, s := range have[:len(have)-1] {
		head += last.Label + " - " + s.Label + "\t"
	}
	fmt.Fprintln(tw, head)
	for i, k := range smapsKinds {
		row := "  " + k + "\t"
		for _, s := range have {
			p := s.Smaps[i]
			row += fmt.Sprintf("%s (%s / %s)\t", fmtMiB(float64(p.RSS)), fmtMiB(float64(p.Anon)), fmtMiB(float64(p.PmdMapped)))
		}
		for _, s := range have[:len(have)-1] {
			row += fmtMiB(float64(int64(last.Smaps[i].RSS)-int64(s.Smaps[i].RSS))) + "\t"
		}
		fmt.Fprintln(tw, row)
	}
	tw.Flush()
	fmt.Fprintln(w, "  Go runtime's own account at rest (runtime/metrics /memory/classes, mapped bytes) and C malloc, read before the forced GC")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, head)
	for _, c := range goClassRows {
		val := func(v int64) string { return fmtMiB(float64(v)) }
		if c.class == "gc/cycles" {
			val = func(v int64) string { return fmt.Sprint(v) }
		}
		row := "  " + c.class + "\t"
		for _, s := range have {
			row += val(int64(s.GoClasses[c.class])) + "\t"
		}
		for _, s := range have[:len(have)-1] {
			row += val(int64(last.GoClasses[c.class])-int64(s.GoClasses[c.class])) + "\t"
		}
		fmt.Fprintln(tw, row)
	}
	tw.Flush()
	for _, c := range goClassRows {
		fmt.Fprintf(w, "    %s: %s\n", c.class, c.what)
	}
}

// smapsOf is a sample's breakdown part of the given kind.
func smapsOf(s memSample, kind string) smapsPart {
	for _, p := range s.Smaps {
		if p.Kind == kind {
			return p
		}
	}
	return smapsPart{Kind: kind}
}

// fileDiffText says what the file-backed difference between two samples
// is made of: the binary's text and rodata (with how much of each is
// mapped as 2 MiB folios), libraries and other files.
func fileDiffText(a, b memSample) string {
	if len(a.Smaps) == 0 || len(b.Smaps) == 0 {
		return ""
	}
	d := func(kind string) string {
		return fmtMiB(float64(int64(smapsOf(a, kind).RSS-smapsOf(a, kind).Anon) - int64(smapsOf(b, kind).RSS-smapsOf(b, kind).Anon)))
	}
	return fmt.Sprintf("text %s, rodata %s, data %s, libraries %s, other files %s",
		d("binary text"), d("binary rodata"), d("binary data+bss"), d("shared libraries"), d("other files"))
}

// parseKB reads a /proc value such as "  1234 kB" (status, smaps) as bytes.
func parseKB(v string) (uint64, error) {
	kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	return kb << 10, err
}
