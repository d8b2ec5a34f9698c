// Package makefile holds the Makefile to what its users read: `make help`
// names the variables each target requires, a missing one is named as a
// Make variable before any tool runs, every recipe passes a variable to the
// flag of the same name (which infra/makevar relies on to name settings in
// errors), `make deploy` explains a missing SAM CLI or region, and
// `make test` runs the linters. workflows_test.go holds the GitHub
// workflows to what the deploy's security rests on.
package makefile

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/makevar"
	"github.com/techprovider/wa-onboarding/infra/testenv"
)

// makeCmd runs make at the repository root with a clean environment: no
// variable of the user's (WABA, AWS_REGION...) leaks into the test.
func makeCmd(t *testing.T, env []string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-C", testenv.RepoRoot(), "--no-print-directory"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent"}, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// makefile returns the Makefile's lines.
func makefile(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.RepoRoot(), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

var (
	targetLine  = regexp.MustCompile(`^([a-z][a-z-]*):`)
	requireCall = regexp.MustCompile(`\$\(call require,([A-Z_ ]+)\)`)
)

// required maps each target that calls require to the variables it names.
func required(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	target := ""
	for _, line := range makefile(t) {
		if m := targetLine.FindStringSubmatch(line); m != nil {
			target = m[1]
			continue
		}
		if m := requireCall.FindStringSubmatch(line); m != nil && strings.HasPrefix(line, "\t") {
			out[target] = append(out[target], strings.Fields(m[1])...)
		}
	}
	return out
}

func TestHelpNamesRequiredVariables(t *testing.T) {
	t.Parallel()
	req := required(t)
	if len(req["demo-message"]) == 0 {
		t.Fatalf("found no require call for demo-message: %v", req)
	}
	help, _, err := makeCmd(t, nil, "help")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(help, "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			lines[f[0]] = l
		}
	}
	for target, vars := range req {
		line, ok := lines[target]
		if !ok {
			t.Errorf("make help does not list %s", target)
			continue
		}
		_, after, ok := strings.Cut(line, "required:")
		after, _, _ = strings.Cut(after, "optional:")
		if !ok {
			t.Errorf("make help for %s says nothing is required; it requires %v:\n%s", target, vars, line)
			continue
		}
		for _, v := range vars {
			if !strings.Contains(after, v+"=") {
				t.Errorf("make help for %s does not list %s= as required:\n%s", target, v, line)
			}
		}
	}
}

func TestMissingVariableNamedBeforeAnythingRuns(t *testing.T) {
	t.Parallel()
	for target, vars := range required(t) {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			// -n: should the check ever be lost, nothing is run for real.
			stdout, stderr, err := makeCmd(t, nil, "-n", target)
			if err == nil {
				t.Fatalf("make %s without %v succeeded:\n%s", target, vars, stdout)
			}
			for _, v := range vars {
				if !strings.Contains(stderr, v+"=") {
					t.Errorf("make %s: the error does not name %s=:\n%s", target, v, stderr)
				}
			}
			if strings.Contains(stdout, "go run") {
				t.Errorf("make %s started the tool before checking its variables:\n%s", target, stdout)
			}
			// With them set, the same target gets to its command.
			var env []string
			for _, v := range vars {
				env = append(env, v+"=1")
			}
			if stdout, stderr, err := makeCmd(t, env, "-n", target); err != nil || !strings.Contains(stdout, "go run") {
				t.Errorf("make -n %s with %v = %v:\n%s%s", target, env, err, stdout, stderr)
			}
		})
	}
}

// flagFromVariable matches a recipe passing a Make variable to a flag:
// -waba "$(WABA)", -ttl "$(or $(TTL),15m)".
var flagFromVariable = regexp.MustCompile(`-([a-z][a-z0-9-]*) "\$\((?:or \$\()?([A-Z_]+)\)`)

func TestRecipeFlagsAreTheirVariables(t *testing.T) {
	t.Parallel()
	n := 0
	lines := makefile(t)
	for i, line := range lines {
		// Recipes of the tools under infra/ (a command may continue on the
		// next lines); not go build's own flags.
		if !strings.HasPrefix(line, "\t") || !strings.Contains(line, "run ./infra/") && (i == 0 || !strings.HasSuffix(lines[i-1], "\\")) {
			continue
		}
		for _, m := range flagFromVariable.FindAllStringSubmatch(line, -1) {
			n++
			if want := makevar.Variable(m[1]); m[2] != want {
				t.Errorf("Makefile:%d passes %s to -%s: name the variable %s, so that errors naming %s= make sense", i+1, m[2], m[1], want, want)
			}
		}
	}
	if n < 5 {
		t.Fatalf("found only %d flag/variable pairs in the recipes", n)
	}
}

// fakeTool writes an executable named name into dir that appends its
// arguments, one call a line, to the file it returns.
func fakeTool(t *testing.T, dir, name string) (path, calls string) {
	t.Helper()
	path, calls = filepath.Join(dir, name), filepath.Join(dir, name+".calls")
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho \"$*\" >> "+calls+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, calls
}

func TestDeployChecksSAMAndRegion(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	sam, samCalls := fakeTool(t, bin, "sam")
	aws, awsCalls := fakeTool(t, bin, "aws")

	_, stderr, err := makeCmd(t, []string{"AWS_REGION=eu-west-3"}, "deploy", "SAM="+filepath.Join(bin, "no-such-sam"), "AWS_CLI="+aws)
	if err == nil || !strings.Contains(stderr, "needs the AWS SAM CLI") || !strings.Contains(stderr, "docs/deploy.md") {
		t.Errorf("without the SAM CLI: %v\n%s", err, stderr)
	}

	_, stderr, err = makeCmd(t, nil, "deploy", "SAM="+sam, "AWS_CLI="+aws)
	if err == nil || !strings.Contains(stderr, "no AWS region") {
		t.Errorf("without a region: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(samCalls); err == nil {
		t.Error("sam ran without a region")
	}
	if err := os.Remove(awsCalls); err != nil { // the profile's region was asked for
		t.Fatal(err)
	}

	if _, stderr, err := makeCmd(t, []string{"AWS_REGION=eu-west-3"}, "deploy", "SAM="+sam, "AWS_CLI="+aws, "CONFIG_ENV=prod"); err != nil {
		t.Fatalf("with a region: %v\n%s", err, stderr)
	}
	for _, c := range []struct{ calls, want string }{
		{samCalls, "build --config-env prod\ndeploy --config-env prod --region eu-west-3\n"},
		// The stack is samconfig.toml's for prod; a deploy leaves its
		// stateful resources protected from the next one.
		{awsCalls, "cloudformation set-stack-policy --stack-name wa-onboarding-prod --stack-policy-body file://infra/ci/stack-policy.json --region eu-west-3\n"},
	} {
		got, err := os.ReadFile(c.calls)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("%s was called with\n%s\nwant\n%s", filepath.Base(c.calls), got, c.want)
		}
	}

	_, stderr, err = makeCmd(t, []string{"AWS_REGION=eu-west-3"}, "stack-policy", "AWS_CLI="+aws, "CONFIG_ENV=staging")
	if err == nil || !strings.Contains(stderr, "no stack_name under [staging.global.parameters]") {
		t.Errorf("a config env samconfig.toml lacks: %v\n%s", err, stderr)
	}
}

// TestCIDeploySetsTheStackPolicy: the workflow deploys with sam directly
// (no interactive change set), so it must protect the stack as make deploy
// does, after the stack exists.
func TestCIDeploySetsTheStackPolicy(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), ".github", "workflows", "sam-deploy.yml"))
	if err != nil {
		t.Fatal(err)
	}
	wf := string(b)
	deploy, policy := strings.Index(wf, "run: sam deploy "), strings.Index(wf, "make stack-policy CONFIG_ENV=")
	if deploy < 0 || policy < deploy {
		t.Errorf("sam-deploy.yml: make stack-policy at %d, sam deploy at %d; want the policy set after every deploy", policy, deploy)
	}
}

func TestTestRunsTheLinters(t *testing.T) {
	t.Parallel()
	// make -n still runs $(MAKE) lines, with -n passed on: nothing is linted.
	stdout, stderr, err := makeCmd(t, nil, "-n", "test")
	if err != nil {
		t.Fatalf("make -n test: %v\n%s", err, stderr)
	}
	for _, want := range []string{"deps.sh actionlint cfnlint gotools", ".cache/bin/staticcheck ./...", ".cache/bin/unparam ./...", ".cache/bin/actionlint", "cfn-lint template.yaml"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("make test does not run %q:\n%s", want, stdout)
		}
	}
}

// TestDoctorChecksTheLocalStackUnlessAsked: make doctor reads the local
// stack; only AWS=1 points it at the deployed one.
func TestDoctorChecksTheLocalStackUnlessAsked(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		aws  bool
	}{{nil, false}, {[]string{"AWS=1"}, true}, {[]string{"JSON=1", "BROKEN=1"}, false}} {
		out, stderr, err := makeCmd(t, nil, append([]string{"-n", "doctor"}, c.args...)...)
		if err != nil {
			t.Fatalf("make -n doctor %v: %v\n%s", c.args, err, stderr)
		}
		if got := strings.Contains(out, " -aws"); got != c.aws {
			t.Errorf("make doctor %v runs %q: checks AWS %t, want %t", c.args, strings.TrimSpace(out), got, c.aws)
		}
	}
}
