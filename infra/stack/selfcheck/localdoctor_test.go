package selfcheck_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/stack/selfcheck"
	"github.com/techprovider/wa-onboarding/infra/testenv"
)

func TestMain(m *testing.M) { testenv.MustDynamoDB(m) }

func template(t *testing.T, edit func(string) string) *sam.Template {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	if edit != nil {
		src = edit(src)
	}
	tpl, err := sam.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestTemplateRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		disabled bool
		rule     string
		state    ebtypes.RuleState
		missing  bool
	}{
		{"template schedule", false, selfcheck.RuleName, ebtypes.RuleStateEnabled, false},
		{"disabled on purpose", true, selfcheck.RuleName, ebtypes.RuleStateDisabled, false},
		{"another rule", false, "other", "", true},
	}
	tpl := template(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &selfcheck.TemplateRules{Template: tpl, Disabled: tt.disabled}
			out, err := r.DescribeRule(context.Background(), &eventbridge.DescribeRuleInput{Name: aws.String(tt.rule)})
			if tt.missing {
				var nf *ebtypes.ResourceNotFoundException
				if !errors.As(err, &nf) {
					t.Fatalf("err = %v, want ResourceNotFoundException", err)
				}
				return
			}
			if err != nil || out.State != tt.state || aws.ToString(out.ScheduleExpression) != "rate(1 minute)" {
				t.Fatalf("DescribeRule = %+v, %v", out, err)
			}
		})
	}
}

func TestTemplateBackups(t *testing.T) {
	t.Parallel()
	client := testenv.DynamoClient("")
	table := testenv.MustCreateTable(t, client, testenv.SignupTableID)
	tests := []struct {
		name     string
		edit     func(string) string
		disabled bool
		table    string
		want     types.PointInTimeRecoveryStatus
	}{
		{"as the template declares", nil, false, table, types.PointInTimeRecoveryStatusEnabled},
		{"disabled on purpose", nil, true, table, types.PointInTimeRecoveryStatusDisabled},
		{"template turns it off", func(s string) string {
			return replaceOnce(t, s, "PointInTimeRecoveryEnabled: true", "PointInTimeRecoveryEnabled: false")
		}, false, table, types.PointInTimeRecoveryStatusDisabled},
		{"no table", nil, false, "no-such-table", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &selfcheck.TemplateBackups{TableAPI: client, Template: template(t, tt.edit), Disabled: tt.disabled}
			out, err := b.DescribeContinuousBackups(context.Background(), &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(tt.table)})
			if tt.want == "" {
				var nf *types.ResourceNotFoundException
				if !errors.As(err, &nf) {
					t.Fatalf("err = %v, want ResourceNotFoundException", err)
				}
				return
			}
			if err != nil || out.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus != tt.want {
				t.Fatalf("DescribeContinuousBackups = %+v, %v", out, err)
			}
		})
	}
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	i := strings.Index(s, old)
	if i < 0 {
		t.Fatalf("template has no %q", old)
	}
	return s[:i] + new + s[i+len(old):]
}

func TestServedFrom(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		host    string
		headers map[string]string
		want    string
	}{
		{"localhost", "localhost:8080", nil, "http://localhost:8080"},
		{"loopback address", "127.0.0.1:8080", nil, "http://127.0.0.1:8080"},
		{"https tunnel", "localhost:8080", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "abc.tunnel.example"}, "https://abc.tunnel.example"},
		{"tunnel keeping the host", "abc.tunnel.example", map[string]string{"X-Forwarded-Proto": "https"}, "https://abc.tunnel.example"},
		{"proxy chain", "localhost:8080", map[string]string{"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "a.example, b.example"}, "https://a.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/console/doctor", nil)
			r.Host = tt.host
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			if got := selfcheck.ServedFrom(r); got != tt.want {
				t.Errorf("ServedFrom = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestServedOriginWinsOverPageURL: the local stack sets PAGE_URL to its own
// address; the doctor checks the origin the page was actually reached on.
func TestServedOriginWinsOverPageURL(t *testing.T) {
	env := map[string]string{"PAGE_URL": "http://localhost:8080/", "TABLE_NAME": "SignupTable"}
	get := func(k string) string { return env[k] }
	for served, want := range map[string]string{
		"https://abc.tunnel.example": "https://abc.tunnel.example",
		"":                           "http://localhost:8080/",
	} {
		d, err := selfcheck.New(context.Background(), selfcheck.Options{Getenv: get, PageURL: served})
		if err != nil {
			t.Fatal(err)
		}
		if d.PageURL != want {
			t.Errorf("served from %q: the doctor checks %q, want %q", served, d.PageURL, want)
		}
	}
}
