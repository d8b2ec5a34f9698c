package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// runtimeAPI is the smallest Lambda Runtime API that aws-lambda-go's
// runtime loop talks to: it hands out one event per GET .../next and takes
// the answer. Unlike the emulator, it tells when init ended (the first GET
// .../next), which is what the init measurements need.
type runtimeAPI struct {
	ln  net.Listener
	srv *http.Server
	// polls gets the arrival time of each GET .../next.
	polls chan time.Time
	// events are handed out in order, one per GET .../next.
	events chan []byte
	// answers gets each response or error the function posts.
	answers chan answer
}

type answer struct {
	at    time.Time
	body  []byte
	error bool
}

const runtimePrefix = "/2018-06-01/runtime/"

func newRuntimeAPI(timeout time.Duration) (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &runtimeAPI{ln: ln, polls: make(chan time.Time, 8), events: make(chan []byte), answers: make(chan answer, 8)}
	var seq int
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		path := strings.TrimPrefix(req.URL.Path, runtimePrefix)
		switch {
		case req.Method == http.MethodGet && path == "invocation/next":
			r.polls <- time.Now()
			select {
			case ev := <-r.events:
				seq++
				h := w.Header()
				h.Set("Lambda-Runtime-Aws-Request-Id", "bench-"+strconv.Itoa(seq))
				h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(timeout).UnixMilli(), 10))
				h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:bench")
				h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
				h.Set("Content-Type", "application/json")
				_, _ = w.Write(ev)
			case <-req.Context().Done():
			}
		case req.Method == http.MethodPost && (strings.HasSuffix(path, "/response") || strings.HasSuffix(path, "/error") || path == "init/error"):
			body, _ := io.ReadAll(req.Body)
			r.answers <- answer{at: time.Now(), body: body, error: !strings.HasSuffix(path, "/response")}
			w.WriteHeader(http.StatusAccepted)
		default:
			http.NotFound(w, req)
		}
	})}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *runtimeAPI) addr() string { return r.ln.Addr().String() }

func (r *runtimeAPI) close() { _ = r.srv.Close() }

// directRun is one function process under runtimeAPI.
type directRun struct {
	cmd    *exec.Cmd
	api    *runtimeAPI
	stderr bytes.Buffer
	// stdout counts what the function logged there (its JSON log lines
	// and EMF metrics), which CloudWatch Logs would ingest.
	stdout byteCounter
	exited chan error
}

// byteCounter is an io.Writer that keeps only the number of bytes.
type byteCounter struct{ n atomic.Int64 }

func (c *byteCounter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// startDirect starts binary with env and the runtime API address, as
// Lambda's init phase does.
func startDirect(binary string, env []string, timeout time.Duration) (*directRun, time.Time, error) {
	api, err := newRuntimeAPI(timeout)
	if err != nil {
		return nil, time.Time{}, err
	}
	d := &directRun{api: api, exited: make(chan error, 1)}
	d.cmd = exec.Command(binary)
	d.cmd.Dir = filepath.Dir(binary)
	d.cmd.Env = append(append([]string{"PATH=" + os.Getenv("PATH"), "TZ=:UTC",
		"AWS_LAMBDA_FUNCTION_NAME=" + filepath.Base(filepath.Dir(binary))}, env...),
		"AWS_LAMBDA_RUNTIME_API="+api.addr())
	d.cmd.Stdout = &d.stdout
	d.cmd.Stderr = &d.stderr
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := d.cmd.Start(); err != nil {
		api.close()
		return nil, time.Time{}, err
	}
	go func() { d.exited <- d.cmd.Wait() }()
	return d, start, nil
}

// awaitPoll waits for the function to ask for its next event.
func (d *directRun) awaitPoll(ctx context.Context) (time.Time, error) {
	select {
	case t := <-d.api.polls:
		return t, nil
	case err := <-d.exited:
		d.exited <- err
		return time.Time{}, fmt.Errorf("function exited before asking for an event (%v): %s", err, tail(d.stderr.String(), 1500))
	case a := <-d.api.answers:
		return time.Time{}, fmt.Errorf("function reported an init error: %s", a.body)
	case <-ctx.Done():
		return time.Time{}, errors.New("function did not finish init in time")
	}
}

// invoke hands out one event and waits for the answer; it returns the
// handler's time as the runtime API sees it.
func (d *directRun) invoke(ctx context.Context, event []byte) (time.Duration, []byte, error) {
	start := time.Now()
	select {
	case d.api.events <- event:
	case <-ctx.Done():
		return 0, nil, errors.New("function did not take the event in time")
	}
	select {
	case a := <-d.api.answers:
		if a.error {
			return a.at.Sub(start), a.body, fmt.Errorf("function error: %s", a.body)
		}
		return a.at.Sub(start), a.body, nil
	case err := <-d.exited:
		d.exited <- err
		return 0, nil, fmt.Errorf("function exited during the invocation (%v): %s", err, tail(d.stderr.String(), 1500))
	case <-ctx.Done():
		return 0, nil, errors.New("function did not answer in time")
	}
}

// stop kills the process this run started and waits for it.
func (d *directRun) stop() {
	if d.cmd.Process != nil {
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.exited
	}
	d.api.close()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// pkgInit is one line of GODEBUG=inittrace=1.
type pkgInit struct {
	pkg    string
	clock  time.Duration
	bytes  int64
	allocs int64
}

// parseInittrace reads "init <pkg> @<t> ms, <clock> ms clock, <bytes>
// bytes, <allocs> allocs" lines.
func parseInittrace(stderr string) []pkgInit {
	var out []pkgInit
	for _, line := range strings.Split(stderr, "\n") {
		rest, ok := strings.CutPrefix(line, "init ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		// [pkg @t ms, clock ms clock, bytes bytes, allocs allocs]
		if len(f) < 10 {
			continue
		}
		ms, err := strconv.ParseFloat(f[3], 64)
		if err != nil {
			continue
		}
		b, _ := strconv.ParseInt(f[6], 10, 64)
		a, _ := strconv.ParseInt(f[8], 10, 64)
		out = append(out, pkgInit{pkg: f[0], clock: time.Duration(ms * float64(time.Millisecond)), bytes: b, allocs: a})
	}
	return out
}
