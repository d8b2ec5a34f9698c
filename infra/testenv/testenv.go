// Package testenv starts the local stand-ins for AWS that tests, the local
// stack (make run) and benchmarks run against: DynamoDB Local, the Lambda
// Runtime Interface Emulator, and function binaries built the way they
// deploy.
//
// Nothing here skips a test when a tool is missing: it installs the tool with
// infra/scripts/deps.sh, or fails with the reason.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// ModulePath is the module whose go.mod marks the repository root.
const ModulePath = "github.com/techprovider/wa-onboarding"

var repoRoot = sync.OnceValues(findRepoRoot)

// RepoRoot returns the repository's root folder: the nearest parent of the
// working directory whose go.mod declares ModulePath. It panics outside the
// repository, where nothing in this package can work.
func RepoRoot() string {
	root, err := repoRoot()
	if err != nil {
		panic(err)
	}
	return root
}

func findRepoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	// Without -trimpath this file's own path also leads there, which helps a
	// benchmark binary started from elsewhere.
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if isModuleRoot(dir) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("testenv: no go.mod for module %s above %v", ModulePath, starts)
}

func isModuleRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == ModulePath
		}
	}
	return false
}

// cachePath joins elem onto the repository's git-ignored .cache folder.
func cachePath(elem ...string) string {
	return filepath.Join(append([]string{RepoRoot(), ".cache"}, elem...)...)
}

// runDeps runs infra/scripts/deps.sh for the components, echoing what it
// prints to stderr so an install shows in the test log.
func runDeps(ctx context.Context, components ...string) error {
	script := filepath.Join(RepoRoot(), "infra", "scripts", "deps.sh")
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, components...)...)
	cmd.Dir = RepoRoot()
	cmd.Stdin = nil
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, os.Stderr)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("testenv: infra/scripts/deps.sh %s: %w\n%s", strings.Join(components, " "), err, out.String())
	}
	return nil
}

var pruneLogs sync.Once

// logFile creates .cache/logs/<name>.log for a child process's output. Logs
// older than a day are removed on first use so the folder stays small.
func logFile(name string) (*os.File, error) {
	dir := cachePath("logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	pruneLogs.Do(func() {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
				_ = os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	})
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	return f, nil
}

// tail returns the last n bytes of the file at path, for error messages.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > n {
		_, _ = f.Seek(-n, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}

// process is a child started in its own process group, which dies with the
// test binary where the OS allows it (see proc_linux.go).
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed

	stopOnce sync.Once
}

func startProcess(name, dir string, env []string, logName, bin string, args ...string) (*process, error) {
	log, err := logFile(logName)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("testenv: start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: log.Name(), done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes an early exit with the end of the process's log.
func (p *process) exitError() error {
	<-p.done
	return fmt.Errorf("testenv: %s exited early (%v); log %s:\n%s", p.name, p.waitErr, p.logPath, tail(p.logPath, 2048))
}

// stop asks the whole process group to end, then kills it after grace.
func (p *process) stop(grace time.Duration) {
	p.stopOnce.Do(func() {
		if p.exited() {
			return
		}
		signalGroup(p.cmd, termSignal)
		select {
		case <-p.done:
		case <-time.After(grace):
			signalGroup(p.cmd, killSignal)
			<-p.done
		}
	})
}

// waitReady polls ready every interval until it returns nil, the process
// exits, or ctx ends. It returns the last probe error on timeout.
func (p *process) waitReady(ctx context.Context, interval time.Duration, ready func(context.Context) error) error {
	var last error
	for {
		if p.exited() {
			return p.exitError()
		}
		probeCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = ready(probeCtx)
		cancel()
		if last == nil || errors.Is(last, errPortTaken) {
			return last
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testenv: %s not ready: %w (last probe: %v); log %s:\n%s",
				p.name, ctx.Err(), last, p.logPath, tail(p.logPath, 2048))
		case <-p.done:
			return p.exitError()
		case <-time.After(interval):
		}
	}
}

// errPortTaken means the child lost the race for its port to another process.
var errPortTaken = errors.New("port taken")

// onFreePort runs start, which starts a child on a port FreePort gave, up
// to five times while another process takes that port first.
func onFreePort[T any](start func() (T, error)) (T, error) {
	for i := 1; ; i++ {
		v, err := start()
		if !errors.Is(err, errPortTaken) || i == 5 {
			return v, err
		}
	}
}

// errNotListening means the child does not listen on its port yet.
var errNotListening = errors.New("not listening yet")

// withDefaultTimeout bounds ctx by d when it has no deadline of its own.
func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
