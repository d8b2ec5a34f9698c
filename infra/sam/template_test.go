package sam_test

// This file holds template.yaml against the code: the routes against the
// handlers, the environment against the config loaders, the policies against
// the calls each function makes, the table against the store, and the build
// targets against the Makefile.

import (
	"bufio"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

const root = "../.."

// Logical IDs of the resources the functions depend on.
const (
	tableID       = "SignupTable"
	metaSecretID  = "MetaAppSecret"
	plivoSecretID = "PlivoCredentialsSecret"
	apiID         = "HttpApi"
)

// httpAPIMaxTimeout is API Gateway's integration timeout for HTTP APIs.
const httpAPIMaxTimeout = 30

// loaders says which config loader each function's main calls. A new
// function gets its line here.
var loaders = map[string]func(config.Getenv) error{
	"SignupFunction":       func(g config.Getenv) error { _, err := config.LoadSignupFunction(g); return err },
	"ResumeFunction":       func(g config.Getenv) error { _, err := config.LoadSignup(g); return err },
	"StatusFunction":       func(g config.Getenv) error { _, err := config.LoadStatus(g); return err },
	"PageFunction":         func(g config.Getenv) error { _, err := config.LoadPage(g); return err },
	"SessionsFunction":     func(g config.Getenv) error { _, err := config.LoadSessions(g); return err },
	"CallbacksFunction":    func(g config.Getenv) error { _, err := config.LoadCallbacks(g); return err },
	"DemoFunction":         func(g config.Getenv) error { _, err := config.LoadDemo(g); return err },
	"DoctorFunction":       func(g config.Getenv) error { config.LoadDoctor(g); return nil },
	"MetawebhooksFunction": func(g config.Getenv) error { _, err := config.LoadMetaWebhooks(g); return err },
	"LifecycleFunction":    func(g config.Getenv) error { _, err := config.LoadLifecycle(g); return err },
	"CustomersFunction":    func(g config.Getenv) error { _, err := config.LoadCustomers(g); return err },
}

var (
	tableARN   = "${" + tableID + ".Arn}"
	indexARN   = "${" + tableID + ".Arn}/index/" + dynamo.RetryIndex
	metaARN    = "${" + metaSecretID + "}"
	plivoARN   = "${" + plivoSecretID + "}"
	getSecret  = "secretsmanager:GetSecretValue"
	keysARN    = "${SessionKeysSecret}"
	dedupARN   = "${DedupTable.Arn}"
	phoneARN   = "${" + tableID + ".Arn}/index/" + dynamo.PhoneIndex
	busARN     = "${EventBus.Arn}"
	ruleARN    = "${ResumeFunctionSchedule.Arn}" // the rule SAM makes of ResumeFunction's Schedule event
	clientARN  = "${" + tableID + ".Arn}/index/" + dynamo.ClientIndex
	verifyARN  = "${MetaWebhookVerifyTokenSecret}"
	allowedRes = []string{tableARN, indexARN, metaARN, plivoARN, keysARN, dedupARN, phoneARN, busARN, ruleARN, clientARN, verifyARN}
)

// grants are the exact (action, resource) pairs each function may have:
// the calls its code makes, nothing more. The RIE test checks the other
// direction: that every call a binary makes is granted.
var grants = map[string][]string{
	"SignupFunction": {
		"dynamodb:UpdateItem " + tableARN, // lock and saves, which leave the WABA's health alone
		"dynamodb:GetItem " + tableARN,    // answer a duplicate before the code exchange
		getSecret + " " + metaARN,
		getSecret + " " + plivoARN,
		getSecret + " " + keysARN,         // verify onboarding sessions
		"dynamodb:PutItem " + dedupARN,    // spend a session token once
		"dynamodb:UpdateItem " + dedupARN, // count a spent token's retries
		"dynamodb:GetItem " + dedupARN,    // the page's link check
	},
	"SessionsFunction": {
		getSecret + " " + keysARN, // sign onboarding sessions
	},
	"CallbacksFunction": {
		"dynamodb:Query " + phoneARN,      // route by business number
		"dynamodb:GetItem " + tableARN,    // route by the WABA a callback names
		"dynamodb:PutItem " + dedupARN,    // claim a callback key
		"dynamodb:UpdateItem " + dedupARN, // mark published, or release
		getSecret + " " + plivoARN,        // the auth token signs callbacks
		"events:PutEvents " + busARN,
	},
	"StatusFunction": {
		"dynamodb:GetItem " + tableARN,
		getSecret + " " + keysARN, // the customer's own session sees its record
	},
	"PageFunction": nil,
	"DemoFunction": {
		"dynamodb:GetItem " + tableARN, // only onboarded WABAs
		getSecret + " " + plivoARN,
	},
	"DoctorFunction": { // reads what it checks, nothing else
		getSecret + " " + metaARN,
		getSecret + " " + plivoARN,
		"dynamodb:DescribeTable " + tableARN,
		"dynamodb:DescribeContinuousBackups " + tableARN,
		"events:DescribeRule " + ruleARN,
	},
	"ResumeFunction": {
		"dynamodb:Query " + indexARN,      // due records
		"dynamodb:UpdateItem " + tableARN, // claim, then save the outcome
		getSecret + " " + plivoARN,        // only Plivo is called
	},
	"MetawebhooksFunction": {
		"dynamodb:UpdateItem " + tableARN, // disconnect, restrict, reinstate, health
		"dynamodb:PutItem " + tableARN,    // an unclaimed record
		"dynamodb:GetItem " + tableARN,    // a share of a known WABA: after its onboarding?
		"dynamodb:PutItem " + dedupARN,    // claim a change's key
		"dynamodb:UpdateItem " + dedupARN, // mark it handled, or release
		getSecret + " " + metaARN,         // the app secret signs webhooks
		getSecret + " " + verifyARN,       // the handshake's verify token
	},
	"LifecycleFunction": {
		"events:PutEvents " + busARN,
	},
	"CustomersFunction": {
		"dynamodb:Query " + clientARN,
	},
}

// routes are the routes the product's clients rely on; functions added
// later only need a handler.
var routes = map[string][]string{
	"SignupFunction": {"GET /api/onboarding-sessions/check", "POST /api/whatsapp/embedded-signup"},
	"StatusFunction": {"GET /api/provider/whatsapp/embedded-signup/{waba_id}", "GET /api/whatsapp/embedded-signup/{waba_id}"},
	"PageFunction":   {"GET /", "GET /static/{proxy+}"},
	// Plivo calls this one; its signature is the authentication.
	"CallbacksFunction": {"GET /webhooks/plivo/whatsapp", "POST /webhooks/plivo/whatsapp"},
	"DemoFunction":      {"GET /api/demo/templates/{waba_id}", "POST /api/demo/messages", "POST /api/demo/templates"},
}

// invokedDirectly are functions an operator invokes (aws lambda invoke):
// neither a route nor a schedule.
var invokedDirectly = map[string]bool{"DoctorFunction": true}

// testParams stand for the parameters a deploy must give.
var testParams = map[string]string{"MetaAppId": "100000000000001", "MetaConfigId": "100000000000002", "PlivoSolutionId": "300000000000003"}

func load(t *testing.T) *sam.Template {
	t.Helper()
	tpl, err := sam.Load(filepath.Join(root, "template.yaml"), sam.WithParameters(testParams))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// functionDir maps SignupFunction to functions/signup.
func functionDir(logicalID string) string {
	return filepath.Join("functions", strings.ToLower(strings.TrimSuffix(logicalID, "Function")))
}

func TestFunctionsMatchCodeAndMakefile(t *testing.T) {
	tpl := load(t)
	fns := tpl.Functions()
	if len(fns) == 0 {
		t.Fatal("template has no functions")
	}
	// Every function folder is deployed, and every deployed function has one.
	mains, _ := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	for _, m := range mains {
		dir := filepath.Base(filepath.Dir(m))
		id := strings.ToUpper(dir[:1]) + dir[1:] + "Function"
		if !slices.Contains(fns, id) {
			t.Errorf("functions/%s has no %s in template.yaml", dir, id)
		}
	}
	artifacts := t.TempDir()
	for _, id := range fns {
		t.Run(id, func(t *testing.T) {
			f, err := tpl.Function(id)
			if err != nil {
				t.Fatal(err)
			}
			dir := functionDir(id)
			if _, err := os.Stat(filepath.Join(root, dir, "main.go")); err != nil {
				t.Errorf("%s: no %s/main.go", id, dir)
			}
			if f.CodeURI != "." || f.BuildMethod != "makefile" || f.Handler != "bootstrap" ||
				f.Runtime != "provided.al2023" || !slices.Equal(f.Architectures, []string{"arm64"}) {
				t.Errorf("%s: CodeUri %q, BuildMethod %q, Handler %q, Runtime %q, Architectures %v; want ., makefile, bootstrap, provided.al2023, [arm64]",
					id, f.CodeURI, f.BuildMethod, f.Handler, f.Runtime, f.Architectures)
			}
			if f.LogFormat != "JSON" {
				t.Errorf("%s: LoggingConfig.LogFormat %q, want JSON", id, f.LogFormat)
			}
			lg := strings.Trim(f.LogGroup, "${}")
			if tpl.ResourceType(lg) != "AWS::Logs::LogGroup" {
				t.Errorf("%s: LoggingConfig.LogGroup %q is not a log group of the stack", id, f.LogGroup)
			} else if _, ok := props(tpl.Raw(lg))["RetentionInDays"]; !ok {
				t.Errorf("%s: log group %s has no RetentionInDays", id, lg)
			}
			if f.MemorySize < 128 || f.Timeout <= 0 {
				t.Errorf("%s: MemorySize %d, Timeout %d", id, f.MemorySize, f.Timeout)
			}

			// sam build runs `make build-<LogicalId>`: dry-run it.
			out, err := exec.Command("make", "-C", root, "-n", "build-"+id, "ARTIFACTS_DIR="+artifacts).CombinedOutput()
			if err != nil {
				t.Fatalf("make -n build-%s: %v\n%s", id, err, out)
			}
			cmd := string(out)
			for _, want := range []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "-tags lambda.norpc", "-trimpath",
				"-ldflags '-s -w'", `-o "` + artifacts + `/bootstrap"`, "./" + filepath.ToSlash(dir) + "\n"} {
				if !strings.Contains(cmd, want) {
					t.Errorf("make build-%s does not contain %q:\n%s", id, want, cmd)
				}
			}
		})
	}
}

func TestRoutesMatchHandlers(t *testing.T) {
	tpl := load(t)
	got := map[string][]string{}
	seen := map[string]string{}
	for _, r := range tpl.Routes() {
		if r.API != apiID {
			t.Errorf("%s %s: ApiId %q, want %s", r.Function, r.Key(), r.API, apiID)
		}
		if prev, dup := seen[r.Key()]; dup {
			t.Errorf("route %s is served by %s and %s", r.Key(), prev, r.Function)
		}
		seen[r.Key()] = r.Function
		if !hasMain(r.Function) {
			t.Errorf("route %s: %s has no %s", r.Key(), r.Function, functionMain(r.Function))
		}
		got[r.Function] = append(got[r.Function], r.Key())
	}
	for fn, want := range routes {
		slices.Sort(got[fn])
		if !slices.Equal(got[fn], want) {
			t.Errorf("%s routes %v, want %v", fn, got[fn], want)
		}
	}
	scheduled := map[string]bool{}
	for _, s := range tpl.Schedules() {
		scheduled[s.Function] = true
		if !hasMain(s.Function) {
			t.Errorf("%s has a schedule but no %s", s.Function, functionMain(s.Function))
		}
		if !strings.HasPrefix(s.Expression, "rate(") && !strings.HasPrefix(s.Expression, "cron(") {
			t.Errorf("%s: schedule %q", s.Function, s.Expression)
		}
	}
	for _, fn := range tpl.Functions() {
		streamed := hasEventOfType(tpl, fn, "DynamoDB")
		if !hasMain(fn) {
			t.Errorf("%s has no %s: the local stack and make build build that package", fn, functionMain(fn))
		}
		if len(got[fn]) == 0 && !scheduled[fn] && !invokedDirectly[fn] && !streamed {
			t.Errorf("%s has neither a route nor a schedule", fn)
		}
	}
}

// placeholderValue stands for a "${Resource}" reference the way the deployed
// stack resolves it, so that loaders can validate the value.
// pseudoRef is a reference to a pseudo parameter, such as ${AWS::StackName}.
var pseudoRef = regexp.MustCompile(`\$\{AWS::[A-Za-z]+\}`)

func placeholderValue(v string) string {
	return os.Expand(v, func(ref string) string {
		switch {
		case strings.HasSuffix(ref, "Secret"):
			return "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + ref + "-AbCdEf"
		case strings.HasSuffix(ref, ".Arn"):
			return "arn:aws:dynamodb:us-east-1:123456789012:table/" + strings.TrimSuffix(ref, ".Arn")
		}
		return ref
	})
}

// runtimeVariables are read by the Go runtime, not by a config loader.
var runtimeVariables = map[string]bool{"GOMAXPROCS": true}

func TestEnvironmentCoversWhatLoadersRead(t *testing.T) {
	tpl := load(t)
	for _, fn := range tpl.Functions() {
		t.Run(fn, func(t *testing.T) {
			loader, ok := loaders[fn]
			if !ok {
				t.Fatalf("no loader known for %s: add the config.LoadX its main calls to loaders", fn)
			}
			env := tpl.Environment(fn)
			read := map[string]bool{}
			err := loader(func(k string) string {
				read[k] = true
				return placeholderValue(env[k])
			})
			if err != nil {
				t.Errorf("the %s loader rejects the template's environment: %v", fn, err)
			}
			// SESSIONS=off is an operator's explicit choice, outside prod:
			// the template never makes it.
			if _, ok := env[config.EnvSessions]; ok {
				t.Errorf("%s sets %s: signups must always carry a session", fn, config.EnvSessions)
			}
			delete(read, config.EnvSessions)
			for _, k := range slices.Sorted(maps.Keys(read)) {
				if _, ok := env[k]; !ok {
					t.Errorf("%s reads %s, which template.yaml does not set", fn, k)
				}
			}
			for k, v := range env {
				if strings.Contains(v, "{{resolve:") {
					t.Errorf("%s: %s resolves a secret into the environment", fn, k)
				}
				// A pseudo parameter may be part of a value (the stack's
				// metrics namespace); a resource's reference stands alone.
				if r := pseudoRef.ReplaceAllString(v, ""); strings.Contains(r, "${") && !strings.HasPrefix(r, "${") {
					t.Errorf("%s: %s = %q mixes text and references", fn, k, v)
				}
				if !read[k] && !runtimeVariables[k] {
					t.Errorf("%s sets %s, which its loader never reads", fn, k)
				}
			}
			for k, want := range map[string]string{
				config.EnvTableName: "${" + tableID + "}", config.EnvMetaSecretID: metaARN, config.EnvPlivoSecretID: plivoARN,
			} {
				if v, ok := env[k]; ok && v != want {
					t.Errorf("%s: %s = %q, want %q", fn, k, v, want)
				}
			}
		})
	}
	// Signup and resume share the retry policy and upstream settings: a
	// difference would make them back off or call differently.
	s, r := tpl.Environment("SignupFunction"), tpl.Environment("ResumeFunction")
	if len(r) > 0 && !maps.Equal(s, r) {
		t.Errorf("SignupFunction and ResumeFunction environments differ:\n%v\n%v", s, r)
	}
}

func TestPoliciesAreLeastPrivilege(t *testing.T) {
	tpl := load(t)
	for _, fn := range tpl.Functions() {
		t.Run(fn, func(t *testing.T) {
			want, ok := grants[fn]
			if !ok {
				t.Fatalf("no grants listed for %s: add the calls it makes to grants", fn)
			}
			stmts, err := tpl.Policies(fn)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range stmts {
				if s.Managed != "" {
					t.Errorf("%s: managed policy or policy template %q; write an inline statement", fn, s.Managed)
					continue
				}
				if _, own := tpl.Role(fn); own && len(s.Actions) > 0 && allIn(s.Actions, serviceGrants(tpl, fn)) {
					continue // Lambda's own calls with the role: TestLeastPrivilege holds them
				}
				if s.Effect != "Allow" {
					t.Errorf("%s: Effect %q", fn, s.Effect)
				}
				for _, a := range s.Actions {
					if strings.Contains(a, "*") {
						t.Errorf("%s: wildcard action %q", fn, a)
					}
					for _, res := range s.Resources {
						if strings.Contains(strings.ReplaceAll(res, "${", ""), "*") {
							t.Errorf("%s: wildcard resource %q", fn, res)
						}
						if !slices.Contains(allowedRes, res) {
							t.Errorf("%s: resource %q is not the table, its %s index or the two secrets", fn, res, dynamo.RetryIndex)
						}
						got = append(got, a+" "+res)
					}
				}
			}
			slices.Sort(got)
			want = slices.Sorted(slices.Values(want))
			if !slices.Equal(got, want) {
				t.Errorf("%s grants\n  %s\nwant\n  %s", fn, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

func TestTableMatchesStore(t *testing.T) {
	tpl := load(t)
	tb, err := tpl.Table(tableID)
	if err != nil {
		t.Fatal(err)
	}
	if tb.HashKey != dynamo.KeyAttribute || tb.Attributes[dynamo.KeyAttribute] != "S" || tb.RangeKey != "" {
		t.Errorf("key %q (%s) range %q, want %s (S) and no range key", tb.HashKey, tb.Attributes[tb.HashKey], tb.RangeKey, dynamo.KeyAttribute)
	}
	if len(tb.Indexes) != 3 || tb.Indexes[0].Name != dynamo.RetryIndex {
		t.Fatalf("indexes %+v, want %s, %s and %s", tb.Indexes, dynamo.RetryIndex, dynamo.PhoneIndex, dynamo.ClientIndex)
	}
	if cl := tb.Indexes[2]; cl.Name != dynamo.ClientIndex || cl.HashKey != dynamo.ClientAttr || cl.RangeKey != "" ||
		tb.Attributes[dynamo.ClientAttr] != "S" || cl.Projection != "ALL" {
		t.Errorf("index %+v, want %s on %s (S), ALL", cl, dynamo.ClientIndex, dynamo.ClientAttr)
	}
	if spec, _ := props(tpl.Raw(tableID))["StreamSpecification"].(map[string]any); spec["StreamViewType"] != "NEW_AND_OLD_IMAGES" {
		t.Errorf("StreamSpecification %v, want NEW_AND_OLD_IMAGES: the lifecycle publisher compares both images", spec)
	}
	if ph := tb.Indexes[1]; ph.Name != dynamo.PhoneIndex || ph.HashKey != dynamo.PhoneAttr || ph.RangeKey != "" ||
		tb.Attributes[dynamo.PhoneAttr] != "S" || ph.Projection != "INCLUDE" {
		t.Errorf("index %+v (attributes %v), want %s on %s (S), INCLUDE", ph, tb.Attributes, dynamo.PhoneIndex, dynamo.PhoneAttr)
	}
	ix := tb.Indexes[0]
	if ix.Name != dynamo.RetryIndex || ix.HashKey != dynamo.RetryShardAttr || ix.RangeKey != dynamo.NextRetryAttr ||
		tb.Attributes[dynamo.RetryShardAttr] != "S" || tb.Attributes[dynamo.NextRetryAttr] != "N" {
		t.Errorf("index %+v (attributes %v), want %s on %s (S) / %s (N)", ix, tb.Attributes, dynamo.RetryIndex, dynamo.RetryShardAttr, dynamo.NextRetryAttr)
	}
	if tb.BillingMode != "PAY_PER_REQUEST" {
		t.Errorf("BillingMode %q", tb.BillingMode)
	}
	raw := tpl.Raw(tableID)
	p := props(raw)
	if pitr, _ := p["PointInTimeRecoverySpecification"].(map[string]any); pitr["PointInTimeRecoveryEnabled"] != true {
		t.Error("point-in-time recovery is off")
	}
	if sse, _ := p["SSESpecification"].(map[string]any); sse["SSEEnabled"] != true {
		t.Error("SSE is off")
	}
	// Every table and secret outlives the stack and a replacement, but not
	// a create that rolls back: a first deploy that failed would otherwise
	// leave them behind, and their fixed names would fail the next one.
	stateful := tpl.Resources(sam.TypeTable, "AWS::SecretsManager::Secret")
	if len(stateful) < 6 {
		t.Fatalf("tables and secrets %v: want the two tables and four secrets", stateful)
	}
	for _, id := range stateful {
		r := tpl.Raw(id)
		if r["DeletionPolicy"] != "RetainExceptOnCreate" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s: DeletionPolicy %v, UpdateReplacePolicy %v; want RetainExceptOnCreate and Retain", id, r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	}
}

func TestSecretsArePlaceholdersOfTheRightShape(t *testing.T) {
	tpl := load(t)
	for id, parse := range map[string]func(string) error{
		metaSecretID:  func(s string) error { _, err := secrets.ParseMetaApp(s); return err },
		plivoSecretID: func(s string) error { _, err := secrets.ParsePlivoCredentials(s); return err },
	} {
		if tpl.ResourceType(id) != "AWS::SecretsManager::Secret" {
			t.Errorf("%s is %q", id, tpl.ResourceType(id))
			continue
		}
		s, _ := props(tpl.Raw(id))["SecretString"].(string)
		if err := parse(s); err != nil {
			t.Errorf("%s: placeholder SecretString does not parse: %v", id, err)
		}
		var fields map[string]string
		_ = json.Unmarshal([]byte(s), &fields)
		for k, v := range fields {
			if v != "REPLACE_ME" {
				t.Errorf("%s: %s is %q, want the REPLACE_ME placeholder", id, k, v)
			}
		}
	}
}

func TestAPIAndTimeouts(t *testing.T) {
	tpl := load(t)
	cors, ok := tpl.CORS(apiID)
	origins, _ := tpl.Parameter("AllowedOrigins")
	if !ok || strings.Join(cors.AllowOrigins, ",") != strings.ReplaceAll(origins, " ", "") {
		t.Errorf("CORS %+v, want AllowOrigins from the AllowedOrigins parameter (%q)", cors, origins)
	}
	api := props(tpl.Raw(apiID))
	def, _ := api["DefaultRouteSettings"].(map[string]any)
	defRate, _ := def["ThrottlingRateLimit"].(float64)
	if defRate <= 0 || def["ThrottlingBurstLimit"] == nil {
		t.Errorf("DefaultRouteSettings %v: want throttling", def)
	}
	als, _ := api["AccessLogSettings"].(map[string]any)
	dest, _ := als["DestinationArn"].(string)
	if lg := strings.TrimSuffix(strings.TrimPrefix(dest, "${"), ".Arn}"); tpl.ResourceType(lg) != "AWS::Logs::LogGroup" || als["Format"] == nil {
		t.Errorf("AccessLogSettings %v: want a Format and a log group of the stack", als)
	}
	// The signup route is throttled tighter than the default.
	ev := props(props(tpl.Raw("SignupFunction"))["Events"].(map[string]any)["Signup"].(map[string]any))
	rs, _ := ev["RouteSettings"].(map[string]any)
	if rate, _ := rs["ThrottlingRateLimit"].(float64); rate <= 0 || rate >= defRate {
		t.Errorf("signup route throttle %v, want a rate below the default %v", rs, defRate)
	}

	// Plivo sends about three status callbacks per message and gives up
	// after three retries: its route must take a broadcast, not the
	// default's trickle.
	for _, name := range []string{"Callback", "CallbackGet"} {
		cb := props(props(tpl.Raw("CallbacksFunction"))["Events"].(map[string]any)[name].(map[string]any))
		cbRoute, _ := cb["RouteSettings"].(map[string]any)
		for _, k := range []string{"ThrottlingRateLimit", "ThrottlingBurstLimit"} {
			if limit := number(tpl, cbRoute[k]); limit < 1000 {
				t.Errorf("callback route %s %s %v (%v), want at least 1000/s, well above the default %v", name, k, cbRoute[k], limit, defRate)
			}
		}
	}

	for _, r := range tpl.Routes() {
		f, _ := tpl.Function(r.Function)
		if f.Timeout >= httpAPIMaxTimeout-2 {
			t.Errorf("%s: Timeout %ds leaves no room for a cold start inside the HTTP API's %ds", r.Function, f.Timeout, httpAPIMaxTimeout)
		}
	}
	for _, s := range tpl.Schedules() {
		f, _ := tpl.Function(s.Function)
		if p := ratePeriod(s.Expression); p > 0 && time.Duration(f.Timeout)*time.Second >= p {
			t.Errorf("%s: Timeout %ds is not below its schedule %s", s.Function, f.Timeout, s.Expression)
		}
	}
}

func ratePeriod(expr string) time.Duration {
	m := regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`).FindStringSubmatch(expr)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(m[2], "s")]
	return time.Duration(n) * unit
}

func TestParametersAndOutputs(t *testing.T) {
	tpl := load(t)
	for _, p := range []string{"Stage", "AllowedOrigins", "MetaAppId", "MetaConfigId", "MetaGraphVersion", "PlivoSolutionId", "MetaEsVersion", "ResumeSchedule"} {
		if _, ok := tpl.ParameterSpecs()[p]; !ok {
			t.Errorf("no parameter %s", p)
		}
	}
	if v, _ := tpl.Parameter("MetaGraphVersion"); v != config.DefaultGraphVersion {
		t.Errorf("MetaGraphVersion default %q, want config.DefaultGraphVersion %q", v, config.DefaultGraphVersion)
	}
	if s := tpl.Schedules(); len(s) > 0 {
		if v, _ := tpl.Parameter("ResumeSchedule"); s[0].Expression != v {
			t.Errorf("schedule %q does not come from ResumeSchedule", s[0].Expression)
		}
	}
	for _, o := range []string{"ApiUrl", "SignupTableName", "MetaAppSecretArn", "PlivoCredentialsSecretArn"} {
		if !slices.Contains(tpl.Outputs(), o) {
			t.Errorf("no output %s", o)
		}
	}
}

// TestSamconfig checks that samconfig.toml has both environments and only
// overrides parameters the template declares.
func TestSamconfig(t *testing.T) {
	tpl := load(t)
	f, err := os.Open(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sections := map[string]bool{}
	keys := map[string]bool{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			sections[section] = true
			continue
		}
		if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, `"`) {
			keys[section+"."+strings.TrimSpace(k)] = true
		}
		if strings.HasPrefix(line, `"`) && strings.Contains(line, "=") && strings.HasSuffix(section, "parameters") {
			name, _, _ := strings.Cut(strings.Trim(line, `",`), "=")
			if _, ok := tpl.ParameterSpecs()[name]; !ok {
				t.Errorf("samconfig.toml [%s] overrides %s, which template.yaml does not declare", section, name)
			}
		}
	}
	for _, env := range []string{"default", "prod"} {
		for _, k := range []string{"global.parameters.stack_name", "build.parameters.cached",
			"build.parameters.parallel", "deploy.parameters.capabilities", "deploy.parameters.resolve_s3",
			"deploy.parameters.confirm_changeset", "deploy.parameters.parameter_overrides"} {
			if !keys[env+"."+k] {
				t.Errorf("samconfig.toml: no %s.%s", env, k)
			}
		}
	}
}

func props(res map[string]any) map[string]any {
	p, _ := res["Properties"].(map[string]any)
	return p
}

// hasEventOfType reports whether function fn has an event of type typ.
// functionMain is the main.go of a function's package, as the Makefile and
// the local stack build it: SignupFunction is functions/signup.
func functionMain(logicalID string) string {
	return filepath.Join("functions", strings.ToLower(strings.TrimSuffix(logicalID, "Function")), "main.go")
}

func hasMain(logicalID string) bool {
	_, err := os.Stat(filepath.Join(root, functionMain(logicalID)))
	return err == nil
}

func hasEventOfType(tpl *sam.Template, fn, typ string) bool {
	evs, _ := props(tpl.Raw(fn))["Events"].(map[string]any)
	for _, ev := range evs {
		if m, _ := ev.(map[string]any); m["Type"] == typ {
			return true
		}
	}
	return false
}

// number reads a numeric property, written as a number or as a Ref to a
// parameter (its default).
func number(tpl *sam.Template, v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case string:
		p, _ := tpl.Parameter(strings.TrimSuffix(strings.TrimPrefix(v, "${"), "}"))
		f, _ := strconv.ParseFloat(p, 64)
		return f
	}
	return 0
}
