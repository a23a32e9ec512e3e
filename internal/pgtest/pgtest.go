// Package pgtest gives tests a fresh, empty PostgreSQL database.
//
// The server is either the one named by FERRY_TEST_POSTGRES (a DSN of a
// running server on which the tests may CREATE DATABASE) or a throwaway
// cluster that the first call to URI starts for the whole test process and
// Main stops afterwards. Every URI call creates its own database, so tests
// and packages never see each other's rows.
//
// If no server can be had, URI fails the test with instructions, or skips
// it when FERRY_SKIP_POSTGRES=1. It never skips silently: a green test run
// must mean PostgreSQL was tested unless skipping was asked for.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/lib/pq"
)

const (
	// EnvServer names a running server to use instead of a throwaway one.
	EnvServer = "FERRY_TEST_POSTGRES"
	// EnvSkip, set to 1, turns "no PostgreSQL available" into a skip.
	EnvSkip = "FERRY_SKIP_POSTGRES"

	installHint = "install PostgreSQL so that initdb and postgres are in PATH or " +
		"/usr/lib/postgresql/<version>/bin (Debian/Ubuntu: apt-get install postgresql), " +
		"or set " + EnvServer + " to the DSN of a server where tests may CREATE DATABASE " +
		"(e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), " +
		"or set " + EnvSkip + "=1 to skip the PostgreSQL tests"
)

var (
	setupOnce sync.Once
	setupErr  error
	baseDSN   string
	admin     *sql.DB  // connection to baseDSN for CREATE/DROP DATABASE
	local     *cluster // the throwaway cluster, nil when using EnvServer
)

// URI returns the DSN of a new, empty database on the test server. The
// database is dropped when the test finishes; close connections to it in a
// cleanup registered after calling URI (cleanups run last-in first-out), or
// the drop forces them closed.
func URI(t testing.TB) string {
	t.Helper()
	setupOnce.Do(setup)
	if setupErr != nil {
		unavailable(t, setupErr)
	}
	name := "ferry_test_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The name is generated from [a-z0-9_] only, so it needs no quoting.
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(t, name) })
	dsn, err := withDatabase(baseDSN, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// Main is for TestMain: it runs the tests, stops the throwaway cluster if
// one was started, and exits with the tests' status.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if err := Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Stop closes the admin connection and stops and deletes the throwaway
// cluster, if any. Main calls it; call it yourself only with a custom
// TestMain.
func Stop() error {
	if admin != nil {
		_ = admin.Close()
	}
	if local == nil {
		return nil
	}
	return local.stop()
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(EnvSkip) == "1" {
		t.Skipf("pgtest: PostgreSQL unavailable and %s=1: %v", EnvSkip, err)
	}
	t.Fatalf("pgtest: PostgreSQL unavailable: %v\nTo fix: %s", err, installHint)
}

// setup runs once per process and decides which server the tests use.
func setup() {
	if dsn := os.Getenv(EnvServer); dsn != "" {
		baseDSN = dsn
		admin, setupErr = connect(dsn, 10*time.Second)
		if setupErr != nil {
			setupErr = fmt.Errorf("%s is set but unusable: %w", EnvServer, setupErr)
		}
		return
	}
	local, setupErr = startCluster()
	if setupErr != nil {
		return
	}
	baseDSN = local.dsn
	admin, setupErr = connect(baseDSN, 10*time.Second)
}

// connect opens a small pool and waits until the server answers.
func connect(dsn string, timeout time.Duration) (*sql.DB, error) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err = db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func dropDatabase(t testing.TB, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// WITH (FORCE) (PostgreSQL 13+) disconnects sessions a test leaked;
	// older servers get the plain form.
	_, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	if err != nil {
		_, err = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name)
	}
	if err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// withDatabase points a DSN, in URL or key=value form, at another database.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse DSN: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In key=value form the last occurrence of a key wins.
	return dsn + " dbname=" + name, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}
