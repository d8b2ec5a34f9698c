package testenv

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynamoDB Local checks that a request is signed but not by whom. Its
// tables live per access key and region, so every client here uses the same
// pair.
const (
	// DummyAccessKeyID is the access key every local client signs with.
	DummyAccessKeyID = "testenv"
	// DummySecretAccessKey goes with DummyAccessKeyID.
	DummySecretAccessKey = "testenv"
	// Region is the region of every local client and function.
	Region = "us-east-1"
)

// startTimeout bounds a start whose ctx has no deadline. A first run also
// installs Java and DynamoDB Local, which takes most of it.
const startTimeout = 5 * time.Minute

// DynamoDB is a running DynamoDB Local, in memory: everything is lost on Stop.
type DynamoDB struct {
	// Endpoint is its URL, http://127.0.0.1:<port>.
	Endpoint string
	// LogPath is the file under .cache/logs holding its output.
	LogPath string
	// Startup is the time from starting java to the first answered
	// ListTables, for the last and successful attempt.
	Startup time.Duration

	proc *process
}

// StartDynamoDB starts DynamoDB Local in memory on a free port and waits until
// it answers. It first installs Java and DynamoDB Local with
// infra/scripts/deps.sh when they are missing. Stop it when done; it also
// dies with the calling process on Linux.
func StartDynamoDB(ctx context.Context) (*DynamoDB, error) {
	ctx, cancel := withDefaultTimeout(ctx, startTimeout)
	defer cancel()

	dir := cachePath("dynamodb-local")
	if _, err := exec.LookPath("java"); err != nil || !fileExists(filepath.Join(dir, "DynamoDBLocal.jar")) {
		if err := runDeps(ctx, "java", "dynamodb"); err != nil {
			return nil, err
		}
	}
	return onFreePort(func() (*DynamoDB, error) { return startDynamoDBOn(ctx, dir, FreePort()) })
}

func startDynamoDBOn(ctx context.Context, dir string, port int) (*DynamoDB, error) {
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	// No JVM tuning flags: -XX:TieredStopAtLevel=1 and SerialGC saved well
	// under a second of the ~3-4 s start here but slow DynamoDB Local down
	// for benchmarks, and AppCDS refuses the jar's directory class path.
	args := []string{
		"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(dir, "DynamoDBLocal.jar"),
		"-inMemory",
		"-port", strconv.Itoa(port),
	}
	start := time.Now()
	p, err := startProcess("DynamoDB Local", dir, os.Environ(), "dynamodb-"+strconv.Itoa(port), "java", args...)
	if err != nil {
		return nil, err
	}
	client := DynamoClient(endpoint, func(o *dynamodb.Options) {
		o.Retryer = aws.NopRetryer{}
	})
	err = p.waitReady(ctx, 25*time.Millisecond, func(ctx context.Context) error {
		// On a bind failure DynamoDB Local's main thread dies but the JVM
		// lives on, so the exit alone would never tell.
		if b, _ := os.ReadFile(p.logPath); bytes.Contains(b, []byte("java.net.BindException")) {
			return errPortTaken
		}
		// Probe only a port the JVM itself listens on: until then the port
		// may be another process's (a test's recording endpoint took it
		// between FreePort and the JVM's bind), and a ListTables sent there
		// would land in that process's record of calls.
		if !listensOn(p.cmd.Process.Pid, port) {
			return errNotListening
		}
		_, err := client.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		return err
	})
	if err != nil {
		p.stop(time.Second)
		if errors.Is(err, errPortTaken) {
			return nil, fmt.Errorf("testenv: DynamoDB Local on port %d: %w", port, errPortTaken)
		}
		return nil, err
	}
	return &DynamoDB{Endpoint: endpoint, LogPath: p.logPath, Startup: time.Since(start), proc: p}, nil
}

// Stop ends DynamoDB Local and waits for it to exit. It is safe to call more
// than once.
func (d *DynamoDB) Stop() {
	d.proc.stop(5 * time.Second)
}

// PID is the DynamoDB Local JVM's process ID.
func (d *DynamoDB) PID() int { return d.proc.cmd.Process.Pid }

// Environ returns the environment that points the AWS SDK, in this process
// or in a Lambda binary, at this DynamoDB Local with dummy credentials.
// Empty values clear variables that would steer the SDK elsewhere.
func (d *DynamoDB) Environ() []string {
	return []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + d.Endpoint,
		"AWS_ACCESS_KEY_ID=" + DummyAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + DummySecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_PROFILE=",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

var shared *DynamoDB

// MustDynamoDB is a whole TestMain: it starts one DynamoDB Local for the
// package, sets the process environment from its Environ, runs the tests,
// stops it and exits with the tests' code. When DynamoDB Local cannot start
// it prints why and exits 1: it never skips.
//
//	func TestMain(m *testing.M) { testenv.MustDynamoDB(m) }
//
// A process that only fuzzes runs without it: Go starts every fuzz worker
// as a fresh copy of the test binary, TestMain included, and a JVM per
// worker made a short fuzz run wait tens of seconds on a loaded machine.
// Fuzz targets therefore never touch DynamoDB.
func MustDynamoDB(m *testing.M) {
	if onlyFuzzing() {
		os.Exit(m.Run())
	}
	db, err := StartDynamoDB(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: DynamoDB Local did not start: %v\n", err)
		os.Exit(1)
	}
	shared = db
	for _, kv := range db.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if v == "" {
			os.Unsetenv(k)
		} else {
			os.Setenv(k, v)
		}
	}
	code := m.Run()
	db.Stop()
	os.Exit(code)
}

// onlyFuzzing reports whether this test process runs nothing but a fuzz
// target: a fuzz worker, or a coordinator started with -run='^$'.
func onlyFuzzing() bool {
	if !flag.Parsed() {
		flag.Parse()
	}
	value := func(name string) string {
		if f := flag.Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	return value("test.fuzzworker") == "true" || (value("test.fuzz") != "" && value("test.run") == "^$")
}

// SharedDynamoDB returns the instance that MustDynamoDB started, or nil
// outside it; for tests that pass its Environ on, to StartRIE for example.
func SharedDynamoDB() *DynamoDB { return shared }

// DynamoClient returns a DynamoDB client for endpoint with the dummy
// credentials. An empty endpoint means $AWS_ENDPOINT_URL_DYNAMODB, as
// MustDynamoDB sets it; with neither it panics rather than reach real AWS.
// The options apply after the defaults (a test's retryer, say).
func DynamoClient(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	endpoint = cmp.Or(endpoint, os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	if endpoint == "" {
		panic("testenv: DynamoClient: no endpoint and no AWS_ENDPOINT_URL_DYNAMODB")
	}
	// Built by hand rather than with config.LoadDefaultConfig so that no
	// shared config file, profile or IMDS lookup leaks in from the machine.
	cfg := aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(DummyAccessKeyID, DummySecretAccessKey, ""),
	}
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}}, optFns...)...)
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}
