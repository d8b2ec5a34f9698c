// Package stack runs the whole product on a laptop: DynamoDB Local with
// every table template.yaml declares, the Meta, Plivo, Secrets Manager and
// EventBridge simulators, and every HTTP function of template.yaml behind an
// API Gateway stand-in, built by the same builders the Lambda binaries call.
// Scheduled functions run on a short ticker.
//
// Resources is the one assembly of the tables, secrets, buses and
// simulators the functions reach, and of their environment: the end-to-end
// harness, infra/e2e/binaries, stands on it too.
//
// By default everything is local and the page runs in sandbox mode.
// Environment variables point parts of it at real services instead (see
// docs/local.md): TABLE_NAME at a real DynamoDB table, SANDBOX=false with
// META_* and PLIVO_* settings at real Meta and Plivo.
package stack

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/sim/apigatewaysim"
	"github.com/techprovider/wa-onboarding/infra/sim/eventbridgesim"
	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
	"github.com/techprovider/wa-onboarding/infra/stack/console"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/esversion"
	"github.com/techprovider/wa-onboarding/shared/page"
)

// Environment variables only the local stack reads.
const (
	// EnvResumeEvery is how often scheduled functions run locally, as a Go
	// duration; "0" turns the ticker off.
	EnvResumeEvery = "LOCAL_RESUME_EVERY"
	// EnvPort is the port to listen on.
	EnvPort = "PORT"
)

// DefaultResumeEvery is how often scheduled functions run locally.
const DefaultResumeEvery = 2 * time.Second

// localRetry makes a pending signup finish within seconds locally instead of
// the deployed 30 s to 15 min, unless the user set the variables.
var localRetry = map[string]string{
	config.EnvRetryBaseDelay: "2s",
	config.EnvRetryMaxDelay:  "8s",
}

// Options configure Start. The zero value runs everything locally from the
// repository's template.yaml on a free port.
type Options struct {
	// Template is the SAM template whose routes are served; default
	// template.yaml at the repository root.
	Template string
	// Port to listen on (127.0.0.1); 0 picks a free one.
	Port int
	// Getenv reads the user's settings; default os.Getenv. The settings
	// the stack uses are copied into the process environment, where the
	// functions and the AWS SDK read them.
	Getenv func(string) string
	// ResumeEvery overrides LOCAL_RESUME_EVERY; negative turns the
	// ticker off.
	ResumeEvery time.Duration
	// Log receives the stack's own lines (functions log JSON to stdout as
	// in Lambda); default a text logger on stderr.
	Log *slog.Logger
}

// Stack is a running local stack. Close it when done.
type Stack struct {
	// URL is where the API and the page are served, e.g. http://localhost:8080.
	URL string
	// Sandbox reports whether the page and functions use the simulators.
	Sandbox bool
	// TableName is the signup table. DynamoDBEndpoint is DynamoDB Local's
	// URL, "" when the table variables pointed at real tables.
	TableName        string
	DynamoDBEndpoint string
	// Resources are the tables, by the names the functions use, and the
	// simulators, for tests to script scenarios: Meta, Plivo and Secrets
	// are nil outside sandbox mode, Events when the bus variables point
	// at real buses.
	*Resources
	// Routes are the HTTP routes served, from the template.
	Routes []sam.Route
	// Scheduled are the scheduled functions the ticker runs.
	Scheduled []string
	// Env is what the stack set in the process environment, secrets
	// excluded (it sets none).
	Env map[string]string

	log         *slog.Logger
	aws         aws.Config
	solutionID  string // the Multi-Partner Solution the sandbox page launches with
	login       sandboxLogin
	server      *http.Server
	ln          net.Listener
	db          *testenv.DynamoDB
	clock       *clock
	fnEnv       map[string]string            // what every function's environment holds
	fnOverrides map[string]map[string]string // a function's own settings on top of fnEnv, by logical ID
	plivoTap    *console.PlivoTap            // records the demo function's Plivo calls for the console
	functions   *functions
	scheduled   map[string]*testenv.RIE
	runMu       sync.Mutex // one scheduled run at a time, as a claim-safe habit
	stop        context.CancelFunc
	wg          sync.WaitGroup
	restore     func()
	closeOnce   sync.Once
	closeErr    error
}

// Start brings the stack up and returns once it serves. On error it stops
// whatever it had started.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opts.Template == "" {
		opts.Template = filepath.Join(testenv.RepoRoot(), "template.yaml")
	}
	// consulted remembers the user's settings the stack read, to copy them
	// into the process environment the functions read.
	consulted := map[string]string{}
	get := func(k string) string {
		v := strings.TrimSpace(opts.Getenv(k))
		if v != "" {
			consulted[k] = v
		}
		return v
	}

	s := &Stack{log: opts.Log, Env: map[string]string{}, clock: &clock{}}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	tmpl, err := sam.Load(opts.Template)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	s.Routes = tmpl.Routes()
	var sdk *sdkOrigin // sandbox only: the simulated SDK's own origin
	b := bindingsOf(tmpl)
	// The functions build while DynamoDB Local starts: the two are most of
	// the start-up time.
	built := make(chan error, 1)
	go func() {
		start := time.Now()
		var err error
		s.functions, err = buildFunctions(ctx, s.functionsToRun(tmpl))
		if err == nil {
			s.log.Info("functions built", "took", time.Since(start).Round(time.Millisecond))
		}
		built <- err
	}()
	defer func() {
		if built != nil {
			<-built // never leave the build writing s.functions after Start returns
		}
	}()

	s.Sandbox = true
	if v := get(config.EnvSandbox); v != "" {
		if s.Sandbox, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("stack: %s=%q is not a boolean", config.EnvSandbox, v)
		}
	}

	// Listen first: the URL is part of the configuration (PAGE_URL).
	addr := "127.0.0.1:" + strconv.Itoa(opts.Port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("stack: listen on %s: %w", addr, err)
	}
	s.URL = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	s.server = &http.Server{ReadHeaderTimeout: 10 * time.Second}
	s.ln = ln

	env := map[string]string{
		config.EnvSandbox: strconv.FormatBool(s.Sandbox),
		config.EnvStage:   "local",
	}
	setDefault := func(k, v string) {
		if get(k) == "" {
			env[k] = v
		}
	}
	for k, v := range localRetry {
		setDefault(k, v)
	}

	// DynamoDB and the event buses: the user's, or DynamoDB Local with every
	// table of the template and the EventBridge simulator.
	userTables, missingTables := b.userSet(b.tables, get)
	realTables := len(userTables) > 0
	if realTables && len(missingTables) > 0 {
		return nil, fmt.Errorf("stack: %s point at real tables; set %s too (see docs/local.md)",
			strings.Join(userTables, ", "), strings.Join(missingTables, ", "))
	}
	userBuses, missingBuses := b.userSet(b.buses, get)
	if len(userBuses) > 0 && len(missingBuses) > 0 {
		return nil, fmt.Errorf("stack: %s point at real event buses; set %s too", strings.Join(userBuses, ", "), strings.Join(missingBuses, ", "))
	}
	realBuses := len(userBuses) > 0

	// Meta, Plivo and the secrets: simulated in sandbox mode, real otherwise.
	realSecrets := false
	if s.Sandbox {
		for _, k := range append([]string{config.EnvMetaGraphURL, config.EnvPlivoAPIURL}, b.secretEnvNames()...) {
			if get(k) != "" {
				s.log.Warn("ignored in sandbox mode; set SANDBOX=false to use it", "variable", k)
			}
		}
		setDefault(config.EnvPlivoSolutionID, config.SandboxSolutionID)
		s.solutionID = cmp.Or(get(config.EnvPlivoSolutionID), config.SandboxSolutionID)
		s.login = sandboxLogin{
			ConfigID:  cmp.Or(get(config.EnvMetaConfigID), SandboxConfigID),
			ESVersion: cmp.Or(get(config.EnvMetaESVersion), esversion.Default),
		}
		s.login.Extras = esversion.ExtrasFor(s.login.ESVersion, s.solutionID)
		setDefault(config.EnvMetaAppID, SandboxMetaAppID)
		setDefault(config.EnvMetaConfigID, SandboxConfigID)
	} else {
		missing := []string{}
		for _, k := range append([]string{config.EnvMetaAppID, config.EnvMetaConfigID, config.EnvPlivoSolutionID}, b.secretEnvNames()...) {
			if get(k) == "" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("stack: SANDBOX=false talks to real Meta and Plivo and needs %s (see docs/local.md)", strings.Join(missing, ", "))
		}
		realSecrets = get("AWS_ENDPOINT_URL_SECRETS_MANAGER") == ""
	}

	if !realTables {
		s.log.Info("starting DynamoDB Local")
		dbStart := time.Now()
		if s.db, err = testenv.StartDynamoDB(ctx); err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
		s.log.Info("DynamoDB Local ready", "took", time.Since(dbStart).Round(time.Millisecond))
		s.DynamoDBEndpoint = s.db.Endpoint
		env["AWS_ENDPOINT_URL_DYNAMODB"] = s.db.Endpoint
	}

	// AWS credentials: dummy ones when nothing real is used, so that no
	// profile on the machine is ever touched; the user's otherwise.
	if !realTables && !realSecrets && !realBuses {
		for _, kv := range s.db.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	} else {
		if err := exportCredentials(ctx, env, get); err != nil {
			return nil, err
		}
		if get("AWS_REGION") == "" && get("AWS_DEFAULT_REGION") == "" && env["AWS_REGION"] == "" {
			env["AWS_REGION"] = testenv.Region
		}
	}

	resOpts := ResourceOptions{RealBuses: realBuses, RealUpstreams: !s.Sandbox, SolutionID: s.solutionID, Now: s.clock.Now}
	if !realTables {
		// The tables are created as the functions will sign, so DynamoDB
		// Local files them under the functions' access key.
		fnAWS, err := app.AWS(func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			if v, ok := consulted[k]; ok {
				return v
			}
			return os.Getenv(k)
		})
		if err != nil {
			return nil, fmt.Errorf("stack: AWS configuration: %w", err)
		}
		resOpts.Dynamo = dynamodb.NewFromConfig(fnAWS)
	}
	if s.Resources, err = StartResources(ctx, tmpl, s.db, resOpts); err != nil {
		return nil, err
	}
	for table, names := range b.tables {
		if realTables {
			// A table no function names has no variable to learn its real
			// name from; no function here can reach it either.
			if len(names) > 0 {
				s.Tables[table] = get(names[0])
			}
			continue
		}
		for _, n := range names {
			env[n] = s.Tables[table]
		}
	}
	s.TableName = s.Tables[testenv.SignupTableID]
	if s.Events != nil {
		env["AWS_ENDPOINT_URL_EVENTBRIDGE"] = s.EventsURL
		for bus, names := range b.buses {
			for _, n := range names {
				env[n] = s.Buses[bus]
			}
		}
	}
	if s.Sandbox {
		sdk = &sdkOrigin{pageOrigin: s.URL}
		if env[page.EnvSandboxSDKOrigin], err = s.Serve(sdk); err != nil {
			return nil, fmt.Errorf("stack: sandbox SDK origin: %w", err)
		}
		env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = s.SecretsURL
		for secret, names := range b.secrets {
			for _, n := range names {
				env[n] = s.SecretARNs[secret]
			}
		}
		env[config.EnvMetaGraphURL] = s.MetaURL
		env[config.EnvPlivoAPIURL] = s.PlivoURL
	}
	for name, value := range s.localURLs() {
		if b.envNames[name] {
			setDefault(name, value)
		}
	}

	for k, v := range consulted {
		if _, decided := env[k]; !decided {
			env[k] = v
		}
	}
	s.restore = setenv(env)
	s.fnEnv = env
	for k, v := range env {
		if !strings.HasPrefix(k, "AWS_SECRET") {
			s.Env[k] = v
		}
	}

	// The configuration the functions build.
	if s.aws, err = app.AWS(os.Getenv); err != nil {
		return nil, fmt.Errorf("stack: AWS configuration: %w", err)
	}

	err = <-built
	built = nil
	if err != nil {
		return nil, err
	}
	if err := s.tapDemoPlivo(); err != nil {
		return nil, err
	}
	router, err := s.buildRoutes(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.buildScheduled(ctx, tmpl); err != nil {
		return nil, err
	}

	// API Gateway answers CORS preflights for the API (not the /_sim/
	// controls) from the template's CorsConfiguration.
	var api http.Handler = router
	if c, ok := corsConfig(tmpl, s.Routes, get); ok {
		api = apigatewaysim.CORS(c, router)
	}
	var handler http.Handler = api
	if s.Sandbox {
		handler = s.withSimControls(api)
	}
	// GET /console: the App Review demos, the per-customer view and the
	// doctor, local only.
	c := console.Wrap(handler, os.Getenv, s.functionHandler(demoFunction), s.functionHandler(customersFunction))
	c.Tap = s.plivoTap
	handler = c
	if sdk != nil {
		sdk.serve(handler)
	}
	s.server.Handler = handler
	go func() { _ = s.server.Serve(ln) }()

	every := opts.ResumeEvery
	if every == 0 {
		every = DefaultResumeEvery
		if v := get(EnvResumeEvery); v != "" {
			if every, err = time.ParseDuration(v); err != nil {
				return nil, fmt.Errorf("stack: %s=%q is not a duration", EnvResumeEvery, v)
			}
		}
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	if every > 0 && len(s.scheduled) > 0 {
		s.wg.Add(1)
		go s.tick(runCtx, every)
	}
	if !realTables {
		s.startStreams(runCtx)
	}
	s.log.Info("local stack serving", "url", s.URL, "sandbox", s.Sandbox, "table", s.TableName, "routes", len(s.Routes))
	return s, nil
}

// exportCredentials gives the functions the developer's AWS credentials when
// the local stack uses real AWS resources. Functions read credentials only
// from the variables Lambda sets (see app.AWS), so credentials from a
// profile or SSO are resolved here, the SDK's standard way, and exported as
// those variables. Temporary ones are not refreshed: restart the stack when
// they expire.
func exportCredentials(ctx context.Context, env map[string]string, get config.Getenv) error {
	if get("AWS_ACCESS_KEY_ID") != "" && get("AWS_SECRET_ACCESS_KEY") != "" {
		return nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("stack: AWS configuration: %w", err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("stack: real AWS resources need credentials: %w", err)
	}
	env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"] = creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken
	if get("AWS_REGION") == "" && get("AWS_DEFAULT_REGION") == "" && cfg.Region != "" {
		env["AWS_REGION"] = cfg.Region
	}
	return nil
}

// localURLs are the defaults of settings that name this stack's own
// addresses: where onboarding links and Plivo's callbacks point.
func (s *Stack) localURLs() map[string]string {
	callbacks := "/webhooks/plivo/whatsapp"
	for _, r := range s.Routes {
		if r.Function == callbacksFunction {
			callbacks = r.Path
		}
	}
	return map[string]string{
		config.EnvPageURL:           s.URL + "/",
		config.EnvCallbackPublicURL: s.URL + callbacks,
	}
}

// callbacksFunction is the function behind Plivo's callback route.
const callbacksFunction = "CallbacksFunction"

// buildRoutes starts each HTTP function's bootstrap under aws-lambda-rie and
// routes the template's routes to it.
func (s *Stack) buildRoutes(ctx context.Context) (*apigatewaysim.Router, error) {
	built := map[string]apigatewaysim.Handler{}
	var routes []apigatewaysim.Route
	for _, r := range s.Routes {
		h, ok := built[r.Function]
		if !ok {
			fn, err := s.functions.start(ctx, s.Template, r.Function, functionEnv(s.fnEnv, s.fnOverrides[r.Function]))
			if err != nil {
				return nil, err
			}
			h = httpHandler(fn, r.Function)
			built[r.Function] = h
		}
		if r.Auth != "" && r.Auth != apigatewaysim.AuthIAM {
			s.log.Warn("route authorizer is not enforced locally", "route", r.Key(), "authorizer", r.Auth)
		}
		routes = append(routes, apigatewaysim.Route{Method: r.Method, Path: r.Path, Handler: h, Function: r.Function, Auth: r.Auth})
	}
	router, err := apigatewaysim.NewRouter(routes)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	router.Log = s.log
	return router, nil
}

// functionsToRun lists every function the stack may run: those behind
// routes, the enabled schedules and the stream consumers (run only with
// DynamoDB Local).
func (s *Stack) functionsToRun(tmpl *sam.Template) []string {
	ids := map[string]bool{}
	for _, r := range s.Routes {
		ids[r.Function] = true
	}
	for _, sch := range tmpl.Schedules() {
		if sch.Enabled {
			ids[sch.Function] = true
		}
	}
	for _, fn := range streamFunctions(tmpl) {
		ids[fn] = true
	}
	return slices.Sorted(maps.Keys(ids))
}

// The functions the console calls as the Tech Provider would: the demo
// forms and the per-customer view.
const (
	demoFunction      = "DemoFunction"
	customersFunction = "CustomersFunction"
)

// tapDemoPlivo points the demo function at a recording proxy in front of
// Plivo, so that the console shows the Plivo exchanges of each demo it
// runs.
func (s *Stack) tapDemoPlivo() error {
	target := s.fnEnv[config.EnvPlivoAPIURL]
	target = cmp.Or(target, config.DefaultPlivoURL)
	tap, err := console.NewPlivoTap(target)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	u, err := s.Serve(tap)
	if err != nil {
		return fmt.Errorf("stack: Plivo tap: %w", err)
	}
	s.plivoTap = tap
	s.fnOverrides = map[string]map[string]string{demoFunction: {config.EnvPlivoAPIURL: u}}
	return nil
}

// functionHandler is the running function name as an HTTP handler, the
// same binary its route runs; nil when the stack runs no such function.
func (s *Stack) functionHandler(name string) apigatewaysim.Handler {
	s.functions.mu.Lock()
	r, ok := s.functions.running[name]
	s.functions.mu.Unlock()
	if !ok {
		return nil
	}
	return httpHandler(r, name)
}

// buildScheduled starts the scheduled functions the template enables.
func (s *Stack) buildScheduled(ctx context.Context, tmpl *sam.Template) error {
	s.scheduled = map[string]*testenv.RIE{}
	for _, sch := range tmpl.Schedules() {
		if !sch.Enabled || s.scheduled[sch.Function] != nil {
			continue
		}
		r, err := s.functions.start(ctx, tmpl, sch.Function, functionEnv(s.fnEnv, quietScheduled(s.fnEnv)))
		if err != nil {
			return err
		}
		s.scheduled[sch.Function] = r
		s.Scheduled = append(s.Scheduled, sch.Function)
	}
	slices.Sort(s.Scheduled)
	return nil
}

// RunScheduled runs every scheduled function once, now, as EventBridge
// would, and returns their errors joined.
func (s *Stack) RunScheduled(ctx context.Context) error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	var errs []error
	for _, name := range s.Scheduled {
		now := time.Now().UTC()
		ev := events.EventBridgeEvent{
			Version:    "0",
			ID:         simkit.NewUUID(),
			DetailType: "Scheduled Event",
			Source:     "aws.events",
			AccountID:  apigatewaysim.AccountID,
			Time:       now,
			Region:     testenv.Region,
			Resources:  []string{"arn:aws:events:" + testenv.Region + ":" + apigatewaysim.AccountID + ":rule/" + name},
			Detail:     json.RawMessage("{}"),
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if _, err := invoke(ctx, s.scheduled[name], name, raw); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Stack) tick(ctx context.Context, every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.RunScheduled(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("scheduled run failed", "error", err)
			}
		}
	}
}

// DynamoDB returns a client for the signup table, configured as the
// functions' clients are.
func (s *Stack) DynamoDB() *dynamodb.Client {
	return dynamodb.NewFromConfig(s.aws)
}

// Close stops the server, the ticker, the simulators and DynamoDB Local, and
// restores the process environment. It is safe to call more than once.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		if s.server != nil {
			errs = append(errs, s.server.Shutdown(ctx))
		}
		if s.ln != nil {
			_ = s.ln.Close() // when Start failed before serving
		}
		if s.stop != nil {
			s.stop()
		}
		s.wg.Wait()
		if s.Resources != nil {
			errs = append(errs, s.Resources.Close())
		}
		s.functions.stop()
		if s.db != nil {
			s.db.Stop()
		}
		if s.restore != nil {
			s.restore()
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// withSimControls mounts the simulators' controls under /_sim/ in front of
// the API, for the sandbox page and for scripts.
func (s *Stack) withSimControls(api http.Handler) http.Handler {
	meta, plivo := s.Meta.Handler(), s.Plivo.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, "/_sim/meta/"):
			meta.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/_sim/plivo/"):
			plivo.ServeHTTP(w, r)
		case p == eventbridgesim.EventsPath && s.Events != nil:
			s.Events.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/_sim/local/"):
			s.serveLocalControl(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

// serveLocalControl serves scenario controls that need more than one
// simulator's own API:
//
//	POST /_sim/local/meta/spend   {"code": "..."} exchanges the code once, so
//	                              the backend's exchange finds it used
//	POST /_sim/local/meta/login   the login configuration Meta holds for the
//	                              app: {"config_id","es_version","extras"},
//	                              the FB.login options the SDK accepts
//	POST /_sim/local/meta/expire  moves the Meta simulator's clock past the
//	                              lifetime of every code issued so far
//	POST /_sim/local/session      mints an onboarding session through the
//	                              sessions route, as the Tech Provider's
//	                              backend would: {"url", "token", ...}
//	POST /_sim/local/resume       runs the scheduled functions now
//	POST /_sim/local/meta/disconnect {"waba_id": "..."} has Meta send a signed
//	                              account_update PARTNER_APP_UNINSTALLED
func (s *Stack) serveLocalControl(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		simkit.WriteError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	switch r.URL.Path {
	case "/_sim/local/meta/spend":
		var in struct {
			Code string `json:"code"`
		}
		if !simkit.DecodePost(w, r, &in, `{"code": "..."}`, func() bool { return in.Code != "" }) {
			return
		}
		if err := s.spendCode(r.Context(), in.Code); err != nil {
			simkit.WriteError(w, http.StatusBadGateway, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "/_sim/local/meta/login":
		// What Meta knows of the app's login configuration: the sandbox
		// SDK refuses an FB.login that does not match it, as Meta would.
		simkit.WriteJSON(w, http.StatusOK, s.login)
	case "/_sim/local/meta/expire":
		s.clock.offset.Add(int64(metasim.DefaultCodeTTL + time.Second))
		w.WriteHeader(http.StatusNoContent)
	case "/_sim/local/session":
		// The sandbox plays the Tech Provider's backend, which mints an
		// onboarding link for its customer before sending them here.
		link, err := s.NewSession(r.Context(), "sandbox-customer-"+simkit.RandomString("0123456789abcdef", 8), 0)
		if err != nil {
			simkit.WriteError(w, http.StatusBadGateway, err.Error())
			return
		}
		simkit.WriteJSON(w, http.StatusOK, link)
	case "/_sim/local/meta/disconnect":
		// The customer removes our app: Meta sends a signed account_update.
		var in struct {
			WABAID string `json:"waba_id"`
		}
		if !simkit.DecodePost(w, r, &in, `{"waba_id": "..."}`, func() bool { return in.WABAID != "" }) {
			return
		}
		status, err := s.sendMetaWebhook(r.Context(), in.WABAID, "PARTNER_APP_UNINSTALLED")
		if err != nil {
			simkit.WriteError(w, http.StatusBadGateway, err.Error())
			return
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]int{"webhook_status": status})
	case "/_sim/local/resume":
		if err := s.RunScheduled(r.Context()); err != nil {
			simkit.WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		simkit.WriteError(w, http.StatusNotFound, "unknown local control")
	}
}

// sandboxLogin is the Facebook Login for Business configuration the sandbox
// Meta holds: FB.login must name its config_id, and pass the extras of its
// Embedded Signup version with the Multi-Partner Solution.
type sandboxLogin struct {
	ConfigID  string           `json:"config_id"`
	ESVersion string           `json:"es_version"`
	Extras    esversion.Extras `json:"extras"`
}

// sessionsFunction is the function behind the onboarding-sessions route.
const sessionsFunction = "SessionsFunction"

// ErrNoSessions is returned by NewSession when the template has no
// onboarding-sessions route.
var ErrNoSessions = errors.New("stack: the template has no onboarding-sessions route")

// NewSession asks the sessions route for an onboarding link for
// clientRef, living ttl (0: the function's SESSION_TTL), over HTTP and
// signed as an IAM caller, as the Tech Provider's backend does.
func (s *Stack) NewSession(ctx context.Context, clientRef string, ttl time.Duration) (apigw.SessionAnswer, error) {
	var route *sam.Route
	for i, r := range s.Routes {
		if r.Function == sessionsFunction && r.Method == http.MethodPost {
			route = &s.Routes[i]
		}
	}
	if route == nil {
		return apigw.SessionAnswer{}, ErrNoSessions
	}
	in := map[string]any{"client_ref": clientRef}
	if ttl > 0 {
		in["ttl_seconds"] = int64(ttl / time.Second)
	}
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+route.Path, strings.NewReader(string(body)))
	if err != nil {
		return apigw.SessionAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	// The local IAM authorizer reads the access key and trusts the rest.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=LOCALSTACK/"+time.Now().UTC().Format("20060102")+
		"/"+testenv.Region+"/execute-api/aws4_request, SignedHeaders=content-type;host, Signature=local")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return apigw.SessionAnswer{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusCreated {
		return apigw.SessionAnswer{}, fmt.Errorf("stack: sessions route answered %d: %s", resp.StatusCode, raw)
	}
	var out apigw.SessionAnswer
	if err := json.Unmarshal(raw, &out); err != nil || out.Token == "" {
		return apigw.SessionAnswer{}, fmt.Errorf("stack: sessions route answered no token: %s", raw)
	}
	return out, nil
}

// spendCode exchanges code at the Meta simulator with the sandbox app's
// credentials, as a first (lost) exchange would.
func (s *Stack) spendCode(ctx context.Context, code string) error {
	q := url.Values{"client_id": {SandboxMetaAppID}, "client_secret": {SandboxMetaAppSecret}, "code": {code}}
	u := s.MetaURL + "/" + config.DefaultGraphVersion + "/oauth/access_token?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("meta simulator refused the exchange: HTTP %d", resp.StatusCode)
	}
	return nil
}

// clock is the Meta simulator's time: real time plus an offset, in
// nanoseconds, that /_sim/local/meta/expire moves forward.
type clock struct{ offset atomic.Int64 }

// Now returns the simulated time.
func (c *clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// setenv sets env in the process and returns a function that puts back
// what was there before.
func setenv(env map[string]string) func() {
	type prev struct {
		value string
		set   bool
	}
	old := make(map[string]prev, len(env))
	for k, v := range env {
		pv, set := os.LookupEnv(k)
		old[k] = prev{pv, set}
		_ = os.Setenv(k, v)
	}
	return func() {
		for k, p := range old {
			if p.set {
				_ = os.Setenv(k, p.value)
			} else {
				_ = os.Unsetenv(k)
			}
		}
	}
}
