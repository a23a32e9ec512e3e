package pgtest

import (
	"database/sql"
	"net/url"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// Each URI is a separate, usable database that is gone after the test.
func TestURI(t *testing.T) {
	var names []string
	t.Run("use", func(t *testing.T) {
		for range 2 {
			uri := URI(t)
			db, err := sql.Open("postgres", uri)
			if err != nil {
				t.Fatal(err)
			}
			var name string
			if err := db.QueryRow("SELECT current_database()").Scan(&name); err != nil {
				t.Fatalf("query %s: %v", uri, err)
			}
			if _, err := db.Exec("CREATE TABLE t (x int)"); err != nil {
				t.Fatalf("a fresh database should be empty and writable: %v", err)
			}
			_ = db.Close()
			names = append(names, name)
		}
		if names[0] == names[1] {
			t.Errorf("two URIs share database %s", names[0])
		}
	})
	for _, name := range names {
		var n int
		if err := admin.QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("database %s was not dropped", name)
		}
	}
}

func TestWithDatabase(t *testing.T) {
	got, err := withDatabase("postgres://u:p@h:5/base?sslmode=disable", "other")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(got)
	if u.Path != "/other" || u.User.String() != "u:p" || u.Query().Get("sslmode") != "disable" {
		t.Errorf("URL form: %s", got)
	}
	got, _ = withDatabase("host=h dbname=base", "other")
	if !strings.HasSuffix(got, " dbname=other") {
		t.Errorf("key=value form: %s", got)
	}
}
