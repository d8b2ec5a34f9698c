package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/infra/stack/console"
)

// TestBannerShowsPageAndConsole: the operator finds the console where they
// find the page, on the line after it.
func TestBannerShowsPageAndConsole(t *testing.T) {
	t.Parallel()
	st := &stack.Stack{URL: "http://localhost:8123", Sandbox: true, TableName: "SignupTable", DynamoDBEndpoint: "http://127.0.0.1:1",
		Resources: &stack.Resources{}, Routes: []sam.Route{{Function: "PageFunction", Method: "GET", Path: "/"}}}
	var b strings.Builder
	banner(&b, st, "", time.Second)
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		if strings.Contains(l, "Open") && strings.HasSuffix(l, st.URL) {
			if i+1 >= len(lines) || !strings.Contains(lines[i+1], st.URL+console.Prefix+" ") {
				t.Fatalf("no console URL on the line after the page's:\n%s", b.String())
			}
			return
		}
	}
	t.Fatalf("no page URL:\n%s", b.String())
}

// TestHelpStartsNothing: `go run ./infra/cmd/local -h`, the way every other
// tool is asked what it takes, prints how the stack is configured and
// starts nothing. A stack started by it would take port 8080 and then
// delete the .artifacts/local-url record that the make targets find the
// running `make run` by.
func TestHelpStartsNothing(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"-help"}, {"--help"}, {"-port", "9000"}, {"now"}} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a stack it tried to start would stop at once
		var out, errOut strings.Builder
		err := run(ctx, args, &out, &errOut)
		if err == nil {
			t.Errorf("%q: no error; out %q", args, out.String())
			continue
		}
		if strings.Contains(out.String(), "Interrupted before the stack was ready") {
			t.Errorf("%q: tried to start the stack", args)
		}
		if !strings.Contains(errOut.String(), "docs/local.md") || !strings.Contains(errOut.String(), "PORT") {
			t.Errorf("%q: usage does not say where the settings are:\n%s", args, errOut.String())
		}
	}
}
