// Command local is `make run`: the whole product on this machine, with
// DynamoDB Local and simulated Meta and Plivo unless environment variables
// point it elsewhere (docs/local.md). It stops cleanly on Ctrl-C or
// SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/infra/stack/console"
	"github.com/techprovider/wa-onboarding/infra/stack/localurl"
)

// preferredPort is tried when PORT is unset, so the address stays the same
// from one run to the next; a free port is used when it is taken.
const preferredPort = 8080

// usage is the answer to -h. The stack takes no flags: everything is an
// environment variable (docs/local.md), as for the functions it runs.
const usage = `usage: make run (go run ./infra/cmd/local)

The whole product on this machine: the API, the page, DynamoDB Local and
simulated Meta and Plivo. It takes no flags; environment variables
configure it (docs/local.md, "Real Meta, Plivo or AWS"), e.g.
  PORT=8080             port on 127.0.0.1 (default 8080, else any free port)
  SANDBOX=false         real Meta and Plivo, with the variables docs/local.md lists
  LOCAL_RESUME_EVERY=2s how often the scheduled functions run (0: never)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "make run:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	// Asked for help (or given a flag), the stack must not start: one
	// started by mistake takes port 8080 and, when it stops, removes the
	// local-url record the running stack's tools find it by.
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() { fmt.Fprint(errOut, usage) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	start := time.Now()
	port, err := choosePort(os.Getenv(stack.EnvPort))
	if err != nil {
		return err
	}
	st, err := stack.Start(ctx, stack.Options{Port: port})
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(out, "Interrupted before the stack was ready; everything it had started is stopped.")
			return nil
		}
		return err
	}
	link := ""
	if !st.Sandbox {
		// Outside the sandbox no simulator plays the Tech Provider's
		// backend: hand the user a link the way it would.
		if sess, err := st.NewSession(ctx, "local-customer", 0); err == nil {
			link = sess.URL
		} else if !errors.Is(err, stack.ErrNoSessions) {
			fmt.Fprintln(out, "Could not mint an onboarding link:", err)
		}
	}
	banner(out, st, link, time.Since(start))
	// The tools that talk to the stack (make doctor, session, demo-*) find
	// it here when it is not on port 8080.
	forget, err := localurl.Record(localurl.Root(), st.URL)
	if err != nil {
		fmt.Fprintln(out, "Could not record the stack's URL for the other make targets:", err)
	}
	defer forget()

	<-ctx.Done()
	fmt.Fprintln(out, "\nStopping…")
	if err := st.Close(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	fmt.Fprintln(out, "Stopped. DynamoDB Local was in memory: its records are gone.")
	return nil
}

func choosePort(env string) (int, error) {
	if env != "" {
		p, err := strconv.Atoi(env)
		if err != nil || p < 0 || p > 65535 {
			return 0, fmt.Errorf("PORT=%q is not a port number", env)
		}
		return p, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(preferredPort))
	if err != nil {
		return 0, nil // taken: any free port will do
	}
	_ = ln.Close()
	return preferredPort, nil
}

func banner(out io.Writer, st *stack.Stack, link string, took time.Duration) {
	mode := "sandbox: Meta and Plivo are simulated"
	if !st.Sandbox {
		mode = "real Meta and Plivo"
	}
	table := st.TableName + " (DynamoDB Local at " + st.DynamoDBEndpoint + ", in memory)"
	if st.DynamoDBEndpoint == "" {
		table = st.TableName + " (AWS)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nWhatsApp onboarding is running (%s), ready in %.1fs.\n\n", mode, took.Seconds())
	fmt.Fprintf(&b, "  Open      %s\n", st.URL)
	fmt.Fprintf(&b, "  Console   %s%s  (operator: onboarded WABAs, App Review demos, doctor)\n", st.URL, console.Prefix)
	if link != "" {
		fmt.Fprintf(&b, "  Link      %s\n            (one signup, 15 minutes; another: make session)\n", link)
	}
	fmt.Fprintf(&b, "  Table     %s\n", table)
	if st.Sandbox {
		fmt.Fprintf(&b, "  Meta sim  %s    Plivo sim  %s\n", st.MetaURL, st.PlivoURL)
	}
	fmt.Fprintf(&b, "  Routes   ")
	for i, r := range st.Routes {
		if i > 0 {
			b.WriteString("           ")
		}
		fmt.Fprintf(&b, " %-5s %s  (%s)\n", r.Method, r.Path, r.Function)
	}
	if st.Sandbox {
		b.WriteString("\n  Try it: click \"Connect WhatsApp\", choose how the signup ends in the simulated\n" +
			"  Meta window (finish, cancel at a step, error; Meta and Plivo scenarios), Continue.\n" +
			"  A record: curl " + st.URL + "/api/whatsapp/embedded-signup/<waba_id>\n")
	}
	b.WriteString("\n  Real Meta, Plivo or AWS: see docs/local.md.  Ctrl-C stops everything.\n\n")
	_, _ = io.WriteString(out, b.String())
}
