package database

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// ErrDuplicate is returned (wrapped, check with errors.Is or IsDuplicate)
// by inserts that must not overwrite an existing row, currently
// MessageQuery.Put. Callers use it to recognise a remote message or Matrix
// event they have already bridged.
var ErrDuplicate = errors.New("duplicate row")

// IsDuplicate reports whether err is, or wraps, ErrDuplicate or a unique
// constraint violation from either dialect.
func IsDuplicate(err error) bool {
	return errors.Is(err, ErrDuplicate) || isUniqueViolation(err)
}

// isUniqueViolation recognises a violated UNIQUE or PRIMARY KEY constraint
// on both dialects; the SQLite half lives in a cgo-only file because
// go-sqlite3 defines its error type only when built with cgo.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if pqErr, ok := errors.AsType[*pq.Error](err); ok {
		return pqErr.Code == pqerror.UniqueViolation
	}
	return isSQLiteUniqueViolation(err)
}

// toMilli converts a time to the stored representation; the zero time
// becomes 0 rather than a huge negative number, so it can round-trip.
func toMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMilli is the inverse of toMilli.
func fromMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// fromNullMilli reads a nullable millisecond column; NULL is the zero time.
func fromNullMilli(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return fromMilli(ms.Int64)
}

// emptyMetadata is what nil or empty metadata is stored and read back as.
const emptyMetadata = "{}"

// metadataValue validates metadata before it is written: the column is
// plain text on both dialects, so nothing else would stop invalid JSON from
// being stored and breaking every later read.
func metadataValue(meta json.RawMessage) (string, error) {
	if len(meta) == 0 {
		return emptyMetadata, nil
	}
	if !json.Valid(meta) {
		return "", fmt.Errorf("metadata is not valid JSON")
	}
	return string(meta), nil
}

// scanMetadata converts the stored text back; a (legacy or hand-edited)
// empty value reads as {} like nil metadata does.
func scanMetadata(s string) json.RawMessage {
	if s == "" {
		s = emptyMetadata
	}
	return json.RawMessage(s)
}

// storedText is s as a text column can hold it on both dialects: invalid
// UTF-8 (an IRC topic in Latin-1) becomes U+FFFD and NUL goes, where
// PostgreSQL would refuse the whole row and SQLite keep the bytes. Only
// for free text (names, topics): the homeserver sees the same, since JSON
// encoding replaces invalid UTF-8 too.
func storedText(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
