package main

import (
	"os"
	"path/filepath"
)

// configsDir is -configs: where to copy the configuration files a run's
// servers used, so that published figures come with their exact settings
// (the files are written fresh for every run, with its ports and paths).
var configsDir string

// saveConfigs copies each file (by the name it is to have) into
// configsDir, if one was given; an empty path is skipped (a server that
// did not start).
func saveConfigs(files map[string]string) {
	if configsDir == "" {
		return
	}
	if err := os.MkdirAll(configsDir, 0o755); err != nil {
		say("-configs: %v", err)
		return
	}
	for name, path := range files {
		if path == "" {
			continue
		}
		data, err := os.ReadFile(path)
		if err == nil {
			err = os.WriteFile(filepath.Join(configsDir, name), data, 0o644)
		}
		if err != nil {
			say("-configs: %s: %v", name, err)
		}
	}
	say("configuration files copied to %s", configsDir)
}
