// Package canaries runs full onboardings through the real function
// binaries (built as they deploy, run under the Lambda Runtime Interface
// Emulator with template.yaml's environment) against DynamoDB Local and the
// Meta, Plivo and Secrets Manager simulators, all holding canary secret
// values. It then searches the functions' logs, their answers and every item
// of every table for every secret of the flow: the canaries, the
// authorization codes, the business tokens, appsecret_proof, the Plivo
// Basic credentials, the session key and the session tokens. None may
// appear anywhere.
package canaries_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	infrastack "github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/config"
)

func TestMain(m *testing.M) { testenv.MustDynamoDB(m) }

// Canary secret values: distinctive, so that a leak shows in a plain search.
const (
	canaryAppSecret  = "CANARY-APP-SECRET-7f3a"
	canaryPlivoToken = "CANARY-PLIVO-TOKEN-41c9"
	// canarySessionKey is 64 alphanumerics, which the session package reads
	// as base64 (48 bytes), as the template's GenerateSecretString makes.
	canarySessionKey = "CANARYSESSIONKEY9b2dQw7Xr4Tn8Lp3Vz6Hs1Jk5Mf0Gc2Yb7Nd4Rt9Wq3Ex6Ua"
	metaAppID        = "100000000000001"
	plivoAuthID      = "MACANARYACCOUNT00001"
	businessID       = "101000000000001"
	clientRef        = "customer-canary-1"
)

// stack is the canary environment: simulators, tables, and the functions'
// environments as template.yaml gives them, pointed at the stand-ins.
type stack struct {
	meta    *metasim.Server
	plivo   *plivosim.Server
	tables  map[string]string // logical ID -> local table
	env     map[string][]string
	timeout map[string]int
	client  *dynamodb.Client
}

func startStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{env: map[string][]string{}, timeout: map[string]int{}}
	s.client = testenv.DynamoClient("")
	tpl, err := sam.Load(filepath.Join(testenv.RepoRoot(), "template.yaml"),
		sam.WithParameters(map[string]string{"MetaAppId": metaAppID, "MetaConfigId": "100000000000002", "PlivoSolutionId": "300000000000003"}))
	if err != nil {
		t.Fatal(err)
	}
	// The template's tables and secrets, the secrets holding the canaries.
	res, err := infrastack.StartResources(context.Background(), tpl, testenv.SharedDynamoDB(), infrastack.ResourceOptions{
		TablePrefix: testenv.UniqueTableName(t) + "-",
		Dynamo:      s.client,
		Credentials: infrastack.Credentials{MetaAppID: metaAppID, MetaAppSecret: canaryAppSecret, PlivoAuthID: plivoAuthID, PlivoAuthToken: canaryPlivoToken},
		SecretValues: map[string]string{
			"SessionKeysSecret": `{"keys":[{"id":"canary","secret":"` + canarySessionKey + `","primary":true}]}`,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Close() })
	s.meta, s.plivo, s.tables = res.Meta, res.Plivo, res.Tables

	for _, fn := range []string{"SessionsFunction", "SignupFunction"} {
		f, err := tpl.Function(fn)
		if err != nil {
			t.Fatal(err)
		}
		env, err := res.Environment(fn)
		if err != nil {
			t.Fatal(err)
		}
		// Whatever a function can log, it logs at DEBUG.
		env[config.EnvLogLevel] = "DEBUG"
		vars := append(testenv.SharedDynamoDB().Environ(), "AWS_ENDPOINT_URL_SECRETS_MANAGER="+res.SecretsURL,
			"AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(f.Timeout), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(f.MemorySize))
		for _, k := range slices.Sorted(maps.Keys(env)) {
			vars = append(vars, k+"="+env[k])
		}
		s.env[fn] = vars
	}
	return s
}

// function is one binary under the emulator.
type function struct {
	rie *testenv.RIE
}

func (s *stack) start(t *testing.T, logicalID, dir string) *function {
	t.Helper()
	bin, err := testenv.BuildFunction(context.Background(), dir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rie, err := testenv.StartRIE(context.Background(), bin, s.env[logicalID])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rie.Stop)
	return &function{rie: rie}
}

// invoke sends one HTTP API event and returns the answer, raw and decoded.
func (f *function) invoke(t *testing.T, ev events.APIGatewayV2HTTPRequest) (string, events.APIGatewayV2HTTPResponse) {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.rie.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &resp); err != nil || resp.StatusCode == 0 {
		t.Fatalf("not an HTTP answer: %s", raw)
	}
	return string(raw), resp
}

func httpEvent(routeKey, body, requestID string) events.APIGatewayV2HTTPRequest {
	method, path, _ := strings.Cut(routeKey, " ")
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: routeKey, RawPath: path, Body: body,
		Headers: map[string]string{"content-type": "application/json", "host": "canary.execute-api.us-east-1.amazonaws.com"}}
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.HTTP.Path = path
	ev.RequestContext.RequestID = requestID
	ev.RequestContext.DomainName = "canary.execute-api.us-east-1.amazonaws.com"
	ev.RequestContext.Stage = "$default"
	return ev
}

func signupBody(code, waba, phone, session string) string {
	b, _ := json.Marshal(map[string]string{"code": code, "waba_id": waba, "phone_number_id": phone, "business_id": businessID, "session": session})
	return string(b)
}

func grant(waba, phone string) metasim.Grant {
	return metasim.Grant{WABAID: waba, BusinessID: businessID,
		PhoneNumbers: []metasim.PhoneNumber{{ID: phone, DisplayPhoneNumber: "+1 555-010-" + phone[len(phone)-4:], VerifiedName: "Canary Co"}}}
}

func errorCode(t *testing.T, resp events.APIGatewayV2HTTPResponse) string {
	t.Helper()
	var eb apigw.ErrorBody
	_ = json.Unmarshal([]byte(resp.Body), &eb)
	return string(eb.Error.Code)
}

// TestNoSecretLeaks is the canary check. The flow: the Tech Provider's
// backend gets a link (sessions function, IAM caller); the customer's
// signup with it onboards; a retry of the same WABA is answered; the token
// is refused for another WABA, tampered or missing; a second link's signup
// meets a spent code and Meta's refusal.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	sessions := s.start(t, "SessionsFunction", "sessions")
	signup := s.start(t, "SignupFunction", "signup")

	var answers []string // every signup answer, whole
	var sessionAnswers []string
	var tokens, codes []string

	newLink := func(rid string) string {
		ev := httpEvent("POST "+apigw.SessionsPath, `{"client_ref":"`+clientRef+`"}`, rid)
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{AccountID: "111122223333",
				UserARN: "arn:aws:sts::111122223333:assumed-role/provider-backend/canary"}}
		raw, resp := sessions.invoke(t, ev)
		sessionAnswers = append(sessionAnswers, raw)
		if resp.StatusCode != 201 {
			t.Fatalf("sessions answered %d: %s", resp.StatusCode, resp.Body)
		}
		var ans apigw.SessionAnswer
		if err := json.Unmarshal([]byte(resp.Body), &ans); err != nil || ans.Token == "" {
			t.Fatalf("sessions answer %s", resp.Body)
		}
		if !strings.HasPrefix(ans.URL, "https://canary.execute-api.us-east-1.amazonaws.com/?session=") {
			t.Fatalf("link %s", ans.URL)
		}
		tokens = append(tokens, ans.Token)
		return ans.Token
	}
	issue := func(waba, phone string) string {
		c := s.meta.IssueCode(grant(waba, phone))
		codes = append(codes, c)
		return c
	}
	const waba, phone = "104000000000001", "105000000000001"
	token := newLink("rid-link-1")
	steps := []struct {
		name       string
		body       func() string
		wantStatus int
		wantCode   string
	}{
		{"onboard", func() string { return signupBody(issue(waba, phone), waba, phone, token) }, 200, ""},
		{"retry of the same WABA", func() string { return signupBody(issue(waba, phone), waba, phone, token) }, 200, ""},
		{"same token, another WABA", func() string {
			return signupBody(issue("104000000000002", "105000000000002"), "104000000000002", "105000000000002", token)
		}, 401, "session_used"},
		{"tampered token", func() string {
			bad := token[:len(token)-4] + "AAAA"
			tokens = append(tokens, bad)
			return signupBody(issue(waba, phone), waba, phone, bad)
		}, 401, "session_invalid"},
		{"no token", func() string { return signupBody(issue(waba, phone), waba, phone, "") }, 401, "session_missing"},
		{"spent code", func() string {
			return signupBody(codes[0], "104000000000003", "105000000000003", newLink("rid-link-2"))
		}, 422, "meta_rejected"},
	}
	for i, st := range steps {
		raw, resp := signup.invoke(t, httpEvent("POST /api/whatsapp/embedded-signup", st.body(), "rid-signup-"+strconv.Itoa(i)))
		answers = append(answers, raw)
		if resp.StatusCode != st.wantStatus || errorCode(t, resp) != st.wantCode {
			t.Fatalf("%s: answered %d %s, want %d %s: %s", st.name, resp.StatusCode, errorCode(t, resp), st.wantStatus, st.wantCode, resp.Body)
		}
	}
	if su, ok := s.plivo.Onboarded(waba); !ok || su.ClientRef != clientRef {
		t.Fatalf("Plivo onboarded %+v (%t), want client_ref %s from the token", su, ok, clientRef)
	}

	// Every Graph call made with the business token proves the app secret
	// and carries the token in a header, never in a URL.
	business := 0
	for _, r := range s.meta.Requests() {
		if r.Endpoint != metasim.EndpointPhoneNumbers && r.Endpoint != metasim.EndpointOwner {
			continue
		}
		business++
		if !r.HasQueryKey("appsecret_proof") || r.TokenIn != "header" || r.HasQueryKey("access_token") {
			t.Errorf("business-token call %s %s: query %v, token in %q", r.Method, r.Path, r.QueryKeys, r.TokenIn)
		}
	}
	if business == 0 {
		t.Error("no business-token Graph call was made")
	}

	signup.rie.Stop()
	sessions.rie.Stop()
	logs := readFile(t, signup.rie.LogPath) + readFile(t, sessions.rie.LogPath)
	t.Logf("function logs: %s %s", signup.rie.LogPath, sessions.rie.LogPath)
	items := scanAll(t, s)

	// Not vacuous: the logs and tables hold what the flow did.
	for _, want := range []string{`"msg":"onboarding session issued"`, `"msg":"session spent"`, `"msg":"signup onboarded"`,
		`"error_code":"session_used"`, `"msg":"session reused for a retry of the same signup"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s; log capture is broken:\n%s", want, logs)
		}
	}
	if !strings.Contains(items, `"session#`) || !strings.Contains(items, waba) || !strings.Contains(items, clientRef) {
		t.Errorf("tables lack the spent session or the record:\n%s", items)
	}

	where := map[string]string{"logs": logs, "signup answers": strings.Join(answers, "\n"), "tables": items,
		"sessions answers": strings.Join(sessionAnswers, "\n")}
	for _, leak := range leaks(where, secretsOfFlow(codes, tokens)) {
		t.Error(leak)
	}
}

// secret is one kind of secret: exact values, or a pattern.
type secret struct {
	values  []string
	pattern *regexp.Regexp
	// skip lists the places where it is expected.
	skip []string
}

// secretsOfFlow lists what must never be logged, answered or stored.
func secretsOfFlow(codes, tokens []string) map[string]secret {
	keyBytes, _ := base64.StdEncoding.DecodeString(canarySessionKey)
	return map[string]secret{
		"canary app secret":   {values: []string{canaryAppSecret}},
		"canary Plivo token":  {values: []string{canaryPlivoToken, base64.StdEncoding.EncodeToString([]byte(plivoAuthID + ":" + canaryPlivoToken))}},
		"session signing key": {values: []string{canarySessionKey, hex.EncodeToString(keyBytes), base64.StdEncoding.EncodeToString(keyBytes), base64.RawURLEncoding.EncodeToString(keyBytes)}},
		"app access token":    {values: []string{metaAppID + "|"}},
		"authorization code":  {values: codes},
		// The link is the very point of the sessions function's answer.
		"session token":     {values: tokens, skip: []string{"sessions answers"}},
		"session signature": {values: signatures(tokens), skip: []string{"sessions answers"}},
		"business token":    {pattern: regexp.MustCompile(`EAA[A-Z2-7]{26,}`)},
		// Tables hold payload hashes, which are 64 hex digits too.
		"appsecret_proof": {pattern: regexp.MustCompile(`\b[0-9a-f]{64}\b`), skip: []string{"tables"}},
	}
}

// leaks reports every secret found in every place, masked.
func leaks(where map[string]string, secrets map[string]secret) []string {
	var out []string
	for _, place := range slices.Sorted(maps.Keys(where)) {
		text := where[place]
		for _, what := range slices.Sorted(maps.Keys(secrets)) {
			sec := secrets[what]
			if slices.Contains(sec.skip, place) {
				continue
			}
			for _, v := range sec.values {
				if v != "" && strings.Contains(text, v) {
					out = append(out, fmt.Sprintf("%s: the %s appears: %s", place, what, around(text, v)))
				}
			}
			if sec.pattern != nil {
				if m := sec.pattern.FindString(text); m != "" {
					out = append(out, fmt.Sprintf("%s: a %s appears: %s", place, what, around(text, m)))
				}
			}
		}
	}
	return out
}

// TestLeaksCatchesPlantedSecrets keeps the canary check honest: each kind of
// secret planted in a log line is reported, and only where it is forbidden.
func TestLeaksCatchesPlantedSecrets(t *testing.T) {
	t.Parallel()
	secrets := secretsOfFlow([]string{"AQcode123"}, []string{"v1.k.payload.SIGNATURE"})
	keyBytes, _ := base64.StdEncoding.DecodeString(canarySessionKey)
	tests := []struct {
		place, text, want string
	}{
		{"logs", `{"msg":"x","error":"secret CANARY-APP-SECRET-7f3a"}`, "canary app secret"},
		{"logs", `Authorization: Basic ` + base64.StdEncoding.EncodeToString([]byte(plivoAuthID+":"+canaryPlivoToken)), "canary Plivo token"},
		{"logs", `key=` + hex.EncodeToString(keyBytes), "session signing key"},
		{"tables", `{"code":"AQcode123"}`, "authorization code"},
		{"signup answers", `{"sig":"SIGNATURE"}`, "session signature"},
		{"logs", `GET /debug_token?access_token=` + metaAppID + `|x`, "app access token"},
		{"tables", `{"t":"EAAABCDEFGHIJKLMNOPQRSTUVWXYZ234567"}`, "business token"},
		{"logs", `proof=` + strings.Repeat("ab", 32), "appsecret_proof"},
		{"sessions answers", `{"token":"v1.k.payload.SIGNATURE"}`, ""},
		{"tables", `{"payload_hash":"` + strings.Repeat("ab", 32) + `"}`, ""},
	}
	for _, tt := range tests {
		got := strings.Join(leaks(map[string]string{tt.place: tt.text}, secrets), "\n")
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, "the "+tt.want) && !strings.Contains(got, "a "+tt.want) {
			t.Errorf("%s %q: reported %q, want %q", tt.place, tt.text, got, tt.want)
		}
		if strings.Contains(got, canaryAppSecret) {
			t.Errorf("the report prints the secret: %s", got)
		}
	}
}

// signatures returns each token's signature part.
func signatures(tokens []string) []string {
	var out []string
	for _, tok := range tokens {
		if i := strings.LastIndexByte(tok, '.'); i >= 0 {
			out = append(out, tok[i+1:])
		}
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// scanAll returns every item of every table as JSON, one per line.
func scanAll(t *testing.T, s *stack) string {
	t.Helper()
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(s.tables)) {
		p := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{TableName: aws.String(s.tables[id]), ConsistentRead: aws.Bool(true)})
		for p.HasMorePages() {
			out, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range out.Items {
				j, _ := json.Marshal(it)
				fmt.Fprintf(&b, "%s %s\n", id, j)
			}
		}
	}
	return b.String()
}

// around shows where v sits in text, masked, so a failing test does not
// print the secret in full.
func around(text, v string) string {
	i := strings.Index(text, v)
	if i < 0 {
		return ""
	}
	start, end := max(0, i-80), min(len(text), i+len(v)+40)
	return strings.ReplaceAll(text[start:end], v, "<"+strconv.Itoa(len(v))+" chars>")
}
