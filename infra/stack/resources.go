package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/sim/eventbridgesim"
	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/infra/sim/secretsmanagersim"
	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
	"github.com/techprovider/wa-onboarding/infra/testenv"
)

// Credentials of the Meta app and the Plivo account the simulators play.
// They are fake, but tests treat them as secrets: no function log may show
// them.
const (
	SandboxMetaAppID      = "100000000000001"
	SandboxMetaAppSecret  = "sim-meta-app-secret-5b1f0c77"
	SandboxConfigID       = "200000000000002"
	SandboxPlivoAuthID    = "MALOCALSANDBOX000001"
	SandboxPlivoAuthToken = "sim-plivo-auth-token-9d2e41aa"
)

// Logical IDs of the secrets that hold the upstream credentials and the
// session signing keys.
const (
	MetaSecretID        = "MetaAppSecret"
	PlivoSecretID       = "PlivoCredentialsSecret"
	SessionKeysSecretID = "SessionKeysSecret"
)

// ResourceOptions configure StartResources. The zero value simulates
// every resource the template declares.
type ResourceOptions struct {
	// TablePrefix starts each table's name: stacks sharing one DynamoDB
	// Local keep their tables apart by it.
	TablePrefix string
	// Dynamo creates the tables, signing as the functions will; default
	// one with testenv's dummy credentials.
	Dynamo *dynamodb.Client
	// RealBuses and RealUpstreams leave out the EventBridge simulator, and
	// the Meta, Plivo and Secrets Manager simulators: the caller uses real
	// services instead.
	RealBuses, RealUpstreams bool
	// SolutionID, when set, is the Multi-Partner Solution the Meta
	// simulator creates WABAs under, and Plivo refuses, as it does, a WABA
	// outside it or a number Meta has not verified.
	SolutionID string
	// Now is the Meta simulator's clock; default time.Now.
	Now func() time.Time
	// Credentials are the Meta app's and the Plivo account's, in the
	// simulators and in the template's secrets; the zero value is the
	// sandbox's. A test that searches logs for them gives its own.
	Credentials Credentials
	// SecretValues replace what the template's secrets of those logical
	// IDs would hold.
	SecretValues map[string]string
}

// Credentials are what the Meta and Plivo simulators accept.
type Credentials struct {
	MetaAppID, MetaAppSecret    string
	PlivoAuthID, PlivoAuthToken string
}

// sandboxCredentials are the sandbox's, which every local run shares.
var sandboxCredentials = Credentials{
	MetaAppID: SandboxMetaAppID, MetaAppSecret: SandboxMetaAppSecret,
	PlivoAuthID: SandboxPlivoAuthID, PlivoAuthToken: SandboxPlivoAuthToken,
}

// Resources are what the template's functions reach besides their code:
// DynamoDB Local with every table, the Secrets Manager simulator with every
// secret, the EventBridge simulator with every bus, and the Meta and Plivo
// simulators, each on a port of its own as the real services are.
type Resources struct {
	Template *sam.Template
	// DynamoDB is DynamoDB Local and Dynamo the client that created the
	// tables; nil when the caller brings real tables.
	DynamoDB *testenv.DynamoDB
	Dynamo   *dynamodb.Client
	// Tables maps each AWS::DynamoDB::Table logical ID to the name the
	// functions use.
	Tables map[string]string
	// Secrets holds every AWS::SecretsManager::Secret of the template under
	// its logical ID; SecretARNs maps the logical IDs to the simulated ARNs
	// and SecretValues to the values first put.
	Secrets      *secretsmanagersim.Server
	SecretARNs   map[string]string
	SecretValues map[string]string
	SecretsURL   string
	// Events holds every AWS::Events::EventBus of the template; Buses maps
	// their logical IDs to the local bus names.
	Events    *eventbridgesim.Server
	Buses     map[string]string
	EventsURL string
	// Meta and Plivo are the upstream simulators.
	Meta     *metasim.Server
	Plivo    *plivosim.Server
	MetaURL  string
	PlivoURL string

	mu      sync.Mutex
	servers []*http.Server
}

// StartResources creates the template's resources on db (nil: no tables)
// and serves the simulators. Close it when done; db stays the caller's.
func StartResources(ctx context.Context, tmpl *sam.Template, db *testenv.DynamoDB, opts ResourceOptions) (r *Resources, err error) {
	res := &Resources{Template: tmpl, DynamoDB: db, Tables: map[string]string{}, SecretARNs: map[string]string{},
		SecretValues: map[string]string{}, Buses: map[string]string{}}
	r = res
	defer func() {
		if err != nil {
			// r is nil by then when a return named it so: close what was
			// started through res.
			_ = res.Close()
			r = nil
		}
	}()
	if db != nil {
		r.Dynamo = opts.Dynamo
		if r.Dynamo == nil {
			r.Dynamo = testenv.DynamoClient(db.Endpoint)
		}
		for _, id := range tmpl.Tables() {
			name := opts.TablePrefix + id
			if err := testenv.CreateTableFrom(ctx, r.Dynamo, id, name); err != nil {
				return nil, fmt.Errorf("stack: %w", err)
			}
			r.Tables[id] = name
		}
	}
	if buses := tmpl.Resources(typeBus); !opts.RealBuses && len(buses) > 0 {
		for _, id := range buses {
			r.Buses[id] = id
		}
		r.Events = eventbridgesim.New(buses...)
		if r.EventsURL, err = r.Serve(r.Events); err != nil {
			return nil, err
		}
	}
	if opts.RealUpstreams {
		return r, nil
	}
	creds := opts.Credentials
	if creds == (Credentials{}) {
		creds = sandboxCredentials
	}
	r.Meta = metasim.New(metasim.Config{AppID: creds.MetaAppID, AppSecret: creds.MetaAppSecret, Now: opts.Now, SolutionID: opts.SolutionID})
	plivo := plivosim.Config{AuthID: creds.PlivoAuthID, AuthToken: creds.PlivoAuthToken}
	if opts.SolutionID != "" {
		// Plivo's onboarding makes the WABA's number a sender of the
		// account: it learns the number from the Meta grant it was issued
		// in.
		plivo.LookupNumber = r.Meta.DisplayNumber
		plivo.CheckAtMeta = func(waba, phone string) string {
			solution, verified, known := r.Meta.WABAFacts(waba, phone)
			switch {
			case !known:
				return ""
			case solution != opts.SolutionID:
				return plivosim.MsgNotUnderSolution
			case !verified:
				return plivosim.MsgNumberNotVerified
			}
			return ""
		}
	}
	r.Plivo = plivosim.New(plivo)
	r.Secrets = secretsmanagersim.New()
	for _, id := range tmpl.Resources(typeSecret) {
		value, given := opts.SecretValues[id]
		if !given {
			if value, err = secretValue(tmpl, id, creds); err != nil {
				return nil, err
			}
		}
		r.SecretARNs[id] = r.Secrets.Put(id, value)
		r.SecretValues[id] = value
	}
	for _, sim := range []struct {
		h   http.Handler
		url *string
	}{{r.Meta.Handler(), &r.MetaURL}, {r.Plivo.Handler(), &r.PlivoURL}, {r.Secrets, &r.SecretsURL}} {
		if *sim.url, err = r.Serve(sim.h); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// secretValue is what a secret of the template holds locally: the
// simulated upstream credentials, or what CloudFormation would create from
// the template's SecretString or GenerateSecretString.
func secretValue(tmpl *sam.Template, id string, creds Credentials) (string, error) {
	switch id {
	case MetaSecretID:
		return mustJSON(map[string]string{"app_id": creds.MetaAppID, "app_secret": creds.MetaAppSecret}), nil
	case PlivoSecretID:
		return mustJSON(map[string]string{"auth_id": creds.PlivoAuthID, "auth_token": creds.PlivoAuthToken}), nil
	}
	p, _ := tmpl.Raw(id)["Properties"].(map[string]any)
	if v, ok := p["SecretString"].(string); ok {
		return v, nil
	}
	gen, ok := p["GenerateSecretString"].(map[string]any)
	if !ok {
		return "", fmt.Errorf("stack: secret %s has neither SecretString nor GenerateSecretString", id)
	}
	length := 32
	if n, ok := gen["PasswordLength"].(float64); ok {
		length = int(n)
	}
	password := simkit.RandomString(simkit.Alphanumeric, length)
	shape, _ := gen["SecretStringTemplate"].(string)
	key, _ := gen["GenerateStringKey"].(string)
	if shape == "" || key == "" {
		return password, nil
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(shape), &obj); err != nil {
		return "", fmt.Errorf("stack: secret %s: SecretStringTemplate: %w", id, err)
	}
	obj[key] = password
	return mustJSON(obj), nil
}

// Environment returns the environment the template gives a function, with
// references to the template's resources resolved to the local ones and
// the upstream URLs pointed at the simulators.
func (r *Resources) Environment(logicalID string) (map[string]string, error) {
	f, err := r.Template.Function(logicalID)
	if err != nil {
		return nil, err
	}
	refs := map[string]string{
		"AWS::Region": testenv.Region, "AWS::AccountId": "000000000000", "AWS::Partition": "aws",
		"AWS::StackName": "wa-onboarding-local", "AWS::URLSuffix": "amazonaws.com",
	}
	maps.Copy(refs, r.Tables)
	maps.Copy(refs, r.SecretARNs)
	maps.Copy(refs, r.Buses)
	env := map[string]string{}
	for k, v := range f.Environment {
		env[k] = os.Expand(v, func(ref string) string {
			if v, ok := refs[ref]; ok {
				return v
			}
			// Anything else (the API's ID, a rule SAM generates) has no
			// local counterpart: its logical ID stands in for it.
			return strings.TrimSuffix(ref, ".Arn")
		})
	}
	for k, v := range map[string]string{"META_GRAPH_URL": r.MetaURL, "PLIVO_API_URL": r.PlivoURL} {
		if _, ok := env[k]; ok && v != "" {
			env[k] = v
		}
	}
	return env, nil
}

// Serve serves h on a port of its own until Close.
func (r *Resources) Serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	r.mu.Lock()
	r.servers = append(r.servers, srv)
	r.mu.Unlock()
	return "http://" + ln.Addr().String(), nil
}

// Close stops serving the simulators; the tables stay with DynamoDB Local.
func (r *Resources) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, srv := range r.servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	r.servers = nil
	return errors.Join(errs...)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
