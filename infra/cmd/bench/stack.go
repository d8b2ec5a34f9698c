package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/sim/eventbridgesim"
	"github.com/techprovider/wa-onboarding/infra/sim/faultproxy"
	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/infra/sim/secretsmanagersim"
	infrastack "github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// The simulated Meta app and Plivo account: the local stack's.
const (
	metaAppID      = infrastack.SandboxMetaAppID
	metaAppSecret  = infrastack.SandboxMetaAppSecret
	plivoAuthToken = infrastack.SandboxPlivoAuthToken
	plivoAuthID    = infrastack.SandboxPlivoAuthID
	businessID     = "101000000000001"
	graphVersion   = "v25.0"
	// sessionKeysID is the template's secret of the session signing keys.
	sessionKeysID = "SessionKeysSecret"
)

// upstreams is one Meta simulator and one Plivo simulator served over
// loopback HTTP.
type upstreams struct {
	meta     *metasim.Server
	plivo    *plivosim.Server
	metaURL  string
	plivoURL string
}

// stack is everything the functions talk to: the template's resources as
// infra/stack assembles them (DynamoDB Local, here behind a counting proxy,
// the Secrets Manager and EventBridge simulators, instant Meta and Plivo
// simulators for cold starts, so that a cold start measures the function),
// and slow Meta and Plivo simulators with the configured latencies for the
// load.
type stack struct {
	db        *testenv.DynamoDB
	dbPID     int
	proxy     *faultproxy.Proxy
	res       *infrastack.Resources
	table     string
	dedup     string
	sm        *secretsmanagersim.Server
	smURL     string
	bus       *eventbridgesim.Server
	busURL    string
	busName   string
	slow      upstreams
	fast      upstreams
	servers   []*httptest.Server
	blackhole net.Listener

	metaSecretARN, plivoSecretARN, sessionSecretARN string
	minter                                          *session.Minter
}

func startStack(ctx context.Context, metaLatency, plivoLatency time.Duration) (s *stack, err error) {
	s = &stack{}
	defer func() {
		if err != nil {
			s.close()
			s = nil
		}
	}()
	tmpl, err := sam.Load(filepath.Join(testenv.RepoRoot(), "template.yaml"))
	if err != nil {
		return nil, err
	}
	s.db, err = testenv.StartDynamoDB(ctx)
	if err != nil {
		return nil, err
	}
	s.dbPID = javaPID(s.db.Endpoint)
	s.proxy = faultproxy.New(s.db.Endpoint)
	// The template's tables, secrets and bus, and the instant simulators,
	// as the local stack and the end-to-end tests have them.
	s.res, err = infrastack.StartResources(ctx, tmpl, s.db, infrastack.ResourceOptions{TablePrefix: "bench-"})
	if err != nil {
		return nil, err
	}
	s.table, s.dedup = s.res.Tables["SignupTable"], s.res.Tables["DedupTable"]
	s.bus, s.busURL, s.busName = s.res.Events, s.res.EventsURL, s.res.Buses["EventBus"]
	s.sm, s.smURL = s.res.Secrets, s.res.SecretsURL
	s.metaSecretARN = s.res.SecretARNs[infrastack.MetaSecretID]
	s.plivoSecretARN = s.res.SecretARNs[infrastack.PlivoSecretID]
	s.sessionSecretARN = s.res.SecretARNs[sessionKeysID]
	keys, err := session.ParseKeyset(s.res.SecretValues[sessionKeysID])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sessionKeysID, err)
	}
	s.minter = &session.Minter{Keys: session.StaticKeys(keys), TTL: 15 * time.Minute}
	s.fast = upstreams{meta: s.res.Meta, plivo: s.res.Plivo, metaURL: s.res.MetaURL, plivoURL: s.res.PlivoURL}
	s.slow = s.upstreams(metaLatency, plivoLatency)

	// Any AWS service without its own endpoint variable is sent here, where
	// nothing answers, so no function can reach real AWS from the bench.
	s.blackhole, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := s.blackhole.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return s, nil
}

func (s *stack) upstreams(metaLatency, plivoLatency time.Duration) upstreams {
	u := upstreams{
		meta:  metasim.New(metasim.Config{AppID: metaAppID, AppSecret: metaAppSecret, Latency: metaLatency, CodeTTL: 10 * time.Minute}),
		plivo: plivosim.New(plivosim.Config{AuthID: plivoAuthID, AuthToken: plivoAuthToken, Latency: plivoLatency}),
	}
	u.metaURL = s.serve(u.meta.Handler())
	u.plivoURL = s.serve(u.plivo.Handler())
	return u
}

func (s *stack) serve(h http.Handler) string {
	srv := httptest.NewServer(h)
	s.servers = append(s.servers, srv)
	return srv.URL
}

func (s *stack) close() {
	for _, srv := range s.servers {
		srv.Close()
	}
	if s.blackhole != nil {
		s.blackhole.Close()
	}
	if s.proxy != nil {
		s.proxy.Close()
	}
	if s.res != nil {
		_ = s.res.Close()
	}
	if s.db != nil {
		s.db.Stop()
	}
}

// awsEnviron points the AWS SDK at the local stand-ins with dummy
// credentials, and every other AWS service at the black hole.
func (s *stack) awsEnviron() []string {
	return []string{
		"AWS_ENDPOINT_URL=http://" + s.blackhole.Addr().String(),
		"AWS_ENDPOINT_URL_DYNAMODB=" + s.proxy.URL(),
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + s.smURL,
		"AWS_ENDPOINT_URL_EVENTBRIDGE=" + s.busURL,
		"AWS_ACCESS_KEY_ID=" + testenv.DummyAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + testenv.DummySecretAccessKey,
		"AWS_REGION=" + testenv.Region,
		"AWS_DEFAULT_REGION=" + testenv.Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(os.TempDir(), "wa-onboarding-bench-no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(os.TempDir(), "wa-onboarding-bench-no-aws-credentials"),
	}
}

// signupEnviron is the signup and resume functions' configuration, as
// template.yaml sets it, against u.
func (s *stack) signupEnviron(u upstreams) map[string]string {
	return map[string]string{
		"TABLE_NAME":         s.table,
		"META_SECRET_ID":     s.metaSecretARN,
		"PLIVO_SECRET_ID":    s.plivoSecretARN,
		"META_GRAPH_URL":     u.metaURL,
		"META_GRAPH_VERSION": graphVersion,
		"PLIVO_API_URL":      u.plivoURL,
		"SECRETS_TTL":        "5m",
		"RETRY_BASE_DELAY":   "30s",
		"RETRY_MAX_DELAY":    "15m",
		"RETRY_MAX_ATTEMPTS": "12",
		"RETRY_MAX_AGE":      "24h",
		"RESUME_BATCH_SIZE":  "25",
	}
}

// callbacksEnviron is the callback receiver's configuration.
func (st *stack) callbacksEnviron() map[string]string {
	return map[string]string{
		"TABLE_NAME": st.table, "DEDUP_TABLE_NAME": st.dedup, "EVENT_BUS_NAME": st.busName,
		"CALLBACK_PUBLIC_URL": "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/webhooks/plivo/whatsapp",
		"PLIVO_SECRET_ID":     st.plivoSecretARN, "SECRETS_TTL": "5m",
	}
}

// counters is a snapshot of every call counter of the stack.
type counters struct {
	dynamo map[string]int // by operation, "" for all
	sm     int            // GetSecretValue
	meta   map[string]int // by endpoint
	plivo  int            // Embedded Signup calls
}

var dynamoOps = []string{"", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "GetItem", "Query", "Scan", "BatchGetItem"}

var metaEndpoints = []string{metasim.EndpointOAuth, metasim.EndpointDebugToken, metasim.EndpointPhoneNumbers, metasim.EndpointOwner, metasim.EndpointOther}

func (s *stack) snapshot() counters {
	c := counters{dynamo: map[string]int{}, meta: map[string]int{}, sm: s.sm.Calls("GetSecretValue")}
	for _, op := range dynamoOps {
		c.dynamo[op] = s.proxy.Requests(op)
	}
	for _, u := range []upstreams{s.slow, s.fast} {
		for _, e := range metaEndpoints {
			c.meta[e] += u.meta.Calls(e)
		}
		c.plivo += u.plivo.SignupCalls()
	}
	return c
}

// calls is what happened between two snapshots.
type calls struct {
	writes, reads, dynamoAll int
	byOp                     map[string]int
	sm, meta, plivo          int
}

func (c counters) since(old counters) calls {
	d := calls{byOp: map[string]int{}}
	for _, op := range dynamoOps {
		n := c.dynamo[op] - old.dynamo[op]
		if op == "" {
			d.dynamoAll = n
			continue
		}
		if n > 0 {
			d.byOp[op] = n
		}
		switch op {
		case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems":
			d.writes += n
		default:
			d.reads += n
		}
	}
	for _, e := range metaEndpoints {
		d.meta += c.meta[e] - old.meta[e]
	}
	d.sm = c.sm - old.sm
	d.plivo = c.plivo - old.plivo
	return d
}

// sample is the calls made during one invocation: the interval of each
// Meta, Plivo, DynamoDB, Secrets Manager and EventBridge call.
type sample struct {
	spans
}

// epoch starts the clock that call intervals are measured on.
var epoch = time.Now()

// clock is the time since epoch, on the monotonic clock.
func clock() time.Duration { return time.Since(epoch) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// javaPID finds the DynamoDB Local process listening at endpoint, to read
// its CPU time; 0 when it cannot be told.
func javaPID(endpoint string) int {
	_, port, _ := strings.Cut(strings.TrimPrefix(endpoint, "http://127.0.0.1"), ":")
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		for i, a := range args {
			if a == "-port" && i+1 < len(args) && args[i+1] == port && strings.Contains(string(b), "DynamoDBLocal.jar") {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
				return pid
			}
		}
	}
	return 0
}

// procStat is what /proc/<pid> says of a process's CPU and memory.
type procStat struct {
	cpu     time.Duration // user + system
	peakRSS int64         // VmHWM, bytes
	rss     int64         // VmRSS, bytes
}

// clockTick is USER_HZ, 100 on every Linux that Lambda or CI runs.
const clockTick = 10 * time.Millisecond

func readProc(pid int) procStat {
	var st procStat
	if pid <= 0 {
		return st
	}
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return st
	}
	// Fields after the command, which is in parentheses and may hold spaces.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) > 12 {
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		st.cpu = time.Duration(utime+stime) * clockTick
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return st
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmHWM":
			st.peakRSS = kb << 10
		case "VmRSS":
			st.rss = kb << 10
		}
	}
	return st
}

// pidOf finds the running process whose executable is binary.
func pidOf(binary string) (int, error) {
	real, err := filepath.EvalSymlinks(binary)
	if err != nil {
		real = binary
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, exe := range procs {
		target, err := os.Readlink(exe)
		if err != nil || (target != binary && target != real) {
			continue
		}
		return strconv.Atoi(filepath.Base(filepath.Dir(exe)))
	}
	return 0, fmt.Errorf("no running process of %s", binary)
}
