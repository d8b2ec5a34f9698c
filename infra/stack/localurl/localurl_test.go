package localurl_test

import (
	"testing"

	"github.com/techprovider/wa-onboarding/infra/stack/localurl"
)

func TestRecordAndRunning(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if got := localurl.Running(root); got != localurl.Default {
		t.Fatalf("nothing recorded: %q, want %q", got, localurl.Default)
	}
	remove, err := localurl.Record(root, "http://localhost:41234")
	if err != nil {
		t.Fatal(err)
	}
	if got := localurl.Running(root); got != "http://localhost:41234" {
		t.Fatalf("recorded: %q", got)
	}
	// A second stack started since owns the record: the first one's
	// removal leaves it.
	removeSecond, err := localurl.Record(root, "http://localhost:45678")
	if err != nil {
		t.Fatal(err)
	}
	remove()
	if got := localurl.Running(root); got != "http://localhost:45678" {
		t.Fatalf("after the first stack stopped: %q", got)
	}
	removeSecond()
	if got := localurl.Running(root); got != localurl.Default {
		t.Fatalf("after both stopped: %q", got)
	}
}
