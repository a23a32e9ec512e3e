package database

import (
	"context"
	"fmt"

	"go.mau.fi/util/dbutil"
)

// queryMany runs a query of many rows and scans each into a new T, as
// dbutil's QueryHelper.QueryMany does, without its row iterator: that
// records its caller for every query (runtime.Caller and the caller's
// function name, formatted into a string) and sets a finalizer on
// itself. Several of these queries are on the message paths (a remote
// message's parts are read for every message that arrives). Like
// QueryMany, it returns an empty, non-nil slice when there are no rows,
// and it takes part in a transaction carried by ctx.
func queryMany[T dbutil.DataStruct[T]](ctx context.Context, qh *dbutil.QueryHelper[T], query string, args ...any) ([]T, error) {
	rows, err := qh.GetDB().Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		item, err := qh.New().Scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan row: %w", err)
		}
		out = append(out, item)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}
