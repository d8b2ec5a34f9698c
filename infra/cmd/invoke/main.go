// Command invoke runs one function's real bootstrap binary under the Lambda
// Runtime Interface Emulator with one event, and prints the answer: `sam
// local invoke` without Docker. It starts DynamoDB Local with the
// template's tables and seeded records, and the Meta, Plivo and Secrets
// Manager simulators, exactly as infra/e2e/binaries does; placeholders in the
// event (SIM_CODE, SIM_SESSION) become a fresh Meta code and session token.
//
// Usage:
//
//	go run ./infra/cmd/invoke -fn signup -event events/signup-ok.json
//
// The answer goes to stdout; the function's log, and what was started, to
// stderr.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/techprovider/wa-onboarding/infra/e2e/binaries"
	"github.com/techprovider/wa-onboarding/infra/makevar"
	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/infra/testenv"
)

func main() {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fn := fs.String("fn", "", "function: its folder under functions/ (signup) or its logical ID (SignupFunction); default: the one the event is for")
	event := fs.String("event", "", "event file, e.g. events/signup-ok.json")
	seed := fs.Bool("seed", true, "write the records events/README.md lists before invoking")
	if err := makevar.Parse(fs, os.Args[1:]); err != nil {
		if makevar.FromMake() {
			fmt.Fprintln(os.Stderr, "invoke:", err)
		}
		os.Exit(2)
	}
	if *event == "" {
		fmt.Fprintln(os.Stderr, "usage: go run ./infra/cmd/invoke [-fn signup] -event events/signup-ok.json")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *fn, *event, *seed, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, fn, eventPath string, seed bool, stdout, stderr io.Writer) error {
	raw, err := os.ReadFile(eventPath)
	if err != nil {
		return err
	}
	buildDir, err := os.MkdirTemp("", "invoke-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(buildDir)

	start := time.Now()
	s, err := binaries.Start(ctx, testenv.RepoRoot(), buildDir)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(stderr, "DynamoDB Local and simulators up in %s (tables %v)\n", time.Since(start).Round(time.Millisecond), slices.Collect(maps.Values(s.Tables)))
	if seed {
		if err := s.Seed(ctx); err != nil {
			return err
		}
	}

	var id string
	if fn != "" {
		id = binaries.LogicalID(fn)
	} else if id, err = s.FunctionFor(filepath.Base(eventPath), raw); err != nil {
		return fmt.Errorf("%w (name the function with %s)", err, makevar.Flag("fn"))
	}
	if !slices.Contains(s.Template.Functions(), id) {
		return fmt.Errorf("template.yaml has no %s (functions: %s)", id, strings.Join(s.Template.Functions(), ", "))
	}
	start = time.Now()
	f, err := s.StartFunction(ctx, id)
	if err != nil {
		return err
	}
	defer f.Stop()
	if info, err := os.Stat(f.Binary); err == nil {
		fmt.Fprintf(stderr, "%s built (%s) in %s, running under aws-lambda-rie\n", stack.FunctionDir(id),
			fmt.Sprintf("%.1f MB", float64(info.Size())/(1<<20)), time.Since(start).Round(time.Millisecond))
	}

	payload, err := s.PrepareEvent(ctx, raw)
	if err != nil {
		return err
	}
	ictx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := f.Invoke(ictx, payload)
	if err != nil {
		return err
	}
	// The function's own output: what CloudWatch Logs would show.
	if log, err := os.ReadFile(f.LogPath); err == nil && len(bytes.TrimSpace(log)) > 0 {
		fmt.Fprintf(stderr, "--- %s log\n%s\n---\n", id, bytes.TrimSpace(log))
	}
	fmt.Fprintf(stderr, "first invocation (cold start included): %s\n", f.FirstInvoke().Round(10*time.Microsecond))
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(out)
	}
	fmt.Fprintln(stdout, pretty.String())
	var fnErr struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(out, &fnErr) == nil && fnErr.ErrorMessage != "" {
		return errors.New("the function returned an error")
	}
	return nil
}
