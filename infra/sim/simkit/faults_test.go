package simkit_test

import (
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

func TestFaultsQueueThenStanding(t *testing.T) {
	t.Parallel()
	var q simkit.Faults[string]
	q.Arm("a", 2, "first")
	q.Arm("a", 1, "second")
	q.Arm("b", -1, "always")
	want := []struct {
		endpoint string
		fault    string
		ok       bool
	}{
		{"a", "first", true}, {"a", "first", true}, {"a", "second", true}, {"a", "", false},
		{"b", "always", true}, {"b", "always", true}, {"c", "", false},
	}
	for i, w := range want {
		got, ok := q.Take(w.endpoint)
		if got != w.fault || ok != w.ok {
			t.Fatalf("take %d on %s = %q, %v; want %q, %v", i, w.endpoint, got, ok, w.fault, w.ok)
		}
	}
	q.Arm("b", 0, "")
	if _, ok := q.Take("b"); ok {
		t.Fatal("Arm(b, 0) left b failing")
	}
	q.Arm("a", 3, "x")
	q.Reset()
	if _, ok := q.Take("a"); ok {
		t.Fatal("Reset left a failing")
	}
}

func TestCheckArm(t *testing.T) {
	t.Parallel()
	endpoints, kinds := []string{"oauth", "debug"}, []string{"transient", "down"}
	tests := []struct {
		endpoint, kind string
		n              int
		ok             bool
	}{
		{"oauth", "down", 1, true},
		{"debug", "", 0, true}, // clearing needs no kind
		{"nope", "down", 1, false},
		{"oauth", "nope", -1, false},
	}
	for _, tt := range tests {
		err := simkit.CheckArm("endpoint", tt.endpoint, endpoints, tt.n, tt.kind, kinds)
		if (err == nil) != tt.ok {
			t.Errorf("CheckArm(%q, %d, %q) = %v, want ok %v", tt.endpoint, tt.n, tt.kind, err, tt.ok)
		}
	}
}

func TestNewUUIDIsVersion4(t *testing.T) {
	t.Parallel()
	id := simkit.NewUUID()
	if len(id) != 36 || id[14] != '4' || !(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') {
		t.Fatalf("NewUUID() = %q, not a version 4 UUID", id)
	}
	if simkit.NewUUID() == id {
		t.Fatal("two NewUUID calls returned the same ID")
	}
}
