//go:build !linux

package pgtest

import "errors"

// The throwaway cluster relies on Linux's parent-death signal to never
// outlive the test process; elsewhere, point the tests at a server.
type cluster struct{ dsn string }

func startCluster() (*cluster, error) {
	return nil, errors.New("a throwaway cluster is only supported on Linux; set " + EnvServer)
}

func (c *cluster) stop() error { return nil }
