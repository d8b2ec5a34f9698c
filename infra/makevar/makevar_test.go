package makevar_test

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/makevar"
)

func TestVariable(t *testing.T) {
	t.Parallel()
	for flag, want := range map[string]string{"waba": "WABA", "-client-ref": "CLIENT_REF", "ttl": "TTL"} {
		if got := makevar.Variable(flag); got != want {
			t.Errorf("Variable(%q) = %q, want %q", flag, got, want)
		}
	}
}

// The tests below set MAKELEVEL, so they do not run in parallel.

func TestFlagNamesWhatTheUserTyped(t *testing.T) {
	t.Setenv("MAKELEVEL", "")
	if got := makevar.Flag("client-ref"); got != "-client-ref" {
		t.Errorf("outside make: %q", got)
	}
	t.Setenv("MAKELEVEL", "1")
	if got := makevar.Flag("client-ref"); got != "CLIENT_REF=" {
		t.Errorf("from make: %q", got)
	}
}

func TestParseErrorsFromMake(t *testing.T) {
	tests := []struct {
		name, makelevel string
		args            []string
		want, notWant   string
	}{
		{"bad value from make", "1", []string{"-ttl", "soon"}, `invalid value "soon" for TTL=`, "-ttl"},
		{"unknown flag from make", "1", []string{"-colour", "red"}, "not defined: COLOUR=", "-colour"},
		{"bad value from a shell", "", []string{"-ttl", "soon"}, "for flag -ttl", "TTL="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("MAKELEVEL", tt.makelevel)
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			var usage strings.Builder
			fs.SetOutput(&usage)
			fs.Duration("ttl", time.Minute, "lifetime")
			err := makevar.Parse(fs, tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), tt.notWant) {
				t.Fatalf("Parse(%q) = %v; want it to contain %q and not %q", tt.args, err, tt.want, tt.notWant)
			}
			if tt.makelevel != "" && usage.Len() > 0 {
				t.Errorf("the Go usage was printed from make:\n%s", usage.String())
			}
			if fs.Output() == io.Discard {
				t.Error("the flag set's output was not restored")
			}
		})
	}
}
