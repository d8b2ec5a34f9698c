package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/infra/sim/secretsmanagersim"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/doctor"
	"github.com/techprovider/wa-onboarding/shared/meta"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

func TestMain(m *testing.M) { testenv.MustDynamoDB(m) }

const (
	appID     = "100000000000001"
	appSecret = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	configID  = "200000000000002"
	authID    = "MADOCTORTEST00000001"
	authToken = "doctor-test-auth-token-0123456789"
	metaID    = "wa-test/meta-app"
	plivoID   = "wa-test/plivo"
	ruleName  = "wa-test-ResumeFunctionSchedule-1ABC"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// backups stands in for DescribeContinuousBackups, which DynamoDB Local
// does not implement; DescribeTable is DynamoDB Local's.
type backups struct {
	doctor.TableAPI
	status types.PointInTimeRecoveryStatus
}

func (b *backups) DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error) {
	if _, err := b.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}); err != nil {
		return nil, err
	}
	return &dynamodb.DescribeContinuousBackupsOutput{ContinuousBackupsDescription: &types.ContinuousBackupsDescription{
		ContinuousBackupsStatus:        types.ContinuousBackupsStatusEnabled,
		PointInTimeRecoveryDescription: &types.PointInTimeRecoveryDescription{PointInTimeRecoveryStatus: b.status},
	}}, nil
}

// rules is a fake EventBridge with one rule.
type rules struct {
	name  string
	state ebtypes.RuleState
}

func (r *rules) DescribeRule(_ context.Context, in *eventbridge.DescribeRuleInput, _ ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error) {
	if aws.ToString(in.Name) != r.name {
		return nil, &ebtypes.ResourceNotFoundException{Message: aws.String("Rule " + aws.ToString(in.Name) + " does not exist.")}
	}
	return &eventbridge.DescribeRuleOutput{Name: in.Name, State: r.state, ScheduleExpression: aws.String("rate(1 minute)")}, nil
}

// fixture is a healthy deployment: simulated Secrets Manager, Plivo and
// Meta over HTTP, the table in DynamoDB Local.
type fixture struct {
	doc     *doctor.Doctor
	secrets *secretsmanagersim.Server
	plivo   *plivosim.Server
	backups *backups
	rules   *rules
	ddb     *dynamodb.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		secrets: secretsmanagersim.New(),
		plivo:   plivosim.New(plivosim.Config{AuthID: authID, AuthToken: authToken}),
		rules:   &rules{name: ruleName, state: ebtypes.RuleStateEnabled},
		ddb:     testenv.DynamoClient(""),
	}
	metaSim := metasim.New(metasim.Config{AppID: appID, AppSecret: appSecret})
	servers := map[string]*httptest.Server{
		"secrets": httptest.NewServer(f.secrets),
		"plivo":   httptest.NewServer(f.plivo.Handler()),
		"meta":    httptest.NewServer(metaSim.Handler()),
	}
	for _, s := range servers {
		t.Cleanup(s.Close)
	}
	f.secrets.Put(metaID, `{"app_id":"`+appID+`","app_secret":"`+appSecret+`"}`)
	f.secrets.Put(plivoID, `{"auth_id":"`+authID+`","auth_token":"`+authToken+`"}`)
	table := testenv.MustCreateTable(t, f.ddb, "SignupTable")
	f.backups = &backups{TableAPI: f.ddb, status: types.PointInTimeRecoveryStatusEnabled}
	sm := secretsmanager.NewFromConfig(aws.Config{
		Region:      testenv.Region,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(servers["secrets"].URL) })
	f.doc = &doctor.Doctor{
		Settings: doctor.Settings{
			Target:       "test",
			MetaSecretID: metaID, PlivoSecretID: plivoID,
			GraphVersion: "v25.0", MetaAppID: appID, MetaConfigID: configID, PlivoSolutionID: "555000111222333",
			TableName: table, ResumeRuleName: ruleName,
			PageURL:        "https://onboarding.example.com/",
			AllowedOrigins: []string{"https://app.example.com"},
		},
		Secrets: sm,
		Table:   f.backups,
		Rules:   f.rules,
		Plivo: func(c secrets.PlivoCredentials) doctor.PlivoAccount {
			return plivo.New(plivo.Config{BaseURL: servers["plivo"].URL, Credentials: func(context.Context, bool) (secrets.PlivoCredentials, error) { return c, nil }})
		},
		Meta: func(a secrets.MetaApp) doctor.MetaTokens {
			return meta.New(meta.Config{BaseURL: servers["meta"].URL, Version: "v25.0", MaxAttempts: 1,
				App: func(context.Context, bool) (secrets.MetaApp, error) { return a, nil }})
		},
		Now:          func() time.Time { return now },
		CheckTimeout: 5 * time.Second,
	}
	return f
}

func TestHealthyDeploymentPasses(t *testing.T) {
	t.Parallel()
	rep := newFixture(t).doc.Run(context.Background())
	if !rep.OK || rep.ExitCode() != 0 || rep.Failed != 0 || rep.Warnings != 0 || rep.Skipped != 0 {
		var b bytes.Buffer
		_ = rep.WriteText(&b)
		t.Fatalf("healthy deployment did not pass:\n%s", b.String())
	}
	want := []string{"secret.meta", "secret.plivo", "plivo.credentials", "meta.credentials", "meta.settings",
		"meta.graph_version", "meta.es_version", "page.solution_id", "table.schema", "table.pitr", "schedule.resume", "page.origin", "page.allowed_origins"}
	for _, id := range want {
		if c, ok := rep.Result(id); !ok || c.Status != doctor.StatusPass {
			t.Errorf("%s = %+v, want pass", id, c)
		}
	}
	if rep.Passed != len(want) {
		t.Errorf("passed = %d, want %d", rep.Passed, len(want))
	}
	for _, c := range rep.Checks {
		if c.Status == doctor.StatusManual && c.Next == "" {
			t.Errorf("manual item %s has no next step", c.ID)
		}
	}
}

func TestBrokenDeploymentNamesEachFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		breakIt func(f *fixture)
		failed  string // the check that must fail
		detail  string // in its detail
		next    string // in its next step
		skipped []string
	}{
		{"placeholder plivo secret", func(f *fixture) {
			f.secrets.Put(plivoID, `{"auth_id":"`+authID+`","auth_token":"REPLACE_ME"}`)
		}, "secret.plivo", "auth_token is still a placeholder", "put-secret-value --secret-id " + plivoID, []string{"plivo.credentials"}},
		{"placeholder meta app id", func(f *fixture) {
			f.secrets.Put(metaID, `{"app_id":"REPLACE_ME","app_secret":"REPLACE_ME"}`)
		}, "secret.meta", `app_id is still the placeholder "REPLACE_ME"`, "put-secret-value", []string{"meta.credentials"}},
		{"meta secret field missing", func(f *fixture) {
			f.secrets.Put(metaID, `{"app_id":"`+appID+`"}`)
		}, "secret.meta", "app_secret is missing", "put-secret-value", []string{"meta.credentials"}},
		{"plivo secret does not exist", func(f *fixture) {
			f.doc.PlivoSecretID = "wa-test/nope"
		}, "secret.plivo", `"wa-test/nope" does not exist`, "make deploy", []string{"plivo.credentials"}},
		{"bad plivo credentials: 401", func(f *fixture) {
			f.plivo.RotateToken("rotated-in-the-console")
		}, "plivo.credentials", "Plivo answered 401", "put-secret-value --secret-id " + plivoID, nil},
		{"bad meta app secret", func(f *fixture) {
			f.secrets.Put(metaID, `{"app_id":"`+appID+`","app_secret":"ffffffffffffffffffffffffffffffff"}`)
		}, "meta.credentials", "code 190", "App settings > Basic", nil},
		{"config id placeholder", func(f *fixture) {
			f.doc.MetaConfigID = "REPLACE_ME"
		}, "meta.settings", "META_CONFIG_ID is not set", "MetaConfigId", nil},
		{"page app is not the secret's app", func(f *fixture) {
			f.doc.MetaAppID = "100000000000009"
		}, "meta.settings", "the Meta secret holds app " + appID, "MetaAppId", nil},
		{"config id is the app id", func(f *fixture) {
			f.doc.MetaConfigID = appID
		}, "meta.settings", "equals the App ID", "", nil},
		{"graph version past end of life", func(f *fixture) {
			f.doc.GraphVersion = "v19.0"
		}, "meta.graph_version", "v19.0 reached its end of life on 2026-05-21", "MetaGraphVersion", nil},
		{"table missing", func(f *fixture) {
			f.doc.TableName = "wa-test-no-such-table"
		}, "table.schema", `"wa-test-no-such-table" does not exist`, "make deploy", []string{"table.pitr"}},
		{"table with other keys", func(f *fixture) {
			name := testenv.UniqueTableName(t)
			_, err := f.ddb.CreateTable(context.Background(), &dynamodb.CreateTableInput{
				TableName:            &name,
				BillingMode:          types.BillingModePayPerRequest,
				AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
				KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
			})
			if err != nil {
				t.Fatal(err)
			}
			f.doc.TableName = name
		}, "table.schema", "HASH key is pk, want waba_id; index pending-retry is missing", "template.yaml", nil},
		{"pitr off", func(f *fixture) {
			f.backups.status = types.PointInTimeRecoveryStatusDisabled
		}, "table.pitr", "is DISABLED", "update-continuous-backups", nil},
		{"schedule disabled", func(f *fixture) {
			f.rules.state = ebtypes.RuleStateDisabled
		}, "schedule.resume", "is DISABLED", "aws events enable-rule --name " + ruleName, nil},
		{"schedule rule missing", func(f *fixture) {
			f.doc.ResumeRuleName = "other-rule"
		}, "schedule.resume", `rule "other-rule" does not exist`, "make deploy", nil},
		{"http page origin", func(f *fixture) {
			f.doc.PageURL = "http://onboarding.example.com/"
		}, "page.origin", "plain HTTP", "https://", nil},
		{"wildcard allowed origin", func(f *fixture) {
			f.doc.AllowedOrigins = []string{"https://app.example.com", "*"}
		}, "page.allowed_origins", `"*" lets any site call the API`, "AllowedOrigins", nil},
		{"allowed origins empty", func(f *fixture) {
			f.doc.AllowedOrigins = nil
		}, "page.allowed_origins", "ALLOWED_ORIGINS is empty", "AllowedOrigins", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			tt.breakIt(f)
			rep := f.doc.Run(context.Background())
			var text bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.ExitCode() == 0 {
				t.Fatalf("report passed:\n%s", text.String())
			}
			c, _ := rep.Result(tt.failed)
			if c.Status != doctor.StatusFail || !strings.Contains(c.Detail, tt.detail) || !strings.Contains(c.Next, tt.next) {
				t.Fatalf("%s = %+v\nwant fail with %q and next %q\n%s", tt.failed, c, tt.detail, tt.next, text.String())
			}
			for _, other := range rep.Checks {
				if other.Status == doctor.StatusFail && other.ID != tt.failed {
					t.Errorf("%s failed too: %s", other.ID, other.Detail)
				}
			}
			for _, id := range tt.skipped {
				if s, _ := rep.Result(id); s.Status != doctor.StatusSkip {
					t.Errorf("%s = %s, want skip", id, s.Status)
				}
			}
			// The person reading names the broken item and its fix.
			if !strings.Contains(text.String(), "FAIL  "+c.Title) || !strings.Contains(text.String(), "next: ") ||
				!strings.Contains(rep.Summary(), c.Title) {
				t.Errorf("text report does not name %q:\n%s", c.Title, text.String())
			}
			for _, secret := range []string{appSecret, authToken, "ffffffffffffffffffffffffffffffff"} {
				if strings.Contains(text.String(), secret) || bytes.Contains(rep.JSON(), []byte(secret)) {
					t.Fatalf("a secret value leaked into the report:\n%s", text.String())
				}
			}
		})
	}
}

func TestReportJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.doc.GraphVersion = "v19.0"
	rep := f.doc.Run(context.Background())
	var got struct {
		OK     bool `json:"ok"`
		Failed int  `json:"failed"`
		Checks []struct {
			ID, Status, Detail, Next string
		} `json:"checks"`
	}
	if err := json.Unmarshal(rep.JSON(), &got); err != nil {
		t.Fatal(err)
	}
	if got.OK || got.Failed != 1 || len(got.Checks) != len(rep.Checks) {
		t.Fatalf("json = %+v", got)
	}
	for _, c := range got.Checks {
		if c.ID == "meta.graph_version" && (c.Status != "fail" || c.Next == "") {
			t.Fatalf("graph version = %+v", c)
		}
	}
}

// The stack's secrets deny GetSecretValue to every principal but the
// functions' roles and the operator role: a doctor run with other
// credentials says which role to use.
func TestSecretsDeniedByTheirResourcePolicy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.secrets.FailNext("GetSecretValue", -1, secretsmanagersim.Fault{Type: "AccessDeniedException",
		Message: "User: arn:aws:sts::123456789012:assumed-role/dev/me is not authorized to perform: secretsmanager:GetSecretValue with an explicit deny in a resource-based policy"})
	rep := f.doc.Run(context.Background())
	for _, id := range []string{"secret.meta", "secret.plivo"} {
		c, _ := rep.Result(id)
		if c.Status != doctor.StatusFail || !strings.Contains(c.Detail, "access denied") || !strings.Contains(c.Next, "SecretsOperatorRoleArn") {
			t.Errorf("%s = %+v, want a failure that names the operator role", id, c)
		}
	}
}
