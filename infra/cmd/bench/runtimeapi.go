package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
	srv     *httptest.Server
	polls   chan time.Time // the arrival of each GET .../next
	events  chan []byte    // handed out in order, one per GET .../next
	answers chan answer
}

type answer struct {
	at    time.Time
	body  []byte
	error bool
}

func newRuntimeAPI(timeout time.Duration) *runtimeAPI {
	r := &runtimeAPI{polls: make(chan time.Time, 8), events: make(chan []byte), answers: make(chan answer, 8)}
	var seq int
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		path := strings.TrimPrefix(req.URL.Path, "/2018-06-01/runtime/")
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
	}))
	return r
}

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
// Lambda's init phase does; wrapper, when given, is the command that runs
// the binary (valgrind).
func startDirect(binary string, env []string, timeout time.Duration, wrapper ...string) (*directRun, time.Time, error) {
	d := &directRun{api: newRuntimeAPI(timeout), exited: make(chan error, 1)}
	argv := append(wrapper, binary)
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Dir = filepath.Dir(binary)
	d.cmd.Env = append(append([]string{"PATH=" + os.Getenv("PATH"), "TZ=:UTC",
		"AWS_LAMBDA_FUNCTION_NAME=" + filepath.Base(filepath.Dir(binary))}, env...),
		"AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(d.api.srv.URL, "http://"))
	d.cmd.Stdout, d.cmd.Stderr = &d.stdout, &d.stderr
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := d.cmd.Start(); err != nil {
		d.api.srv.Close()
		return nil, time.Time{}, err
	}
	go func() { d.exited <- d.cmd.Wait() }()
	return d, start, nil
}

// died describes the process's exit, which stays readable for stop.
func (d *directRun) died(err error, when string) error {
	d.exited <- err
	return fmt.Errorf("function exited %s (%v): %s", when, err, tail(d.stderr.String(), 1500))
}

// awaitPoll waits for the function to ask for its next event.
func (d *directRun) awaitPoll(ctx context.Context) (time.Time, error) {
	select {
	case t := <-d.api.polls:
		return t, nil
	case err := <-d.exited:
		return time.Time{}, d.died(err, "before asking for an event")
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
		return 0, nil, d.died(err, "during the invocation")
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
	d.api.srv.Close()
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }

// pkgInit is one line of GODEBUG=inittrace=1.
type pkgInit struct {
	pkg   string
	clock time.Duration
	bytes int64
}

// parseInittrace reads "init <pkg> @<t> ms, <clock> ms clock, <bytes>
// bytes, <allocs> allocs" lines.
func parseInittrace(stderr string) []pkgInit {
	var out []pkgInit
	for _, line := range strings.Split(stderr, "\n") {
		rest, ok := strings.CutPrefix(line, "init ")
		f := strings.Fields(rest)
		if !ok || len(f) < 10 {
			continue
		}
		ms, err := strconv.ParseFloat(f[3], 64)
		if err != nil {
			continue
		}
		b, _ := strconv.ParseInt(f[6], 10, 64)
		out = append(out, pkgInit{pkg: f[0], clock: time.Duration(ms * float64(time.Millisecond)), bytes: b})
	}
	return out
}
