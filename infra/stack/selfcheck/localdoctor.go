// Package selfcheck builds the doctor (shared/doctor) for the local stack.
//
// Two things the doctor reads in AWS do not exist on a laptop: DynamoDB
// Local has no DescribeContinuousBackups (it answers
// UnknownOperationException), and there is no EventBridge; the local stack
// runs template.yaml's enabled schedules on a ticker instead. Both are
// answered from template.yaml, which is what the deploy would create, and
// the report says so. Everything else is checked for real: the secrets in
// the Secrets Manager simulator, the Plivo and Meta simulators (or the real
// services), the table in DynamoDB Local.
package selfcheck

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/doctor"
)

// Names the local adapters answer for.
const (
	// ResumeFunction is the scheduled function whose schedule is checked.
	ResumeFunction = "ResumeFunction"
	// RuleName stands for the EventBridge rule SAM creates for
	// ResumeFunction's Schedule event, named after its logical ID.
	RuleName = "ResumeFunctionSchedule"
)

// Options configure New.
type Options struct {
	// Getenv reads the stack's settings; os.Getenv when nil. Inside the
	// local stack's process it sees what the stack set.
	Getenv config.Getenv
	// Template is template.yaml; the repository's when empty.
	Template string
	// PageURL is the origin the page is actually served from, as the
	// browser reached it (http://127.0.0.1:8080, or a tunnel's https://
	// address); it wins over PAGE_URL, which the local stack sets to its
	// own address and which only says where links point. Empty: PAGE_URL.
	PageURL string
	// Break, when set, is applied to the doctor before it is returned: how
	// `make doctor BROKEN=1` shows what failures look like.
	Break func(d *doctor.Doctor, rules *TemplateRules, table *TemplateBackups)
}

// New builds a doctor for the local stack: the deployed doctor's checks,
// with the schedule and point-in-time recovery read from template.yaml.
func New(ctx context.Context, o Options) (*doctor.Doctor, error) {
	get := o.Getenv
	if get == nil {
		get = os.Getenv
	}
	if o.Template == "" {
		o.Template = filepath.Join(testenv.RepoRoot(), "template.yaml")
	}
	tmpl, err := loadTemplate(o.Template)
	if err != nil {
		return nil, fmt.Errorf("selfcheck: %w", err)
	}
	cfg := config.LoadDoctor(get)
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("selfcheck: AWS configuration: %w", err)
	}
	d := doctor.FromConfig(cfg, clients.Deps{AWS: awsCfg})
	d.Local = true
	d.PageURL = cmp.Or(o.PageURL, d.PageURL)
	d.Target = "local stack"
	if d.PageURL != "" {
		d.Target += " at " + d.PageURL
	}
	if len(d.AllowedOrigins) == 0 {
		origins, _ := tmpl.Parameter("AllowedOrigins")
		d.AllowedOrigins = config.SplitList(origins)
	}
	rules := &TemplateRules{Template: tmpl}
	if d.ResumeRuleName == "" {
		d.ResumeRuleName = RuleName
		d.Rules = rules
	}
	backups := &TemplateBackups{TableAPI: d.Table, Template: tmpl}
	if get("AWS_ENDPOINT_URL_DYNAMODB") != "" {
		// DynamoDB Local: a real table would answer for itself.
		d.Table = backups
	}
	if o.Break != nil {
		o.Break(d, rules, backups)
	}
	return d, nil
}

var (
	templateMu sync.Mutex
	templates  = map[string]*sam.Template{}
)

// loadTemplate parses each template once, since the console runs the
// doctor per request.
func loadTemplate(path string) (*sam.Template, error) {
	templateMu.Lock()
	defer templateMu.Unlock()
	if t, ok := templates[path]; ok {
		return t, nil
	}
	t, err := sam.Load(path)
	if err != nil {
		return nil, err
	}
	templates[path] = t
	return t, nil
}

// TemplateRules answers DescribeRule for RuleName from ResumeFunction's
// Schedule event in template.yaml, which the local stack's ticker runs.
type TemplateRules struct {
	Template *sam.Template
	// Disabled reports the rule as DISABLED whatever the template says.
	Disabled bool
}

var _ doctor.RulesAPI = (*TemplateRules)(nil)

// DescribeRule implements doctor.RulesAPI.
func (t *TemplateRules) DescribeRule(_ context.Context, in *eventbridge.DescribeRuleInput, _ ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error) {
	name := aws.ToString(in.Name)
	for _, s := range t.Template.Schedules() {
		if s.Function != ResumeFunction || name != RuleName {
			continue
		}
		state := ebtypes.RuleStateEnabled
		if !s.Enabled || t.Disabled {
			state = ebtypes.RuleStateDisabled
		}
		return &eventbridge.DescribeRuleOutput{Name: &name, State: state, ScheduleExpression: &s.Expression}, nil
	}
	msg := fmt.Sprintf("Rule %s does not exist (template.yaml has no Schedule event on %s).", name, ResumeFunction)
	return nil, &ebtypes.ResourceNotFoundException{Message: &msg}
}

// TemplateBackups passes DescribeTable to DynamoDB Local and answers
// DescribeContinuousBackups from the table's PointInTimeRecoverySpecification
// in template.yaml.
type TemplateBackups struct {
	doctor.TableAPI
	Template *sam.Template
	// Disabled reports point-in-time recovery off whatever the template
	// says.
	Disabled bool
}

// DescribeContinuousBackups implements doctor.TableAPI.
func (t *TemplateBackups) DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error) {
	// The table must exist, as it must in AWS.
	if _, err := t.TableAPI.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, opts...); err != nil {
		return nil, err
	}
	props, _ := t.Template.Raw(testenv.SignupTableID)["Properties"].(map[string]any)
	spec, _ := props["PointInTimeRecoverySpecification"].(map[string]any)
	enabled, _ := spec["PointInTimeRecoveryEnabled"].(bool)
	status := types.PointInTimeRecoveryStatusDisabled
	if enabled && !t.Disabled {
		status = types.PointInTimeRecoveryStatusEnabled
	}
	return &dynamodb.DescribeContinuousBackupsOutput{ContinuousBackupsDescription: &types.ContinuousBackupsDescription{
		ContinuousBackupsStatus: types.ContinuousBackupsStatus(status),
		PointInTimeRecoveryDescription: &types.PointInTimeRecoveryDescription{
			PointInTimeRecoveryStatus: status,
		},
	}}, nil
}

// pageURL returns the origin a request reached the stack on, the page's
// URL as the browser sees it.
func pageURL(host string, tls bool) string {
	if host == "" {
		return ""
	}
	u := url.URL{Scheme: "http", Host: host}
	if tls {
		u.Scheme = "https"
	}
	return u.String()
}

// ServedFrom returns the origin the browser reached the local stack on for
// r. Behind an HTTPS tunnel (how Meta's SDK is tried against a laptop) the
// request arrives as plain HTTP for the tunnel's host; the tunnel's
// X-Forwarded-Proto and X-Forwarded-Host say what the browser used. This
// only feeds the local doctor's report, so the headers are taken as sent.
func ServedFrom(r *http.Request) string {
	host, tls := r.Host, r.TLS != nil
	if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
		host = h
	}
	switch strings.ToLower(firstValue(r.Header.Get("X-Forwarded-Proto"))) {
	case "https":
		tls = true
	case "http":
		tls = false
	}
	return pageURL(host, tls)
}

// firstValue is the first of a comma-separated header value (one per proxy).
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// Run builds the doctor, runs it bounded by timeout, and marks the results
// that were read from template.yaml rather than from a service.
func Run(ctx context.Context, o Options, timeout time.Duration) (doctor.Report, error) {
	d, err := New(ctx, o)
	if err != nil {
		return doctor.Report{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r := d.Run(ctx)
	backups, stood := d.Table.(*TemplateBackups)
	rules, ruled := d.Rules.(*TemplateRules)
	for i, c := range r.Checks {
		switch {
		case c.ID == "table.pitr" && stood && backups.Disabled:
			r.Checks[i].Detail += " (switched off on purpose)"
		case c.ID == "table.pitr" && stood && c.Status != doctor.StatusSkip:
			r.Checks[i].Detail += " (read from template.yaml: DynamoDB Local has no point-in-time recovery)"
		case c.ID == "schedule.resume" && ruled && rules.Disabled:
			r.Checks[i].Detail += " (switched off on purpose)"
		case c.ID == "schedule.resume" && ruled:
			r.Checks[i].Detail += " (read from template.yaml: the local stack runs it on a ticker, not EventBridge)"
		}
	}
	return r, nil
}
