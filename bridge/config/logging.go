package config

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// Logger builds the logger logging.level and logging.format describe:
// "pretty" is zerolog's ConsoleWriter (coloured only when w is a terminal,
// and never with NO_COLOR set), "json" one JSON object per line.
// It does not touch zerolog's global settings.
func (l LoggingConfig) Logger(w io.Writer) (zerolog.Logger, error) {
	level, err := parseLogLevel(l.Level)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("logging.level: %w", err)
	}
	out := w
	switch l.Format {
	case "json":
	case "pretty":
		out = zerolog.ConsoleWriter{Out: w, NoColor: !isTerminal(w), TimeFormat: time.DateTime}
	default:
		return zerolog.Nop(), fmt.Errorf("logging.format: %q must be pretty or json", l.Format)
	}
	return zerolog.New(out).Level(level).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
