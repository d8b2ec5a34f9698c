package stack_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/infra/testenv"
)

// TestStartResourcesReportsItsFailure: a resource that cannot be made (here
// the tables, on a DynamoDB nobody answers) is an error to report, and what
// was started is stopped, not a panic in the cleanup.
func TestStartResourcesReportsItsFailure(t *testing.T) {
	t.Parallel()
	tmpl, err := sam.Load(filepath.Join(testenv.RepoRoot(), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := stack.StartResources(ctx, tmpl, &testenv.DynamoDB{Endpoint: "http://127.0.0.1:1"}, stack.ResourceOptions{})
	if err == nil || res != nil {
		t.Fatalf("StartResources = %v, %v; want no resources and the error", res, err)
	}
}
