// Package upgrades holds Ferry's database schema as numbered SQL files.
//
// Each file starts with a dbutil header ("-- v1: ...", or
// "-- v1 -> v2: ..." for later steps) and runs in its own transaction. Lines
// that differ between SQLite and PostgreSQL are marked with dbutil's
// "-- only: postgres" / "-- only: sqlite" filters, so both dialects share one
// file per version and cannot drift apart. Released files are never edited:
// schema changes always go into a new file with the next number.
package upgrades

import (
	"embed"

	"go.mau.fi/util/dbutil"
)

//go:embed *.sql
var files embed.FS

// Table is the upgrade table for Ferry's own tables (version table
// "ferry_version"). Building it parses the embedded files, so a malformed
// file panics at start-up instead of halfway through a migration.
var Table dbutil.UpgradeTable = dbutil.BuildUpgradeTable().WithFS(files).Finish()
