package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// InvokePath is where the emulator takes invocations, as Lambda's Invoke API.
const InvokePath = "/2015-03-31/functions/function/invocations"

// RIEPath returns the path of the aws-lambda-rie binary under .cache/bin,
// installing the pinned version with infra/scripts/deps.sh when missing.
func RIEPath() (string, error) {
	bin := cachePath("bin", "aws-lambda-rie")
	if fileExists(bin) {
		return bin, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := runDeps(ctx, "rie"); err != nil {
		return "", err
	}
	if !fileExists(bin) {
		return "", fmt.Errorf("testenv: deps.sh rie left no %s", bin)
	}
	return bin, nil
}

// RIE is a Lambda function binary running under the Runtime Interface
// Emulator: one execution environment, so invocations run one at a time.
type RIE struct {
	// URL is the emulator's base URL, http://127.0.0.1:<port>.
	URL string
	// LogPath is the file under .cache/logs with the emulator's and the
	// function's output (START/END/REPORT lines included).
	LogPath string

	proc   *process
	client *http.Client

	mu          sync.Mutex // one invocation at a time, as in Lambda
	invoked     bool
	firstInvoke time.Duration
}

// StartRIE runs binary under the emulator, listening on a free loopback port,
// and waits until the emulator accepts connections. The function itself
// starts lazily, on the first Invoke, as a Lambda cold start does.
//
// The function sees a Lambda-like environment: PATH, TZ=:UTC, the region and
// dummy credentials, AWS_LAMBDA_FUNCTION_NAME (the binary's folder name),
// then env, whose entries win. Nothing else leaks in from the test process.
// AWS_LAMBDA_RUNTIME_API is set by the emulator.
func StartRIE(ctx context.Context, binary string, env []string) (*RIE, error) {
	ctx, cancel := withDefaultTimeout(ctx, startTimeout)
	defer cancel()
	rie, err := RIEPath()
	if err != nil {
		return nil, err
	}
	binary, err = filepath.Abs(binary)
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	if !fileExists(binary) {
		return nil, fmt.Errorf("testenv: StartRIE: no function binary at %s", binary)
	}
	return onFreePort(func() (*RIE, error) { return startRIEOn(ctx, rie, binary, env) })
}

func startRIEOn(ctx context.Context, rie, binary string, env []string) (*RIE, error) {
	port := FreePort()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// The Runtime API port is fixed at 9001 by default, which two emulators
	// running at once would fight over.
	runtimePort := FreePort()
	runtimeAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(runtimePort))
	name := filepath.Base(filepath.Dir(binary))
	p, err := startProcess("aws-lambda-rie "+name, filepath.Dir(binary), functionEnv(name, env),
		"rie-"+name+"-"+strconv.Itoa(port), rie,
		"--log-level", "error",
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", runtimeAddr,
		binary)
	if err != nil {
		return nil, err
	}
	err = p.waitReady(ctx, 10*time.Millisecond, func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		c.Close()
		if !listensOn(p.cmd.Process.Pid, port) {
			return errPortTaken
		}
		// The emulator binds the Runtime API just after the invoke port;
		// until it holds that one too, the function could reach whichever
		// server took the port instead.
		if !listensOn(p.cmd.Process.Pid, runtimePort) {
			return errNotListening
		}
		return nil
	})
	if err != nil {
		p.stop(time.Second)
		if errors.Is(err, errPortTaken) || strings.Contains(tail(p.logPath, 4096), "address already in use") {
			return nil, fmt.Errorf("testenv: aws-lambda-rie on %s: %w", addr, errPortTaken)
		}
		return nil, err
	}
	return &RIE{
		URL:     "http://" + addr,
		LogPath: p.logPath,
		proc:    p,
		// No client timeout: the function's own timeout and ctx bound it.
		client: &http.Client{Transport: &http.Transport{Proxy: nil}},
	}, nil
}

// functionEnv builds the function's environment; later entries win.
func functionEnv(name string, extra []string) []string {
	base := []string{
		"PATH=" + os.Getenv("PATH"),
		"TZ=:UTC",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=" + DummyAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + DummySecretAccessKey,
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
	}
	all := append(base, extra...)
	seen := map[string]int{}
	var out []string
	for _, kv := range all {
		k, _, _ := strings.Cut(kv, "=")
		// AWS_LAMBDA_MAX_CONCURRENCY switches the emulator to its Lambda
		// Managed Instances mode, with other flags; keep the classic one.
		if k == "AWS_LAMBDA_MAX_CONCURRENCY" {
			continue
		}
		if i, ok := seen[k]; ok {
			out[i] = kv
			continue
		}
		seen[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// Invoke sends payload as one invocation and returns the function's answer.
// A function error (a handler that returned an error or panicked) comes back
// as the error JSON Lambda returns, with a nil error, as Lambda's Invoke API
// does; an error here means the emulator itself failed. Calls are serialized.
func (r *RIE) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL+InvokePath, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("testenv: invoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("testenv: invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("testenv: invoke: read answer: %w", err)
	}
	if !r.invoked {
		r.invoked = true
		r.firstInvoke = time.Since(start)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("testenv: invoke: emulator answered %s: %s; log %s:\n%s",
			resp.Status, bytes.TrimSpace(body), r.LogPath, tail(r.LogPath, 2048))
	}
	return body, nil
}

// FirstInvoke returns the wall time of the first Invoke, which includes the
// function's init (a cold start), or 0 before any.
func (r *RIE) FirstInvoke() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstInvoke
}

// Stop ends the emulator and the function it runs, and waits for them. It is
// safe to call more than once.
func (r *RIE) Stop() {
	r.proc.stop(2 * time.Second)
	r.client.CloseIdleConnections()
}
