//go:build cgo

package database

import (
	"errors"

	"github.com/mattn/go-sqlite3"
)

func isSQLiteUniqueViolation(err error) bool {
	sqliteErr, ok := errors.AsType[sqlite3.Error](err)
	return ok && (sqliteErr.ExtendedCode == sqlite3.ErrConstraintUnique ||
		sqliteErr.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
}
