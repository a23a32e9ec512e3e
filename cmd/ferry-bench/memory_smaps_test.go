package main

import (
	"strconv"
	"strings"
	"testing"
)

// TestParseSmapsSumsPerKind: each mapping lands in its kind (the bss
// right after the binary's data counts with it), and Rss, Anonymous and
// FilePmdMapped add up per kind in bytes.
func TestParseSmapsSumsPerKind(t *testing.T) {
	const exe = "/tmp/x/ferry"
	mapping := func(header string, size, rss, anon, pmd int) string {
		return header + "\n" +
			"Size: " + itoa(size) + " kB\nRss: " + itoa(rss) + " kB\nPss: 1 kB\n" +
			"Anonymous: " + itoa(anon) + " kB\nFilePmdMapped: " + itoa(pmd) + " kB\nVmFlags: rd mr mw me\n"
	}
	smaps := mapping("00400000-00403000 r--p 00000000 fe:00 1 "+exe, 12, 12, 0, 0) +
		mapping("00403000-00f25000 r-xp 00003000 fe:00 1 "+exe, 11400, 11000, 0, 8192) +
		mapping("00f25000-01cc3000 r--p 00b25000 fe:00 1 "+exe, 13944, 13000, 0, 10240) +
		mapping("01cc6000-01d63000 rw-p 018c6000 fe:00 1 "+exe, 628, 492, 132, 0) +
		mapping("01d63000-03db3000 rw-p 00000000 00:00 0", 33088, 112, 112, 0) +
		mapping("4120b000-4122c000 rw-p 00000000 00:00 0                  [heap]", 132, 440, 440, 0) +
		mapping("365db000000-365db800000 rw-p 00000000 00:00 0", 8192, 3000, 3000, 0) +
		mapping("7f0bb4291000-7f0bb4293000 r-xp 00000000 fe:00 2          /usr/lib/x86_64-linux-gnu/libc.so.6", 1876, 1200, 24, 0) +
		mapping("7f0bb4294000-7f0bb4298000 rw-s 00000000 fe:00 3          /tmp/x/ferry 0.db-shm", 32, 32, 0, 0)
	parts, err := parseSmaps(strings.NewReader(smaps), exe)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]uint64{ // kind: RSS, anon, PMD in KiB
		"binary text":      {11000, 0, 8192},
		"binary rodata":    {13012, 0, 10240},
		"binary data+bss":  {604, 244, 0},
		"shared libraries": {1200, 24, 0},
		"other files":      {32, 0, 0},
		"C heap (brk)":     {440, 440, 0},
		"other anonymous":  {3000, 3000, 0},
	}
	if len(parts) != len(smapsKinds) {
		t.Fatalf("%d kinds, want %d", len(parts), len(smapsKinds))
	}
	for _, p := range parts {
		w := want[p.Kind]
		if got := [3]uint64{p.RSS >> 10, p.Anon >> 10, p.PmdMapped >> 10}; got != w {
			t.Errorf("%s: RSS/anon/PMD %v KiB, want %v", p.Kind, got, w)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
