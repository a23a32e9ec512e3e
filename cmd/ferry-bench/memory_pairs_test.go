package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSummarizeIdlePairs(t *testing.T) {
	pair := func(bareFerry, ferry uint64) idlePair {
		return newIdlePair(memRSS{RSS: bareFerry}, memRSS{RSS: ferry})
	}
	for _, tc := range []struct {
		name              string
		pairs             []idlePair
		median, low, high int64
		wantText          string
	}{
		{"one pair", []idlePair{pair(100, 150)}, 50, 50, 50, "0.00 MiB (one pair)"},
		{"odd count: the middle one", []idlePair{pair(100, 400), pair(100, 120), pair(200, 250)}, 50, 20, 300, ""},
		{"even count: the mean of the middle two", []idlePair{pair(0, 10), pair(0, 40), pair(0, 20), pair(0, 1000)}, 30, 10, 1000, ""},
		{"Ferry below bare-ferry", []idlePair{pair(300, 100), pair(100, 200), pair(100, 100)}, 0, -200, 100, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := summarizeIdlePairs(tc.pairs)
			if s.Median != tc.median || s.Min != tc.low || s.Max != tc.high {
				t.Errorf("median %d, min %d, max %d; want %d, %d, %d", s.Median, s.Min, s.Max, tc.median, tc.low, tc.high)
			}
			if len(s.Pairs) != len(tc.pairs) {
				t.Errorf("%d pairs kept, want %d", len(s.Pairs), len(tc.pairs))
			}
			if tc.wantText != "" && s.text() != tc.wantText {
				t.Errorf("text %q, want %q", s.text(), tc.wantText)
			}
		})
	}
	// The pairs passed in keep their order in the report.
	in := []idlePair{pair(0, 3), pair(0, 1), pair(0, 2)}
	if s := summarizeIdlePairs(in); s.Pairs[0].Above != 3 || s.Pairs[1].Above != 1 {
		t.Errorf("pairs reordered: %+v", s.Pairs)
	}
}

// Each pair runs a fresh copy of the binary: the same bytes, executable,
// in a new file (never over an existing one).
func TestCopyExecutable(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "ferry")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "ferry-pair2")
	if err := copyExecutable(src, dst); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || string(got) != "#!/bin/sh\necho hi\n" {
		t.Fatalf("copy holds %q (%v)", got, err)
	}
	if st, err := os.Stat(dst); err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Errorf("copy's mode %v (%v): not executable", st.Mode(), err)
	}
	if err := copyExecutable(src, dst); err == nil {
		t.Error("copying over an existing file succeeded")
	}
}
