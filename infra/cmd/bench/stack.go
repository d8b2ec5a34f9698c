package main

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/sim/faultproxy"
	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	infrastack "github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/session"
)

const (
	businessID        = "101000000000001"
	callbackPublicURL = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/webhooks/plivo/whatsapp"
)

// upstreams is one Meta simulator and one Plivo simulator served over
// loopback HTTP.
type upstreams struct {
	meta              *metasim.Server
	plivo             *plivosim.Server
	metaURL, plivoURL string
}

// stack is everything the functions talk to: the template's resources as
// infra/stack assembles them (DynamoDB Local, here behind a counting proxy,
// the Secrets Manager and EventBridge simulators, instant Meta and Plivo
// simulators for cold starts, so that a cold start measures the function),
// and slow Meta and Plivo simulators with the configured latencies for the
// load.
type stack struct {
	db         *testenv.DynamoDB
	dbPID      int
	proxy      *faultproxy.Proxy
	res        *infrastack.Resources
	slow, fast upstreams
	servers    []*httptest.Server
	// blackhole is where any AWS service without its own endpoint
	// variable is sent: nothing answers, so no function can reach real
	// AWS from the bench.
	blackhole net.Listener
	minter    *session.Minter
}

func startStack(ctx context.Context, metaLatency, plivoLatency time.Duration) (_ *stack, err error) {
	s := &stack{}
	defer func() {
		if err != nil {
			s.close() // what started before the failure
		}
	}()
	tmpl, err := sam.Load(filepath.Join(testenv.RepoRoot(), "template.yaml"))
	if err != nil {
		return nil, err
	}
	if s.db, err = testenv.StartDynamoDB(ctx); err != nil {
		return nil, err
	}
	s.dbPID = s.db.PID()
	s.proxy = faultproxy.New(s.db.Endpoint)
	if s.res, err = infrastack.StartResources(ctx, tmpl, s.db, infrastack.ResourceOptions{TablePrefix: "bench-"}); err != nil {
		return nil, err
	}
	keys, err := session.ParseKeyset(s.res.SecretValues[infrastack.SessionKeysSecretID])
	if err != nil {
		return nil, err
	}
	s.minter = &session.Minter{Keys: session.StaticKeys(keys), TTL: 15 * time.Minute}
	s.fast = upstreams{meta: s.res.Meta, plivo: s.res.Plivo, metaURL: s.res.MetaURL, plivoURL: s.res.PlivoURL}
	s.slow = upstreams{
		meta: metasim.New(metasim.Config{AppID: infrastack.SandboxMetaAppID, AppSecret: infrastack.SandboxMetaAppSecret,
			Latency: metaLatency, CodeTTL: 10 * time.Minute}),
		plivo: plivosim.New(plivosim.Config{AuthID: infrastack.SandboxPlivoAuthID, AuthToken: infrastack.SandboxPlivoAuthToken, Latency: plivoLatency}),
	}
	if s.slow.metaURL, err = s.res.Serve(s.slow.meta.Handler()); err != nil {
		return nil, err
	}
	if s.slow.plivoURL, err = s.res.Serve(s.slow.plivo.Handler()); err != nil {
		return nil, err
	}
	if s.blackhole, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	go func() {
		for c, err := s.blackhole.Accept(); err == nil; c, err = s.blackhole.Accept() {
			c.Close()
		}
	}()
	return s, nil
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

// environ is the function's full environment against upstreams u: the
// AWS SDK pointed at the local stand-ins with dummy credentials (every
// other AWS service at the black hole), the variables every function
// gets, and its own, in which ${META} and ${PLIVO} stand for u's URLs.
func (st *stack) environ(f *function, u upstreams) []string {
	// Later entries win, in exec.Cmd and in testenv.StartRIE alike.
	env := append(st.db.Environ(), "AWS_ENDPOINT_URL=http://"+st.blackhole.Addr().String(),
		"AWS_ENDPOINT_URL_DYNAMODB="+st.proxy.URL(), "AWS_ENDPOINT_URL_SECRETS_MANAGER="+st.res.SecretsURL, "AWS_ENDPOINT_URL_EVENTBRIDGE="+st.res.EventsURL,
		"AWS_CONFIG_FILE="+filepath.Join(os.TempDir(), "wa-onboarding-bench-no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(os.TempDir(), "wa-onboarding-bench-no-aws-credentials"))
	vars := map[string]string{"STAGE": "bench", "LOG_LEVEL": "INFO", "METRICS_NAMESPACE": "WhatsAppOnboarding"}
	urls := map[string]string{"META": u.metaURL, "PLIVO": u.plivoURL}
	for k, v := range f.vars {
		vars[k] = os.Expand(v, func(name string) string { return urls[name] })
	}
	env = append(env, infrastack.LambdaVars(f.lambda, vars)...)
	return append(env, f.extraEnv...)
}

// counters is a snapshot of every call counter of the stack.
type counters struct {
	dynamo map[string]int // by operation, "" for all
	sm     int            // GetSecretValue
	meta   int            // every endpoint
	plivo  int            // Embedded Signup calls
}

var dynamoOps = []string{"", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "GetItem", "Query", "Scan", "BatchGetItem"}

func isWrite(op string) bool { return slices.Contains(dynamoOps[1:6], op) }

var metaEndpoints = []string{metasim.EndpointOAuth, metasim.EndpointDebugToken, metasim.EndpointPhoneNumbers, metasim.EndpointOwner, metasim.EndpointSubscribedApps, metasim.EndpointOther}

func (s *stack) snapshot() counters {
	c := counters{dynamo: map[string]int{}, sm: s.res.Secrets.Calls("GetSecretValue")}
	for _, op := range dynamoOps {
		c.dynamo[op] = s.proxy.Requests(op)
	}
	for _, u := range []upstreams{s.slow, s.fast} {
		for _, e := range metaEndpoints {
			c.meta += u.meta.Calls(e)
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
	byOp := map[string]int{}
	for _, op := range dynamoOps[1:] {
		byOp[op] = c.dynamo[op] - old.dynamo[op]
	}
	var d calls // add sorts the operations into reads and writes
	d.add(calls{byOp: byOp, sm: c.sm - old.sm, meta: c.meta - old.meta, plivo: c.plivo - old.plivo, dynamoAll: c.dynamo[""] - old.dynamo[""]})
	return d
}

// add adds o's calls to c, the DynamoDB ones by operation.
func (c *calls) add(o calls) {
	if c.byOp == nil {
		c.byOp = map[string]int{}
	}
	for op, n := range o.byOp {
		if n == 0 {
			continue
		}
		c.byOp[op] += n
		if isWrite(op) {
			c.writes += n
		} else {
			c.reads += n
		}
	}
	c.dynamoAll += o.dynamoAll
	c.sm, c.meta, c.plivo = c.sm+o.sm, c.meta+o.meta, c.plivo+o.plivo
}
