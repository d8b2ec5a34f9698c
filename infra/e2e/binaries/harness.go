// Package binaries runs the functions' real bootstrap binaries under the
// Lambda Runtime Interface Emulator (aws-lambda-rie), with the environment
// template.yaml gives them, against the resources infra/stack assembles
// (stack.Resources: DynamoDB Local and the Meta, Plivo, Secrets Manager
// and EventBridge simulators). Its tests invoke every file in events/,
// measure cold starts, and inject faults at the endpoints the functions are
// pointed at (the simulators' fault queues, a fault proxy in front of
// DynamoDB Local) on stacks of their own (Sibling); `make invoke`
// (infra/cmd/invoke) uses the same Stack, so a manual invocation sees
// exactly what the tests see.
//
// Every AWS call a binary makes goes through a recorder, so the test can
// hold the calls against the IAM statements the template grants.
package binaries

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
	infrastack "github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// Placeholders in the bodies of events/ that PrepareEvent replaces:
// CodePlaceholder with a fresh single-use code from the Meta simulator,
// SessionPlaceholder with an onboarding-session token for the body's
// client_ref, signed with the stack's session key.
const (
	CodePlaceholder    = "SIM_CODE"
	SessionPlaceholder = "SIM_SESSION"
)

// Records Seed writes; events/ refers to these IDs.
const (
	BusinessID         = "101000000000001"
	OnboardedWABA      = "102000000000002"
	OnboardedPhone     = "103000000000002"
	OnboardedClientRef = "customer-2"
	ConflictWABA       = "102000000000003"
	ConflictPhone      = "103000000000003"
	DueWABA            = "102000000000004"
	DuePhone           = "103000000000004"
	// RestrictedWABA is restricted until a minute before Seed ran.
	RestrictedWABA  = "102000000000021"
	RestrictedPhone = "103000000000021"
)

// Credentials of the simulated Meta app and Plivo account, as infra/stack
// gives them. They are fake, but the test treats them as secrets: no
// function log may show them.
const (
	MetaAppID    = infrastack.SandboxMetaAppID
	MetaConfigID = infrastack.SandboxConfigID
	// PlivoSolutionID is the Multi-Partner Solution the page launches with.
	PlivoSolutionID = config.SandboxSolutionID
	MetaAppSecret   = infrastack.SandboxMetaAppSecret
	PlivoAuthID     = infrastack.SandboxPlivoAuthID
	PlivoAuthToken  = infrastack.SandboxPlivoAuthToken
)

// Parameters are the template parameters a deploy must give, with the
// simulated app's values.
var Parameters = map[string]string{"MetaAppId": MetaAppID, "MetaConfigId": MetaConfigID, "PlivoSolutionId": PlivoSolutionID}

// Stack is the template's resources as infra/stack assembles them (DynamoDB
// Local with every table, the simulators with every secret and bus) and
// the function binaries built on demand.
type Stack struct {
	Root string
	*infrastack.Resources
	// Table is the signup table's local name.
	Table string
	// MetaSecretARN and PlivoSecretARN are the upstream secrets' ARNs.
	MetaSecretARN, PlivoSecretARN string

	builds *builds
	// ownsDynamoDB: Close stops DynamoDB Local; a Sibling's is its parent's.
	ownsDynamoDB bool

	mu    sync.Mutex
	calls map[string]map[string]struct{} // logical ID -> "action resource"
}

// builds are the binaries built for a stack and its siblings.
type builds struct {
	dir      string
	mu       sync.Mutex
	binaries map[string]string // package path -> binary
}

// Start brings up the stack for the repository at root; builds go to
// buildDir. Close it when done.
func Start(ctx context.Context, root, buildDir string) (*Stack, error) {
	tmpl, err := sam.Load(filepath.Join(root, "template.yaml"), sam.WithParameters(Parameters))
	if err != nil {
		return nil, err
	}
	db, err := testenv.StartDynamoDB(ctx)
	if err != nil {
		return nil, err
	}
	s, err := start(ctx, root, tmpl, db, &builds{dir: buildDir, binaries: map[string]string{}})
	if err != nil {
		db.Stop()
		return nil, err
	}
	s.ownsDynamoDB = true
	return s, nil
}

// Sibling starts a stack with tables, simulators, secrets and buses of its
// own, on s's DynamoDB Local and with s's binaries: a test that arms faults
// in the simulators or re-drives every due record gets a stack no other
// test sees, without a second DynamoDB Local or a second build. Close it
// before s.
func (s *Stack) Sibling(ctx context.Context) (*Stack, error) {
	return start(ctx, s.Root, s.Template, s.DynamoDB, s.builds)
}

func start(ctx context.Context, root string, tmpl *sam.Template, db *testenv.DynamoDB, b *builds) (*Stack, error) {
	// Upstreams answer at once: the cold start measured is the function's.
	res, err := infrastack.StartResources(ctx, tmpl, db, infrastack.ResourceOptions{TablePrefix: "rie-" + simkit.RandomString("0123456789abcdef", 8) + "-"})
	if err != nil {
		return nil, err
	}
	s := &Stack{Root: root, Resources: res, builds: b, calls: map[string]map[string]struct{}{},
		Table: res.Tables[testenv.SignupTableID], MetaSecretARN: res.SecretARNs[infrastack.MetaSecretID], PlivoSecretARN: res.SecretARNs[infrastack.PlivoSecretID]}
	if s.Table == "" {
		s.Close()
		return nil, fmt.Errorf("binaries: template.yaml has no %s", testenv.SignupTableID)
	}
	return s, nil
}

// Close stops everything Start or Sibling started. Functions must be
// stopped first.
func (s *Stack) Close() {
	_ = s.Resources.Close()
	if s.ownsDynamoDB {
		s.DynamoDB.Stop()
	}
}

// Seed writes the records the replay, conflict, status and resume events
// expect. Records already there are left alone.
func (s *Stack) Seed(ctx context.Context) error {
	store := &dynamo.Store{Client: s.Dynamo, Table: s.Table}
	now := time.Now().UTC().Truncate(time.Millisecond)
	onboarded := func(waba, phone, ref string) *onboarding.Record {
		r := &onboarding.Record{
			WABAID: waba, State: onboarding.StateOnboarded, PhoneNumberID: phone, BusinessID: BusinessID,
			ClientRef: ref, DisplayPhoneNumber: "+1 555-010-" + phone[len(phone)-4:], RequestID: "seed",
			CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour), VerifiedAt: now.Add(-time.Hour),
			OnboardedAt: now.Add(-time.Hour), PlivoAttempts: 1, PlivoAPIID: "seed-" + waba,
		}
		r.PayloadHash = r.Identity().Hash()
		r.PlivoPayloadHash = r.PayloadHash
		return r
	}
	due := &onboarding.Record{
		WABAID: DueWABA, State: onboarding.StateVerified, PhoneNumberID: DuePhone, BusinessID: BusinessID,
		ClientRef: "customer-4", DisplayPhoneNumber: "+1 555-010-0004", RequestID: "seed",
		LockOwner: "seed", LockExpiresAt: now.Add(-time.Minute), CreatedAt: now.Add(-2 * time.Minute),
		UpdatedAt: now.Add(-time.Minute), VerifiedAt: now.Add(-2 * time.Minute), PlivoAttempts: 1,
		NextRetryAt: now.Add(-time.Minute), LastError: onboarding.ReasonPlivoServerError,
	}
	due.PayloadHash = due.Identity().Hash()
	due.PlivoPayloadHash = due.PayloadHash
	for _, r := range []*onboarding.Record{
		onboarded(OnboardedWABA, OnboardedPhone, OnboardedClientRef),
		onboarded(ConflictWABA, ConflictPhone, "customer-3"),
		due,
	} {
		if _, err := store.Acquire(ctx, r, now); err != nil && !errors.Is(err, onboarding.ErrConditionFailed) {
			return fmt.Errorf("binaries: seed %s: %w", r.WABAID, err)
		}
	}
	_, err := store.Acquire(ctx, onboarded(RestrictedWABA, RestrictedPhone, "customer-5"), now)
	switch {
	case errors.Is(err, onboarding.ErrConditionFailed):
		return nil
	case err != nil:
		return fmt.Errorf("binaries: seed %s: %w", RestrictedWABA, err)
	}
	if ok, err := store.Restrict(ctx, RestrictedWABA, "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING", now.Add(-time.Minute), now, time.Time{}); !ok || err != nil {
		return fmt.Errorf("binaries: seed %s: restricted %t: %v", RestrictedWABA, ok, err)
	}
	return nil
}

// Build builds a function (its logical ID) or any main package (a path
// such as ./infra/e2e/binaries/testdata/hello) the way testenv.BuildFunction
// does, once per Stack and its siblings.
func (s *Stack) Build(ctx context.Context, fnOrPkg string) (string, error) {
	pkg := fnOrPkg
	if !strings.Contains(pkg, "/") {
		pkg = "./" + infrastack.FunctionDir(pkg)
	}
	b := s.builds
	// Held while building: siblings started together wait for one build
	// instead of each linking the same binary.
	b.mu.Lock()
	defer b.mu.Unlock()
	if bin, ok := b.binaries[pkg]; ok {
		return bin, nil
	}
	bin, err := testenv.BuildFunction(ctx, pkg, b.dir)
	if err != nil {
		return "", err
	}
	b.binaries[pkg] = bin
	return bin, nil
}

// LogicalID maps a folder name (signup) or a logical ID to the logical ID.
func LogicalID(name string) string {
	if strings.HasSuffix(name, "Function") {
		return name
	}
	name = filepath.Base(name)
	return strings.ToUpper(name[:1]) + name[1:] + "Function"
}

// Function is one function binary running under the emulator.
type Function struct {
	LogicalID string
	Binary    string
	*testenv.RIE
}

// StartFunction builds a function and starts it under the emulator with its
// template environment, its timeout and memory size, and AWS endpoints that
// record its calls. The function itself starts on the first Invoke.
// Overrides ("KEY=value") are added last to the environment, where they
// win: a test's shorter AWS_LAMBDA_FUNCTION_TIMEOUT, which the emulator
// applies, for one.
func (s *Stack) StartFunction(ctx context.Context, logicalID string, overrides ...string) (*Function, error) {
	bin, err := s.Build(ctx, logicalID)
	if err != nil {
		return nil, err
	}
	f, err := s.Template.Function(logicalID)
	if err != nil {
		return nil, err
	}
	env, err := s.Environment(logicalID)
	if err != nil {
		return nil, err
	}
	vars := s.DynamoDB.Environ()
	for _, endpoint := range []struct {
		name    string
		handler http.Handler
	}{
		{"AWS_ENDPOINT_URL_DYNAMODB", s.recordDynamoDB(logicalID)},
		{"AWS_ENDPOINT_URL_SECRETS_MANAGER", s.recordSecrets(logicalID)},
		{"AWS_ENDPOINT_URL_EVENTBRIDGE", s.recordEvents(logicalID)},
		// Any other service lands here: noted, and refused at once rather
		// than sent to AWS.
		{"AWS_ENDPOINT_URL", s.recordOther(logicalID)},
	} {
		u, err := s.Serve(endpoint.handler)
		if err != nil {
			return nil, err
		}
		vars = append(vars, endpoint.name+"="+u)
	}
	vars = append(vars, infrastack.LambdaVars(f, env)...)
	vars = append(vars, overrides...)
	rie, err := testenv.StartRIE(ctx, bin, vars)
	if err != nil {
		return nil, err
	}
	return &Function{LogicalID: logicalID, Binary: bin, RIE: rie}, nil
}

// StartBinary runs any built binary under the emulator with only the
// emulator's base environment (the hello-world function, for one).
func (s *Stack) StartBinary(ctx context.Context, bin string) (*Function, error) {
	rie, err := testenv.StartRIE(ctx, bin, infrastack.LambdaVars(sam.Function{Timeout: 3, MemorySize: 128}, nil))
	if err != nil {
		return nil, err
	}
	return &Function{LogicalID: filepath.Base(filepath.Dir(bin)), Binary: bin, RIE: rie}, nil
}

func (s *Stack) record(logicalID, call string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls[logicalID] == nil {
		s.calls[logicalID] = map[string]struct{}{}
	}
	s.calls[logicalID][call] = struct{}{}
}

// Calls returns the AWS calls a function has made, as "action resource"
// with resources named the way template.yaml names them.
func (s *Stack) Calls(logicalID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.calls[logicalID]))
}

// recording serves next after noting, under logicalID, the IAM actions
// that calls names for the request: calls gets the operation (the
// X-Amz-Target header after its service prefix) and the JSON body, which
// next still reads whole.
func (s *Stack) recording(logicalID string, next http.Handler, calls func(op string, body []byte) []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		target := r.Header.Get("X-Amz-Target")
		op := target[strings.LastIndexByte(target, '.')+1:]
		for _, call := range calls(op, body) {
			s.record(logicalID, call)
		}
		next.ServeHTTP(w, r)
	})
}

// recordDynamoDB is a reverse proxy to DynamoDB Local that notes each
// operation and the table or index it names.
func (s *Stack) recordDynamoDB(logicalID string) http.Handler {
	target, _ := url.Parse(s.DynamoDB.Endpoint)
	resource := func(table, index string) string {
		res := "table/" + table
		for id, name := range s.Tables {
			if table == name {
				res = "${" + id + ".Arn}"
			}
		}
		if index != "" {
			res += "/index/" + index
		}
		return res
	}
	// IAM authorises each item of a transaction by its action: a Put needs
	// dynamodb:PutItem on its table, and so on.
	actions := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
	return s.recording(logicalID, httputil.NewSingleHostReverseProxy(target), func(op string, body []byte) []string {
		var in struct {
			TableName, IndexName string
			TransactItems        []map[string]struct{ TableName string }
		}
		_ = json.Unmarshal(body, &in)
		if op != "TransactWriteItems" {
			return []string{"dynamodb:" + op + " " + resource(in.TableName, in.IndexName)}
		}
		var calls []string
		for _, item := range in.TransactItems {
			for kind, target := range item {
				calls = append(calls, "dynamodb:"+actions[kind]+" "+resource(target.TableName, ""))
			}
		}
		return calls
	})
}

// recordSecrets serves the Secrets Manager simulator, noting each operation
// and the secret it names.
func (s *Stack) recordSecrets(logicalID string) http.Handler {
	return s.recording(logicalID, s.Secrets, func(op string, body []byte) []string {
		var in struct{ SecretId string }
		_ = json.Unmarshal(body, &in)
		res := "secret/" + in.SecretId
		for id, arn := range s.SecretARNs {
			if in.SecretId == arn {
				res = "${" + id + "}"
			}
		}
		return []string{"secretsmanager:" + op + " " + res}
	})
}

// recordEvents serves the EventBridge simulator, noting the bus each
// PutEvents entry names, or the rule another operation names.
func (s *Stack) recordEvents(logicalID string) http.Handler {
	return s.recording(logicalID, s.Events, func(op string, body []byte) []string {
		var in struct {
			Name    string
			Entries []struct{ EventBusName string }
		}
		_ = json.Unmarshal(body, &in)
		var calls []string
		for _, e := range in.Entries {
			res := "event-bus/" + e.EventBusName
			for id, name := range s.Buses {
				if e.EventBusName == name || strings.HasSuffix(e.EventBusName, "/"+name) {
					res = "${" + id + ".Arn}"
				}
			}
			calls = append(calls, "events:"+op+" "+res)
		}
		if in.Name != "" {
			// DescribeRule and its kind name a rule, not a bus; the
			// rule's logical ID stands in for its name.
			calls = append(calls, "events:"+op+" ${"+in.Name+".Arn}")
		}
		return calls
	})
}

// recordOther answers the calls to AWS services the stack does not
// simulate with an error, noting the operation.
func (s *Stack) recordOther(logicalID string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := cmp.Or(r.Header.Get("X-Amz-Target"), r.Method+" "+r.Host+r.URL.Path)
		s.record(logicalID, "unsimulated:"+op+" *")
		simkit.WriteAWSError(w, http.StatusBadRequest, "UnknownOperationException", "not simulated by infra/e2e/binaries")
	})
}

// FunctionFor returns the logical ID of the function an events/ file is
// for: the template route named by an HTTP event's routeKey, the scheduled
// function for an EventBridge scheduled event, and otherwise (an event for
// a function invoked directly) the function the file name starts with:
// doctor-report.json is for DoctorFunction.
func (s *Stack) FunctionFor(file string, event []byte) (string, error) {
	var ev struct {
		RouteKey   string   `json:"routeKey"`
		Source     string   `json:"source"`
		DetailType string   `json:"detail-type"`
		Resources  []string `json:"resources"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		return "", fmt.Errorf("binaries: %s is not JSON: %w", file, err)
	}
	switch {
	case ev.RouteKey != "":
		for _, r := range s.Template.Routes() {
			if r.Key() == ev.RouteKey {
				return r.Function, nil
			}
		}
		return "", fmt.Errorf("binaries: %s: no template route %q", file, ev.RouteKey)
	case ev.Source == "aws.events" && ev.DetailType == "Scheduled Event":
		scheds := s.Template.Schedules()
		for _, sc := range scheds {
			for _, res := range ev.Resources {
				if strings.Contains(res, sc.Function) {
					return sc.Function, nil
				}
			}
		}
		if len(scheds) == 1 {
			return scheds[0].Function, nil
		}
		return "", fmt.Errorf("binaries: %s: cannot tell which scheduled function it is for", file)
	}
	prefix, _, _ := strings.Cut(filepath.Base(file), "-")
	id := LogicalID(strings.TrimSuffix(prefix, ".json"))
	if slices.Contains(s.Template.Functions(), id) {
		return id, nil
	}
	return "", fmt.Errorf("binaries: %s is neither an HTTP API nor a scheduled event, and no function %s is in the template", file, id)
}

// PrepareEvent returns event with the placeholders in its body replaced:
// CodePlaceholder by a fresh code, issued by the Meta simulator for the
// WABA, business and phone number the body names, and SessionPlaceholder by
// a session token for the body's client_ref. Other events come back as
// they are.
func (s *Stack) PrepareEvent(ctx context.Context, event []byte) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("binaries: event is not JSON: %w", err)
	}
	body, ok := ev["body"].(string)
	if !ok {
		return event, nil
	}
	b64, _ := ev["isBase64Encoded"].(bool)
	if b64 {
		raw, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return event, nil // the function's own answer is what is tested
		}
		body = string(raw)
	}
	if !strings.Contains(body, CodePlaceholder) && !strings.Contains(body, SessionPlaceholder) {
		return event, nil
	}
	var fields map[string]any
	_ = json.Unmarshal([]byte(body), &fields)
	str := func(k string) string { v, _ := fields[k].(string); return v }
	if strings.Contains(body, SessionPlaceholder) {
		keys, err := session.ParseKeyset(s.SecretValues[infrastack.SessionKeysSecretID])
		if err != nil {
			return nil, fmt.Errorf("binaries: the event asks for %s: %s: %w", SessionPlaceholder, infrastack.SessionKeysSecretID, err)
		}
		ref := cmp.Or(str("client_ref"), "customer-rie")
		m := &session.Minter{Keys: session.StaticKeys(keys)}
		iss, err := m.Mint(ctx, ref, 0)
		if err != nil {
			return nil, fmt.Errorf("binaries: mint a session for %q: %w", ref, err)
		}
		body = strings.ReplaceAll(body, SessionPlaceholder, iss.Token)
	}
	if strings.Contains(body, CodePlaceholder) {
		grant := metasim.Grant{WABAID: str("waba_id"), BusinessID: cmp.Or(str("business_id"), BusinessID)}
		if p := str("phone_number_id"); p != "" {
			grant.PhoneNumbers = []metasim.PhoneNumber{{ID: p, DisplayPhoneNumber: "+1 555-010-" + p[max(0, len(p)-4):], VerifiedName: "Customer " + grant.WABAID}}
		}
		body = strings.ReplaceAll(body, CodePlaceholder, s.Meta.IssueCode(grant))
	}
	if b64 {
		ev["body"] = base64.StdEncoding.EncodeToString([]byte(body))
	} else {
		ev["body"] = body
	}
	if h, ok := ev["headers"].(map[string]any); ok {
		if _, ok := h["content-length"]; ok {
			h["content-length"] = strconv.Itoa(len(body))
		}
	}
	return json.Marshal(ev)
}
