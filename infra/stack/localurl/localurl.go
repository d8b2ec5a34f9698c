// Package localurl remembers where `make run` serves. The local stack
// prefers port 8080 and takes any free port when it is busy; the tools that
// talk to it (make doctor, make session, make demo-*) would then check or
// call whatever else answers on 8080, or nothing. `make run` records its
// URL in .artifacts/local-url while it runs, and the tools read it.
package localurl

import (
	"os"
	"path/filepath"
	"strings"
)

// Default is where the local stack serves when port 8080 is free.
const Default = "http://localhost:8080"

// file is the record, relative to the repository root.
const file = ".artifacts/local-url"

// Root returns the repository root: the nearest folder up from the working
// directory that holds go.mod; "." when there is none.
func Root() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "."
		}
		dir = parent
	}
}

// Record writes url as the running stack's address under root. The
// returned function removes the record, unless another `make run` has
// replaced it since.
func Record(root, url string) (remove func(), err error) {
	path := filepath.Join(root, file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return func() {}, err
	}
	if err := os.WriteFile(path, []byte(url+"\n"), 0o644); err != nil {
		return func() {}, err
	}
	return func() {
		if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == url {
			_ = os.Remove(path)
		}
	}, nil
}

// Running returns the address `make run` recorded under root, or Default
// when none is recorded.
func Running(root string) string {
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return Default
	}
	if u := strings.TrimSpace(string(b)); strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
		return u
	}
	return Default
}

// FromEnv returns the environment variable key when it is set, else the
// address `make run` recorded (Running), for a tool's default -api or -url.
func FromEnv(key string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return Running(Root())
}
