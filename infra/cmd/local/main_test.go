package main

import (
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
