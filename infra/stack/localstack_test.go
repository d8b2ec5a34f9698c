package stack_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/infra/sim/secretsmanagersim"
	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/page"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// env is a Getenv over a map, so a test runs the same whatever the
// developer's shell exports.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func call(t *testing.T, method, url, contentType, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func decode(t *testing.T, a answer, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body %s: %v", a.body, err)
	}
}

// TestSandbox runs a whole signup over HTTP against the stack: page,
// simulators, signup and status functions, DynamoDB Local, resume ticker.
func TestSandbox(t *testing.T) {
	ctx := context.Background()
	_, hadTable := os.LookupEnv(config.EnvTableName)
	st, err := stack.Start(ctx, stack.Options{Getenv: env(nil), Log: quiet, ResumeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if _, has := os.LookupEnv(config.EnvTableName); has != hadTable {
			t.Errorf("Close left %s set=%v, was %v", config.EnvTableName, has, hadTable)
		}
	}()

	if !st.Sandbox || st.Meta == nil || st.Plivo == nil || st.Secrets == nil || st.DynamoDBEndpoint == "" {
		t.Fatalf("stack %+v is not a full sandbox", st)
	}
	if st.TableName != testenv.SignupTableID || st.Tables["DedupTable"] == "" {
		t.Errorf("tables %q %v", st.TableName, st.Tables)
	}

	t.Run("page", func(t *testing.T) {
		a := call(t, "GET", st.URL+"/", "", "")
		if a.status != 200 || !strings.Contains(string(a.body), "Connect WhatsApp") {
			t.Fatalf("GET / = %d", a.status)
		}
		// The simulated SDK comes from the stack's second origin, as Meta's
		// from connect.facebook.net: its script and frame, nothing else.
		sdk := st.Env[page.EnvSandboxSDKOrigin]
		if csp := a.header.Get("Content-Security-Policy"); sdk == "" || sdk == st.URL ||
			!strings.Contains(csp, "script-src 'self' "+sdk+";") || !strings.Contains(csp, "frame-src "+sdk+";") {
			t.Errorf("sandbox CSP %q, SDK origin %q", csp, sdk)
		}
		relay := call(t, "GET", sdk+page.SandboxRelayPath, "", "")
		if relay.status != 200 || !strings.Contains(relay.header.Get("Content-Security-Policy"), "frame-ancestors "+st.URL) ||
			relay.header.Get("X-Frame-Options") != "" {
			t.Errorf("relay on the SDK origin: %d, framing policy %q", relay.status, relay.header.Get("Content-Security-Policy"))
		}
		if a := call(t, "GET", sdk+"/api/whatsapp/embedded-signup/1", "", ""); a.status != 404 {
			t.Errorf("the SDK origin serves the API: %d", a.status)
		}
		if a.header.Get("Apigw-Requestid") == "" {
			t.Error("no Apigw-Requestid: the answer did not go through the API Gateway stand-in")
		}
		if a := call(t, "GET", st.URL+page.SandboxSDKPath, "", ""); a.status != 200 {
			t.Errorf("sandbox SDK = %d", a.status)
		}
	})

	t.Run("unknown route", func(t *testing.T) {
		a := call(t, "GET", st.URL+"/nowhere", "", "")
		if a.status != 404 || string(a.body) != `{"message":"Not Found"}` {
			t.Errorf("GET /nowhere = %d %s", a.status, a.body)
		}
	})

	t.Run("sessions route needs IAM", func(t *testing.T) {
		a := call(t, "POST", st.URL+"/api/onboarding-sessions", "application/json", `{"client_ref":"x"}`)
		if a.status != http.StatusForbidden {
			t.Errorf("unsigned POST /api/onboarding-sessions = %d %s", a.status, a.body)
		}
	})

	signup := func(t *testing.T, waba, phone string) answer {
		t.Helper()
		grant, _ := json.Marshal(metasim.Grant{WABAID: waba, BusinessID: "300000000000003",
			PhoneNumbers: []metasim.PhoneNumber{{ID: phone, DisplayPhoneNumber: "+1 555-010-0000"}}})
		var code struct{ Code string }
		decode(t, call(t, "POST", st.URL+"/_sim/meta/codes", "application/json", string(grant)), &code)
		var sess struct{ Token string }
		decode(t, call(t, "POST", st.URL+"/_sim/local/session", "", ""), &sess)
		body, _ := json.Marshal(map[string]string{"code": code.Code, "waba_id": waba, "phone_number_id": phone,
			"business_id": "300000000000003", "session": sess.Token})
		return call(t, "POST", st.URL+"/api/whatsapp/embedded-signup", "application/json", string(body))
	}

	t.Run("signup onboards and is stored", func(t *testing.T) {
		a := signup(t, "100000000000010", "200000000000010")
		if a.status != 200 {
			t.Fatalf("signup = %d %s", a.status, a.body)
		}
		if st := stateIn(t, st, "100000000000010"); st != "onboarded" {
			t.Errorf("DynamoDB state %q", st)
		}
		var status struct{ Record struct{ State string } }
		decode(t, call(t, "GET", st.URL+"/api/whatsapp/embedded-signup/100000000000010", "", ""), &status)
		if status.Record.State != "onboarded" {
			t.Errorf("status route state %q", status.Record.State)
		}
	})

	t.Run("plivo failure is resumed", func(t *testing.T) {
		st.Plivo.FailNext(plivosim.RouteSignup, 2, plivosim.KindInternal)
		a := signup(t, "100000000000020", "200000000000020")
		if a.status != http.StatusAccepted {
			t.Fatalf("signup = %d %s, want 202 pending", a.status, a.body)
		}
		deadline := time.Now().Add(30 * time.Second)
		for stateIn(t, st, "100000000000020") != "onboarded" {
			if time.Now().After(deadline) {
				t.Fatal("the resume function never onboarded the pending signup")
			}
			// The local retry delay is seconds; run the schedule until due.
			if a := call(t, "POST", st.URL+"/_sim/local/resume", "", ""); a.status != http.StatusNoContent {
				t.Fatalf("resume = %d %s", a.status, a.body)
			}
			time.Sleep(250 * time.Millisecond)
		}
	})

	t.Run("meta code spent", func(t *testing.T) {
		grant, _ := json.Marshal(metasim.Grant{WABAID: "100000000000030", BusinessID: "300000000000003"})
		var code struct{ Code string }
		decode(t, call(t, "POST", st.URL+"/_sim/meta/codes", "application/json", string(grant)), &code)
		if a := call(t, "POST", st.URL+"/_sim/local/meta/spend", "application/json", `{"code":"`+code.Code+`"}`); a.status != http.StatusNoContent {
			t.Fatalf("spend = %d %s", a.status, a.body)
		}
		if a := call(t, "POST", st.URL+"/_sim/local/meta/spend", "application/json", `{"code":"`+code.Code+`"}`); a.status == http.StatusNoContent {
			t.Error("a code was spent twice")
		}
	})
}

func stateIn(t *testing.T, st *stack.Stack, waba string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := st.DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.TableName),
		Key:            map[string]types.AttributeValue{"waba_id": &types.AttributeValueMemberS{Value: waba}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := out.Item["state"].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// TestRealMode: outside sandbox mode the stack needs the real settings, and
// serves nothing simulated.
func TestRealMode(t *testing.T) {
	ctx := context.Background()

	t.Run("missing settings are named", func(t *testing.T) {
		_, err := stack.Start(ctx, stack.Options{Getenv: env(map[string]string{"SANDBOX": "false"}), Log: quiet})
		if err == nil {
			t.Fatal("started without Meta settings")
		}
		for _, name := range []string{"META_APP_ID", "META_CONFIG_ID", "META_SECRET_ID", "PLIVO_SECRET_ID"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name %s", err, name)
			}
		}
	})

	t.Run("half the tables", func(t *testing.T) {
		_, err := stack.Start(ctx, stack.Options{Getenv: env(map[string]string{"TABLE_NAME": "mine"}), Log: quiet})
		if err == nil || !strings.Contains(err.Error(), "DEDUP_TABLE_NAME") {
			t.Fatalf("err = %v, want one naming DEDUP_TABLE_NAME", err)
		}
	})

	t.Run("nothing simulated is served", func(t *testing.T) {
		// The user's own Secrets Manager endpoint stands in for AWS.
		sm := secretsmanagersim.New()
		srv := &http.Server{Handler: sm}
		ln := listenLocal(t)
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		settings := map[string]string{
			"SANDBOX":                          "false",
			"META_APP_ID":                      "123456789012345",
			"META_CONFIG_ID":                   "223456789012345",
			"PLIVO_SOLUTION_ID":                "323456789012345",
			"META_SECRET_ID":                   "prod/meta-app",
			"PLIVO_SECRET_ID":                  "prod/plivo",
			"SESSION_SECRET_ID":                "prod/session-keys",
			"META_VERIFY_TOKEN_SECRET_ID":      "prod/meta-verify-token",
			"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://" + ln.Addr().String(),
		}
		st, err := stack.Start(ctx, stack.Options{Getenv: env(settings), Log: quiet, ResumeEvery: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if st.Sandbox || st.Meta != nil || st.Plivo != nil {
			t.Fatalf("real mode started simulators: %+v", st)
		}
		if got := os.Getenv("META_GRAPH_URL"); got != "" && got != config.DefaultGraphURL {
			t.Errorf("META_GRAPH_URL = %q, want the default (graph.facebook.com)", got)
		}
		for _, p := range []string{"/_sim/meta/codes", "/_sim/local/session", page.SandboxSDKPath} {
			if a := call(t, "POST", st.URL+p, "application/json", "{}"); a.status != 404 {
				t.Errorf("POST %s = %d, want 404", p, a.status)
			}
		}
		a := call(t, "GET", st.URL+"/", "", "")
		if a.status != 200 || !strings.Contains(string(a.body), `data-sdk-url="`+page.SDKURL+`"`) ||
			!strings.Contains(string(a.body), `data-app-id="123456789012345"`) {
			t.Errorf("real page = %d, want Meta's SDK and the app ID", a.status)
		}
	})
}

func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
