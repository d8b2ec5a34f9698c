// Package doctor checks that a deployment has what WhatsApp Embedded Signup
// needs before a customer tries it: readable secrets without placeholder
// values, Plivo and Meta credentials that their APIs accept, a Graph API
// version that still works, the signup table as the code expects it with
// point-in-time recovery, the resume schedule switched on, and page
// settings a browser and Meta's SDK accept.
//
// Plivo's Embedded Signup guide warns that starting before the prerequisites
// are in place causes onboarding failures that are hard to reverse; the
// doctor turns the checkable part of that list into a pass/fail line with
// the next step for each item, and lists the part no API can check.
//
// Each check is a small function over a small interface (one or two SDK or
// client calls), so tests run them against simulators and fakes, `make
// doctor` against the local stack, and the doctor Lambda against AWS.
package doctor

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// DefaultCheckTimeout bounds each check that calls a service.
const DefaultCheckTimeout = 10 * time.Second

// SecretsAPI is the Secrets Manager call the doctor makes;
// *secretsmanager.Client implements it.
type SecretsAPI = secrets.Client

// TableAPI is the part of DynamoDB the table checks read;
// *dynamodb.Client implements it.
type TableAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error)
}

// RulesAPI is the EventBridge call the schedule check makes;
// *eventbridge.Client implements it.
type RulesAPI interface {
	DescribeRule(ctx context.Context, in *eventbridge.DescribeRuleInput, opts ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error)
}

// PlivoAccount reads the Plivo account; *plivo.Client implements it.
type PlivoAccount interface {
	Account(ctx context.Context) (plivo.Account, error)
}

// MetaTokens inspects a token with Graph's debug_token; *meta.Client
// implements it.
type MetaTokens interface {
	DebugToken(ctx context.Context, token string) (onboarding.TokenInfo, error)
}

var (
	_ TableAPI     = (*dynamodb.Client)(nil)
	_ RulesAPI     = (*eventbridge.Client)(nil)
	_ PlivoAccount = (*plivo.Client)(nil)
)

// Settings are the deployment's values the doctor checks.
type Settings struct {
	// Target names what is checked, for the report's first line.
	Target string
	// Local relaxes what only matters on the internet: an http:// page on
	// a loopback address passes.
	Local bool

	MetaSecretID  string
	PlivoSecretID string
	GraphVersion  string
	MetaAppID     string // the page's public app ID
	MetaConfigID  string // the page's Embedded Signup configuration ID
	// PlivoSolutionID is the Multi-Partner Solution the page passes to
	// Embedded Signup; ESVersion the Embedded Signup version it launches.
	PlivoSolutionID string
	ESVersion       string
	TableName       string
	ResumeRuleName  string
	PageURL         string
	AllowedOrigins  []string
}

// Doctor runs the checks. Plivo and Meta are built from the credentials the
// secret checks read, so the credentials checked are the ones deployed.
type Doctor struct {
	Settings
	Secrets SecretsAPI
	Table   TableAPI
	Rules   RulesAPI
	Plivo   func(secrets.PlivoCredentials) PlivoAccount
	Meta    func(secrets.MetaApp) MetaTokens
	// Now is the clock of the Graph version check; time.Now when nil.
	Now func() time.Time
	// CheckTimeout bounds each service call; DefaultCheckTimeout when zero.
	CheckTimeout time.Duration
}

// Run runs every check in order and returns the report. It never fails:
// what goes wrong is the report's content.
func (d *Doctor) Run(ctx context.Context) Report {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	r := Report{Target: d.Target, CheckedAt: now().UTC()}

	metaApp, metaOK := d.metaSecret(ctx, &r)
	plivoCreds, plivoOK := d.plivoSecret(ctx, &r)
	r.add(d.plivoCredentials(ctx, plivoCreds, plivoOK))
	r.add(d.metaCredentials(ctx, metaApp, metaOK))
	r.add(d.metaSettings(metaApp, metaOK))
	r.add(graphVersion(d.GraphVersion, now()))
	r.add(esVersion(d.ESVersion, now()))
	r.add(solutionID(d.PlivoSolutionID))
	exists := d.tableSchema(ctx, &r)
	r.add(d.tablePITR(ctx, exists))
	r.add(d.resumeSchedule(ctx))
	r.add(pageOrigin(d.PageURL, d.Local))
	r.add(allowedOrigins(d.AllowedOrigins, d.Local))
	for _, m := range manual {
		r.add(m)
	}
	r.finish()
	return r
}

// call bounds one service call of a check.
func (d *Doctor) call(ctx context.Context) (context.Context, context.CancelFunc) {
	t := d.CheckTimeout
	if t <= 0 {
		t = DefaultCheckTimeout
	}
	return context.WithTimeout(ctx, t)
}
