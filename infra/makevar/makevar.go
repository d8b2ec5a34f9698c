// Package makevar names a command-line setting the way its user typed it.
// The tools under infra/ run both as `go run ./infra/<tool> -flag value` and
// from the Makefile (`make demo-message WABA=...`), which passes each Make
// variable to the flag of the same name: the variable is the flag in upper
// case with dashes as underscores (-client-ref "$(CLIENT_REF)"); a test of
// the Makefile holds every recipe to that. An error that says "-waba is
// required" to someone who typed `make demo-message` names something they
// never saw, so messages name settings through Flag.
package makevar

import (
	"errors"
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
)

// FromMake reports whether the process runs from a make recipe: GNU make
// exports MAKELEVEL to every command it runs.
func FromMake() bool { return os.Getenv("MAKELEVEL") != "" }

// Variable is the Make variable that sets flag: "client-ref" → "CLIENT_REF".
func Variable(flag string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimLeft(flag, "-"), "-", "_"))
}

// Flag names a flag for a message: "WABA=" from make, "-waba" otherwise.
func Flag(flag string) string {
	if FromMake() {
		return Variable(flag) + "="
	}
	return "-" + strings.TrimLeft(flag, "-")
}

var flagRef = regexp.MustCompile(`-{1,2}([a-z][a-z0-9-]*)`)

// Parse parses args with fs. From make, a parse error names the Make
// variable instead of the flag (`invalid value "x" for TTL=`) and the Go
// usage text is left out: the user did not type flags.
func Parse(fs *flag.FlagSet, args []string) error {
	if !FromMake() {
		return fs.Parse(args)
	}
	out := fs.Output()
	fs.SetOutput(io.Discard)
	defer fs.SetOutput(out)
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), "flag -", "-")
	msg = flagRef.ReplaceAllStringFunc(msg, func(m string) string { return Variable(m) + "=" })
	return errors.New(msg + " (make help lists the variables)")
}
