package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/techprovider/wa-onboarding/shared/dynamo"
)

// keySpec is one key attribute the code expects: name, key type, type.
type keySpec struct {
	name    string
	keyType types.KeyType
	attr    types.ScalarAttributeType
}

// The key schema shared/dynamo reads and writes.
var (
	tableKeys = []keySpec{{dynamo.KeyAttribute, types.KeyTypeHash, types.ScalarAttributeTypeS}}
	indexKeys = []keySpec{
		{dynamo.RetryShardAttr, types.KeyTypeHash, types.ScalarAttributeTypeS},
		{dynamo.NextRetryAttr, types.KeyTypeRange, types.ScalarAttributeTypeN},
	}
)

// tableSchema checks the table exists with the key schema and retry index
// shared/dynamo uses, and reports whether it exists.
func (d *Doctor) tableSchema(ctx context.Context, r *Report) bool {
	res := Result{ID: "table.schema", Group: GroupDynamoDB, Title: "Signup table"}
	if d.TableName == "" {
		r.add(fail(res, "TABLE_NAME is not set", "set TABLE_NAME to the stack's SignupTableName output"))
		return false
	}
	cctx, cancel := d.call(ctx)
	defer cancel()
	out, err := d.Table.DescribeTable(cctx, &dynamodb.DescribeTableInput{TableName: &d.TableName})
	if err != nil {
		detail, next := awsProblem(err, fmt.Sprintf("table %q", d.TableName), "")
		if next == "" {
			next = "deploy the stack (make deploy), or set TABLE_NAME to the stack's SignupTableName output"
		}
		r.add(fail(res, detail, next))
		return false
	}
	t := out.Table
	if t == nil {
		r.add(fail(res, fmt.Sprintf("DescribeTable said nothing about %q", d.TableName), ""))
		return false
	}
	attrs := map[string]types.ScalarAttributeType{}
	for _, a := range t.AttributeDefinitions {
		attrs[deref(a.AttributeName)] = a.AttributeType
	}
	next := "the table must be created by template.yaml (SignupTable); a table with other keys cannot be altered in place: create the stack's table and move the items"
	var problems []string
	problems = append(problems, keyProblems("table", t.KeySchema, attrs, tableKeys)...)
	var index *types.GlobalSecondaryIndexDescription
	for i := range t.GlobalSecondaryIndexes {
		if deref(t.GlobalSecondaryIndexes[i].IndexName) == dynamo.RetryIndex {
			index = &t.GlobalSecondaryIndexes[i]
		}
	}
	if index == nil {
		problems = append(problems, fmt.Sprintf("index %s is missing (the resume function queries it)", dynamo.RetryIndex))
	} else {
		problems = append(problems, keyProblems("index "+dynamo.RetryIndex, index.KeySchema, attrs, indexKeys)...)
	}
	if len(problems) > 0 {
		r.add(fail(res, fmt.Sprintf("table %q: %s", d.TableName, strings.Join(problems, "; ")), next))
		return true
	}
	detail := fmt.Sprintf("table %q: key %s, index %s (%s, %s)", d.TableName, dynamo.KeyAttribute, dynamo.RetryIndex, dynamo.RetryShardAttr, dynamo.NextRetryAttr)
	if t.TableStatus != types.TableStatusActive {
		r.add(warn(res, fmt.Sprintf("%s; status %s", detail, t.TableStatus), "wait until the table is ACTIVE, then run the doctor again"))
		return true
	}
	if index.IndexStatus != "" && index.IndexStatus != types.IndexStatusActive {
		r.add(warn(res, fmt.Sprintf("%s; index status %s", detail, index.IndexStatus), "wait until the index is ACTIVE, then run the doctor again"))
		return true
	}
	r.add(pass(res, detail+", ACTIVE"))
	return true
}

// keyProblems compares a key schema with what the code expects.
func keyProblems(what string, schema []types.KeySchemaElement, attrs map[string]types.ScalarAttributeType, want []keySpec) []string {
	var problems []string
	got := map[types.KeyType]string{}
	for _, k := range schema {
		got[k.KeyType] = deref(k.AttributeName)
	}
	for _, w := range want {
		name, ok := got[w.keyType]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s has no %s key (want %s)", what, w.keyType, w.name))
		case name != w.name:
			problems = append(problems, fmt.Sprintf("%s %s key is %s, want %s", what, w.keyType, name, w.name))
		case attrs[name] != w.attr:
			problems = append(problems, fmt.Sprintf("%s key %s has type %s, want %s", what, name, attrs[name], w.attr))
		}
		delete(got, w.keyType)
	}
	for kt, name := range got {
		problems = append(problems, fmt.Sprintf("%s has an unexpected %s key %s", what, kt, name))
	}
	return problems
}

// tablePITR checks point-in-time recovery: the table holds the only record
// of which WABAs were onboarded, and a bad deploy or script can wipe it.
func (d *Doctor) tablePITR(ctx context.Context, exists bool) Result {
	res := Result{ID: "table.pitr", Group: GroupDynamoDB, Title: "Point-in-time recovery"}
	if !exists {
		return skip(res, "needs the signup table")
	}
	next := fmt.Sprintf("aws dynamodb update-continuous-backups --table-name %s --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true "+
		"(template.yaml enables it; a drift means someone turned it off)", d.TableName)
	cctx, cancel := d.call(ctx)
	defer cancel()
	out, err := d.Table.DescribeContinuousBackups(cctx, &dynamodb.DescribeContinuousBackupsInput{TableName: &d.TableName})
	if err != nil {
		detail, step := awsProblem(err, fmt.Sprintf("continuous backups of %q", d.TableName), "")
		if step == "" {
			step = next
		}
		return fail(res, detail, step)
	}
	var pitr *types.PointInTimeRecoveryDescription
	if out.ContinuousBackupsDescription != nil {
		pitr = out.ContinuousBackupsDescription.PointInTimeRecoveryDescription
	}
	if pitr == nil || pitr.PointInTimeRecoveryStatus != types.PointInTimeRecoveryStatusEnabled {
		status := types.PointInTimeRecoveryStatusDisabled
		if pitr != nil {
			status = pitr.PointInTimeRecoveryStatus
		}
		return fail(res, fmt.Sprintf("point-in-time recovery of %q is %s", d.TableName, status), next)
	}
	detail := fmt.Sprintf("enabled on %q", d.TableName)
	if pitr.EarliestRestorableDateTime != nil {
		detail += ", restorable from " + pitr.EarliestRestorableDateTime.UTC().Format("2006-01-02 15:04 MST")
	}
	return pass(res, detail)
}

// resumeSchedule checks the EventBridge rule that runs the resume function:
// without it, a signup Plivo did not finish at once waits for ever.
func (d *Doctor) resumeSchedule(ctx context.Context) Result {
	res := Result{ID: "schedule.resume", Group: GroupSchedule, Title: "Resume schedule"}
	if d.ResumeRuleName == "" {
		return fail(res, "RESUME_RULE_NAME is not set", "set RESUME_RULE_NAME to the rule of ResumeFunction's Schedule event (template.yaml passes it to the doctor)")
	}
	cctx, cancel := d.call(ctx)
	defer cancel()
	out, err := d.Rules.DescribeRule(cctx, &eventbridge.DescribeRuleInput{Name: &d.ResumeRuleName})
	if err != nil {
		detail, next := awsProblem(err, fmt.Sprintf("rule %q", d.ResumeRuleName), "")
		if next == "" {
			next = "deploy the stack (make deploy): ResumeFunction's Schedule event creates the rule"
		}
		return fail(res, detail, next)
	}
	expr := deref(out.ScheduleExpression)
	switch out.State {
	case ebtypes.RuleStateEnabled, ebtypes.RuleStateEnabledWithAllCloudtrailManagementEvents:
	default:
		return fail(res, fmt.Sprintf("rule %q is %s: verified signups Plivo did not finish are never retried", d.ResumeRuleName, out.State),
			"aws events enable-rule --name "+d.ResumeRuleName+" (and check why it was disabled: template.yaml sets Enabled: true)")
	}
	if expr == "" {
		return fail(res, fmt.Sprintf("rule %q is enabled but has no schedule expression", d.ResumeRuleName), "deploy the stack (make deploy) to restore the rule")
	}
	return pass(res, fmt.Sprintf("rule %q: %s, %s", d.ResumeRuleName, out.State, expr))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
