package stack

// The stack runs every function of template.yaml as Lambda does: the
// functions/<name> package built into a bootstrap (as the Makefile builds it
// for Lambda, for this machine), under aws-lambda-rie, with the environment
// the stack decided. aws-lambda-rie is preferred to a Runtime API served by
// the stack because it is AWS's own emulator of that API (the same one the
// per-binary end-to-end tests and `make invoke` use), so the runtime
// protocol, the function timeout and init failures behave as Lambda's do
// without this repository re-implementing them. Nothing is built in
// process: what runs locally is the binary that is deployed.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/sim/apigatewaysim"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/config"
)

// FunctionDir maps a template logical ID to its package folder:
// SignupFunction is functions/signup.
func FunctionDir(logicalID string) string {
	return "functions/" + strings.ToLower(strings.TrimSuffix(logicalID, "Function"))
}

// functions are the template's functions running under aws-lambda-rie, by
// logical ID.
type functions struct {
	dir     string // where the bootstraps were built
	mu      sync.Mutex
	running map[string]*testenv.RIE
}

// buildFunctions builds the named functions' bootstraps in one go build and
// links them into a fresh directory, as <dir>/<folder>/bootstrap. The build
// writes to a directory kept per checkout under the user's cache: go build
// leaves a binary whose build ID matches alone, so a restart with unchanged
// code neither compiles nor links. The build renames its outputs into
// place, so two stacks starting at once each get whole binaries.
func buildFunctions(ctx context.Context, logicalIDs []string) (*functions, error) {
	dir, err := os.MkdirTemp("", "stack-functions-")
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	fs := &functions{dir: dir, running: map[string]*testenv.RIE{}}
	if len(logicalIDs) == 0 {
		return fs, nil
	}
	out, err := buildDir()
	if err != nil {
		fs.remove()
		return nil, err
	}
	var pkgs []string
	for _, id := range logicalIDs {
		pkgs = append(pkgs, "./"+FunctionDir(id))
	}
	if err := testenv.GoBuild(ctx, out, pkgs...); err != nil {
		fs.remove()
		return nil, fmt.Errorf("stack: %w", err)
	}
	for _, id := range logicalIDs {
		name := filepath.Base(FunctionDir(id))
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			fs.remove()
			return nil, fmt.Errorf("stack: %w", err)
		}
		if err := linkOrCopy(filepath.Join(out, name), filepath.Join(dir, name, "bootstrap")); err != nil {
			fs.remove()
			return nil, fmt.Errorf("stack: %w", err)
		}
	}
	return fs, nil
}

// buildDir is where this checkout's bootstraps are built, ending in a
// separator so go build takes it as a directory.
func buildDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	sum := sha256.Sum256([]byte(testenv.RepoRoot()))
	dir := filepath.Join(base, "wa-onboarding-stack", hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	return dir + string(filepath.Separator), nil
}

// linkOrCopy puts src at dst: a hard link when both are on one file
// system, a copy otherwise. The next build replaces src by a rename, so a
// link keeps the binary this stack started with.
func linkOrCopy(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Binary returns where a function's bootstrap was built.
func (fs *functions) Binary(logicalID string) string {
	return filepath.Join(fs.dir, filepath.Base(FunctionDir(logicalID)), "bootstrap")
}

// start runs a built function under aws-lambda-rie with env and the
// template's timeout and memory size. The function's init runs on the first
// invocation, as a cold start does.
func (fs *functions) start(ctx context.Context, tmpl *sam.Template, logicalID string, env map[string]string) (*testenv.RIE, error) {
	f, err := tmpl.Function(logicalID)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	r, err := testenv.StartRIE(ctx, fs.Binary(logicalID), LambdaVars(f, env))
	if err != nil {
		return nil, fmt.Errorf("stack: start %s: %w", logicalID, err)
	}
	fs.mu.Lock()
	fs.running[logicalID] = r
	fs.mu.Unlock()
	return r, nil
}

// LambdaVars are the variables Lambda itself sets from a function's
// template settings, then env's, sorted by name. The emulator enforces
// AWS_LAMBDA_FUNCTION_TIMEOUT, so a handler's ctx.Deadline() is the one
// Lambda would give it, and the runtime client reads the log format, so
// log lines look as they will in CloudWatch.
func LambdaVars(f sam.Function, env map[string]string) []string {
	vars := []string{
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(f.Timeout),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(f.MemorySize),
		"AWS_XRAY_CONTEXT_MISSING=LOG_ERROR",
	}
	if f.LogFormat != "" {
		vars = append(vars, "AWS_LAMBDA_LOG_FORMAT="+f.LogFormat)
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		vars = append(vars, k+"="+env[k])
	}
	return vars
}

// stop ends every emulator and removes the binaries.
func (fs *functions) stop() {
	if fs == nil {
		return
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, r := range fs.running {
		r.Stop()
	}
	fs.remove()
}

func (fs *functions) remove() { _ = os.RemoveAll(fs.dir) }

// functionError is the answer Lambda's Invoke API gives for a function
// that returned an error, panicked or failed its init.
type functionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

// invoke sends event to a function and returns its answer, or the
// function's own error as a Go error.
func invoke(ctx context.Context, r *testenv.RIE, logicalID string, event []byte) ([]byte, error) {
	out, err := r.Invoke(ctx, event)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", logicalID, err)
	}
	var fe functionError
	if json.Unmarshal(out, &fe) == nil && (fe.Message != "" || fe.Type != "") {
		return nil, fmt.Errorf("%s: %s: %s", logicalID, fe.Type, fe.Message)
	}
	return out, nil
}

// httpHandler is the API Gateway emulator's view of a function.
func httpHandler(r *testenv.RIE, logicalID string) apigatewaysim.Handler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		var resp events.APIGatewayV2HTTPResponse
		in, err := json.Marshal(req)
		if err != nil {
			return resp, err
		}
		out, err := invoke(ctx, r, logicalID, in)
		if err != nil {
			return resp, err
		}
		resp, err = apigatewaysim.DecodeResponse(out)
		if err != nil {
			return resp, fmt.Errorf("%s: answer is not an API Gateway response: %w", logicalID, err)
		}
		return resp, nil
	}
}

// streamFunctions lists the functions with a DynamoDB stream event.
func streamFunctions(tmpl *sam.Template) []string {
	var out []string
	for _, fn := range tmpl.Functions() {
		props, _ := tmpl.Raw(fn)["Properties"].(map[string]any)
		evs, _ := props["Events"].(map[string]any)
		for _, ev := range evs {
			e, _ := ev.(map[string]any)
			if e["Type"] == "DynamoDB" {
				out = append(out, fn)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// functionEnv is a function's environment: everything the stack decided,
// with overrides on top.
func functionEnv(env map[string]string, overrides map[string]string) map[string]string {
	out := maps.Clone(env)
	maps.Copy(out, overrides)
	return out
}

// quietScheduled keeps idle scheduled runs, one every 2 s, from burying the
// log, unless the user set a level.
func quietScheduled(env map[string]string) map[string]string {
	if env[config.EnvLogLevel] != "" {
		return nil
	}
	return map[string]string{config.EnvLogLevel: "WARN"}
}
