package localhs

import (
	"bytes"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

const (
	// DendriteModule is the Go module Dendrite is built from. It is the
	// Apache-2.0 matrix-org module; the element-hq fork is AGPL and must not
	// be used.
	DendriteModule = "github.com/matrix-org/dendrite"
	// DendriteVersion is the Dendrite release the test bed runs.
	DendriteVersion = "v0.13.8"
)

// dendriteCommands are the commands installed from DendriteModule.
var dendriteCommands = []string{"dendrite", "generate-config", "generate-keys"}

// CacheDir is the test bed's cache directory: $FERRY_TESTBED_CACHE, or
// ~/.cache/ferry-testbed. scripts/test.sh uses the same rule.
func CacheDir() (string, error) {
	if dir := os.Getenv("FERRY_TESTBED_CACHE"); dir != "" {
		return filepath.Abs(dir)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no FERRY_TESTBED_CACHE and no home directory: %w", err)
	}
	return filepath.Join(home, ".cache", "ferry-testbed"), nil
}

var (
	binariesMu  sync.Mutex
	binariesDir string // set once the binaries were verified in this process
)

// DendriteBinaries returns the directory holding the dendrite,
// generate-config and generate-keys binaries of DendriteVersion, installing
// them with `go install` into CacheDir()/bin when they are missing or were
// built from another module or version. A lock file in the cache directory
// serialises installs by parallel processes; a cold install takes a few
// minutes, and logf hears about it.
func DendriteBinaries(logf func(format string, args ...any)) (dir string, err error) {
	binariesMu.Lock()
	defer binariesMu.Unlock()
	if binariesDir != "" {
		return binariesDir, nil
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "bin")
	if binariesOK(bin) == nil {
		binariesDir = bin
		return bin, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(cache, "install.lock"))
	if err != nil {
		return "", fmt.Errorf("lock Dendrite install: %w", err)
	}
	defer unlock()
	// Another process may have installed while we waited for the lock.
	if why := binariesOK(bin); why != nil {
		logf("installing Dendrite %s into %s (%v); this takes a few minutes the first time", DendriteVersion, bin, why)
		start := time.Now()
		if err := installDendrite(cache, bin); err != nil {
			return "", err
		}
		if why := binariesOK(bin); why != nil {
			return "", fmt.Errorf("Dendrite still unusable after install: %w", why)
		}
		logf("installed Dendrite in %s", time.Since(start).Round(time.Second))
	}
	binariesDir = bin
	return bin, nil
}

// binariesOK reports why the binaries in bin are unusable, or nil.
func binariesOK(bin string) error {
	for _, name := range dendriteCommands {
		path := filepath.Join(bin, name)
		info, err := buildinfo.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if info.Main.Path != DendriteModule || info.Main.Version != DendriteVersion {
			return fmt.Errorf("%s is built from %s@%s, want %s@%s", name, info.Main.Path, info.Main.Version, DendriteModule, DendriteVersion)
		}
	}
	return nil
}

// installDendrite builds the commands into a temporary GOBIN inside cache
// and renames them into bin, so no reader ever sees a half-written binary.
func installDendrite(cache, bin string) error {
	goTool, err := goCommand()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(cache, "install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	args := []string{"install"}
	for _, name := range dendriteCommands {
		args = append(args, DendriteModule+"/cmd/"+name+"@"+DendriteVersion)
	}
	cmd := exec.Command(goTool, args...)
	cmd.Dir = tmp // outside any module, so the project's go.mod plays no part
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %v: %v\n%s", args, err, Tail(out.String(), 40))
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	for _, name := range dendriteCommands {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(bin, name)); err != nil {
			return err
		}
	}
	return nil
}

// goCommand finds the go tool: on PATH, else /usr/local/go/bin/go.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	const fallback = "/usr/local/go/bin/go"
	if _, err := os.Stat(fallback); err == nil {
		return fallback, nil
	}
	return "", fmt.Errorf("the go tool is needed to install Dendrite and is neither on PATH nor at %s", fallback)
}
