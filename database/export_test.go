package database

import "database/sql"

// PerMessageStatements is perMessageStatements, for the external tests.
var PerMessageStatements = perMessageStatements

// PreparedStatement returns the statement db keeps prepared for query, or
// nil if it keeps none (yet).
func PreparedStatement(db *Database, query string) *sql.Stmt {
	e, ok := db.LoggingDB.UnderlyingExecable.(*sqliteExecable)
	if !ok {
		return nil
	}
	slot := e.prepared[sqlitePlaceholders(query)]
	if slot == nil {
		return nil
	}
	return slot.stmt.Load()
}
