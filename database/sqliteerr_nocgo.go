//go:build !cgo

package database

// Without cgo go-sqlite3 is a stub that cannot open databases, so there are
// no SQLite errors to recognise.
func isSQLiteUniqueViolation(error) bool { return false }
