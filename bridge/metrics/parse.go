package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Reading an exposition back: for tests, and for the benchmark, which
// scrapes a running Ferry.

// ParsedSample is one sample line.
type ParsedSample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Parsed is an exposition read back.
type Parsed struct {
	Samples []ParsedSample
	// Types is the TYPE of each family by name.
	Types map[string]string
}

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// Parse reads the text exposition format strictly: it fails on anything
// a Prometheus server would reject (bad names, label syntax or values, a
// TYPE after the family's samples, duplicate label names).
func Parse(r io.Reader) (*Parsed, error) {
	p := &Parsed{Types: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	seen := map[string]bool{} // families that have samples
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "#"); ok {
			fields := strings.Fields(rest)
			if len(fields) >= 2 && (fields[0] == "HELP" || fields[0] == "TYPE") {
				if !metricName.MatchString(fields[1]) {
					return nil, fmt.Errorf("line %d: bad metric name %q", n, fields[1])
				}
				if fields[0] == "TYPE" {
					if len(fields) != 3 {
						return nil, fmt.Errorf("line %d: TYPE wants a name and a type", n)
					}
					switch fields[2] {
					case "counter", "gauge", "histogram", "summary", "untyped":
					default:
						return nil, fmt.Errorf("line %d: unknown type %q", n, fields[2])
					}
					if _, dup := p.Types[fields[1]]; dup || seen[fields[1]] {
						return nil, fmt.Errorf("line %d: TYPE of %s repeated or after its samples", n, fields[1])
					}
					p.Types[fields[1]] = fields[2]
				}
			}
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		seen[familyOf(s.Name, p.Types)] = true
		p.Samples = append(p.Samples, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// familyOf maps a histogram's _bucket/_sum/_count series to its family.
func familyOf(name string, types map[string]string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && types[base] == "histogram" {
			return base
		}
	}
	return name
}

func parseSample(line string) (ParsedSample, error) {
	s := ParsedSample{Labels: map[string]string{}}
	end := strings.IndexAny(line, "{ ")
	if end < 0 {
		return s, fmt.Errorf("no value in %q", line)
	}
	s.Name = line[:end]
	if !metricName.MatchString(s.Name) {
		return s, fmt.Errorf("bad metric name %q", s.Name)
	}
	rest := line[end:]
	if strings.HasPrefix(rest, "{") {
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, " ")
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.IndexByte(rest, '=')
			if eq <= 0 {
				return s, fmt.Errorf("bad label in %q", line)
			}
			name := strings.TrimSpace(rest[:eq])
			if !metricName.MatchString(name) || strings.Contains(name, ":") {
				return s, fmt.Errorf("bad label name %q", name)
			}
			if _, dup := s.Labels[name]; dup {
				return s, fmt.Errorf("duplicate label %q", name)
			}
			rest = rest[eq+1:]
			if !strings.HasPrefix(rest, `"`) {
				return s, fmt.Errorf("label %s: value not quoted", name)
			}
			value, n, err := unquoteLabel(rest)
			if err != nil {
				return s, fmt.Errorf("label %s: %w", name, err)
			}
			s.Labels[name] = value
			rest = rest[n:]
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
			} else if !strings.HasPrefix(rest, "}") {
				return s, fmt.Errorf("label %s: want , or } after the value", name)
			}
		}
	}
	fields := strings.Fields(rest)
	if len(fields) < 1 || len(fields) > 2 {
		return s, fmt.Errorf("want a value and an optional timestamp in %q", line)
	}
	v, err := parseValue(fields[0])
	if err != nil {
		return s, err
	}
	s.Value = v
	if len(fields) == 2 {
		if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
			return s, fmt.Errorf("bad timestamp %q", fields[1])
		}
	}
	return s, nil
}

// unquoteLabel reads a quoted label value with the format's three escapes
// and returns it and how many bytes it took.
func unquoteLabel(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(s) {
				return "", 0, fmt.Errorf("unterminated escape")
			}
			i++
			switch s[i] {
			case '\\':
				b.WriteByte('\\')
			case '"':
				b.WriteByte('"')
			case 'n':
				b.WriteByte('\n')
			default:
				return "", 0, fmt.Errorf("unknown escape \\%c", s[i])
			}
		case '\n':
			return "", 0, fmt.Errorf("newline in label value")
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated label value")
}

func parseValue(s string) (float64, error) {
	switch s {
	case "+Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("bad value %q", s)
	}
	return v, nil
}

// matches reports whether a sample has every given label pair.
func (s *ParsedSample) matches(pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		if s.Labels[pairs[i]] != pairs[i+1] {
			return false
		}
	}
	return true
}

// Value returns the first sample of name that has the given label pairs.
func (p *Parsed) Value(name string, pairs ...string) (float64, bool) {
	for i := range p.Samples {
		if p.Samples[i].Name == name && p.Samples[i].matches(pairs) {
			return p.Samples[i].Value, true
		}
	}
	return 0, false
}

// Histogram rebuilds the histogram of family name whose series have the
// given label pairs.
func (p *Parsed) Histogram(name string, pairs ...string) (Snapshot, bool) {
	var s Snapshot
	found := false
	for i := range p.Samples {
		smp := &p.Samples[i]
		if !smp.matches(pairs) {
			continue
		}
		switch smp.Name {
		case name + "_bucket":
			le, err := parseValue(smp.Labels["le"])
			if err != nil {
				continue
			}
			if !math.IsInf(le, 1) {
				s.Bounds = append(s.Bounds, le)
			}
			s.Cumulative = append(s.Cumulative, uint64(smp.Value))
			found = true
		case name + "_sum":
			s.Sum = time.Duration(smp.Value * float64(time.Second))
		case name + "_count":
			s.Count = uint64(smp.Value)
		}
	}
	return s, found && len(s.Cumulative) == len(s.Bounds)+1
}

// Sub is the observations made between an earlier snapshot of the same
// histogram and this one.
func (s Snapshot) Sub(earlier Snapshot) Snapshot {
	out := Snapshot{Bounds: s.Bounds, Cumulative: make([]uint64, len(s.Cumulative)), Count: s.Count - earlier.Count, Sum: s.Sum - earlier.Sum}
	for i := range s.Cumulative {
		out.Cumulative[i] = s.Cumulative[i]
		if i < len(earlier.Cumulative) {
			out.Cumulative[i] -= earlier.Cumulative[i]
		}
	}
	return out
}

// Quantile is the upper bound of the bucket holding the q-quantile
// (nearest rank), in seconds: a histogram cannot say more, and the bound
// never understates. +Inf when it falls beyond the last bound; NaN when
// empty.
func (s Snapshot) Quantile(q float64) float64 {
	if s.Count == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(s.Count)))
	rank = max(rank, 1)
	for i, c := range s.Cumulative {
		if c >= rank {
			if i < len(s.Bounds) {
				return s.Bounds[i]
			}
			return math.Inf(1)
		}
	}
	return math.Inf(1)
}

// Mean is the exact mean observation in seconds; NaN when empty.
func (s Snapshot) Mean() float64 {
	if s.Count == 0 {
		return math.NaN()
	}
	return s.Sum.Seconds() / float64(s.Count)
}
