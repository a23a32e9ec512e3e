package waconv

import (
	"math"
	"strconv"
	"testing"
)

// TestSecondsOfAnyDuration: a Matrix client names a file's duration in
// milliseconds, any int; WhatsApp takes whole seconds in a uint32. A
// started second counts, and a duration beyond what WhatsApp can carry
// is its longest, not a wrapped-around one.
func TestSecondsOfAnyDuration(t *testing.T) {
	show := func(s *uint32) string {
		if s == nil {
			return "none"
		}
		return strconv.FormatUint(uint64(*s), 10)
	}
	for _, tc := range []struct {
		ms   int64
		want string
	}{
		{1, "1"}, {1000, "1"}, {1500, "2"}, {3_600_000, "3600"},
		{math.MaxUint32 * 1000, "4294967295"},
		{5_000_000_000_000, "4294967295"},
		{math.MaxInt - 998, "4294967295"},
		{math.MaxInt, "4294967295"},
		{0, "none"}, {-1, "none"}, {math.MinInt, "none"},
	} {
		if tc.ms > math.MaxInt {
			continue // beyond a 32-bit int
		}
		if got := show(seconds(int(tc.ms))); got != tc.want {
			t.Errorf("seconds(%d) = %s, want %s", tc.ms, got, tc.want)
		}
	}
}
