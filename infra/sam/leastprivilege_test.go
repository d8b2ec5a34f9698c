package sam_test

// This file holds every IAM grant of the template to least privilege,
// independently of how the grants are written: no wildcard, no write action
// for a read-only function, no action outside the function's allow-list,
// no resource the function is not configured to use. TestLeastPrivilege
// CatchesOverGrants proves each rule fails on a template that breaks it.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sam"
)

// allowedActions lists, per function, every IAM action it may be granted:
// the SDK calls its code makes. A function missing here may be granted
// nothing.
var allowedActions = map[string][]string{
	"SignupFunction":   {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"},
	"ResumeFunction":   {"dynamodb:UpdateItem", "dynamodb:Query", "secretsmanager:GetSecretValue"},
	"StatusFunction":   {"dynamodb:GetItem", "secretsmanager:GetSecretValue"},
	"PageFunction":     {},
	"SessionsFunction": {"secretsmanager:GetSecretValue"},
	"CallbacksFunction": {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
		"secretsmanager:GetSecretValue", "events:PutEvents"},
	"DemoFunction": {"dynamodb:GetItem", "secretsmanager:GetSecretValue"},
	"DoctorFunction": {"secretsmanager:GetSecretValue", "dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups",
		"events:DescribeRule"},
	"MetawebhooksFunction": {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "secretsmanager:GetSecretValue"},
	"LifecycleFunction":    {"events:PutEvents"},
	"CustomersFunction":    {"dynamodb:Query"},
}

// readOnly functions never write: only read verbs may be granted to them.
var readOnly = map[string]bool{"StatusFunction": true, "PageFunction": true, "SessionsFunction": true,
	"DemoFunction": true, "DoctorFunction": true, "CustomersFunction": true}

// readVerb matches the actions that read without changing anything.
var readVerb = regexp.MustCompile(`^[a-z0-9-]+:(Get|BatchGet|TransactGet|Query|Scan|Describe|List)[A-Za-z]*$`)

// iamTypes are resources that carry policy documents of their own.
var iamTypes = map[string]bool{"AWS::IAM::Policy": true, "AWS::IAM::ManagedPolicy": true, "AWS::IAM::Role": true,
	"AWS::IAM::RolePolicy": true}

// pollingEvents are the event sources Lambda itself reads for a function.
// For these SAM adds an AWS managed policy to the role it generates
// (AWSLambdaDynamoDBExecutionRole, ...) that reads every stream or queue in
// the account; a function with one must bring a Role of its own.
var pollingEvents = map[string]bool{"DynamoDB": true, "Kinesis": true, "SQS": true, "MSK": true, "MQ": true}

// serviceGrants are the calls Lambda makes with a function's own role, not
// its code: its logs, its traces, its stream source and its failure
// destination. Each maps to the resources it may name for function fn, read
// from the function's own configuration. X-Ray has no resource-level
// permissions, so its actions may only name "*".
func serviceGrants(tpl *sam.Template, fn string) map[string][]string {
	p, _ := tpl.Raw(fn)["Properties"].(map[string]any)
	grants := map[string][]string{"xray:PutTraceSegments": {"*"}, "xray:PutTelemetryRecords": {"*"}}
	if lc, ok := p["LoggingConfig"].(map[string]any); ok {
		if group := resourceRef(fmt.Sprint(lc["LogGroup"])); group != "" {
			grants["logs:CreateLogStream"] = []string{"${" + group + ".Arn}"}
			grants["logs:PutLogEvents"] = []string{"${" + group + ".Arn}"}
		}
	}
	events, _ := p["Events"].(map[string]any)
	for _, e := range events {
		ev, _ := e.(map[string]any)
		ep, _ := ev["Properties"].(map[string]any)
		if ev["Type"] == "DynamoDB" {
			if table, ok := strings.CutSuffix(strings.TrimPrefix(fmt.Sprint(ep["Stream"]), "${"), ".StreamArn}"); ok {
				// AWS's own example scopes the stream reads to the table's
				// streams: the ARN changes when the stream is re-enabled.
				for _, a := range []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"} {
					grants[a] = append(grants[a], "${"+table+".Arn}/stream/*")
				}
			}
		}
		dc, _ := ep["DestinationConfig"].(map[string]any)
		of, _ := dc["OnFailure"].(map[string]any)
		if of["Type"] == "SQS" {
			grants["sqs:SendMessage"] = append(grants["sqs:SendMessage"], fmt.Sprint(of["Destination"]))
		}
	}
	return grants
}

// leastPrivilegeProblems returns every rule a template's grants break.
func leastPrivilegeProblems(tpl *sam.Template, allowed map[string][]string, readOnly map[string]bool) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	ownRoles := map[string]bool{}
	for _, fn := range tpl.Functions() {
		stmts, err := tpl.Policies(fn)
		if err != nil {
			add("%s: %v", fn, err)
			continue
		}
		role, hasRole := tpl.Role(fn)
		ownRoles[role] = hasRole
		p, _ := tpl.Raw(fn)["Properties"].(map[string]any)
		events, _ := p["Events"].(map[string]any)
		for name, e := range events {
			if typ := fmt.Sprint(e.(map[string]any)["Type"]); pollingEvents[typ] && !hasRole {
				add("%s: %s event %s without a Role of its own: SAM grants a managed policy that reads every %s source in the account", fn, typ, name, typ)
			}
		}
		service := map[string][]string{}
		if hasRole {
			service = serviceGrants(tpl, fn)
		}
		allow, known := allowed[fn]
		env := tpl.Environment(fn)
		for _, s := range stmts {
			if len(s.Negated) > 0 {
				add("%s: statement uses %s", fn, strings.Join(s.Negated, ", "))
				continue
			}
			if len(s.Actions) > 0 && len(s.Resources) > 0 && s.Effect == "Allow" && allIn(s.Actions, service) {
				for _, a := range s.Actions {
					for _, r := range s.Resources {
						if !slices.Contains(service[a], r) {
							add("%s: %s on %s, not on the function's own %v", fn, a, r, service[a])
						}
					}
				}
				continue
			}
			if s.Managed != "" {
				// Managed policies and SAM policy templates (DynamoDBCrudPolicy,
				// ...) grant more than the calls made.
				add("%s: managed policy or policy template %s", fn, s.Managed)
				continue
			}
			if s.Effect != "Allow" {
				add("%s: statement Effect %q", fn, s.Effect)
			}
			if len(s.Actions) == 0 || len(s.Resources) == 0 {
				add("%s: statement without Action or Resource (NotAction/NotResource grant everything else)", fn)
			}
			for _, a := range s.Actions {
				switch {
				case strings.Contains(a, "*"):
					add("%s: wildcard action %s", fn, a)
				case readOnly[fn] && !readVerb.MatchString(a):
					add("%s: read-only function granted %s", fn, a)
				case !known:
					add("%s: granted %s but has no allow-list", fn, a)
				case !slices.Contains(allow, a):
					add("%s: %s is not in its allow-list %v", fn, a, allow)
				}
			}
			for _, r := range s.Resources {
				if strings.Contains(strings.NewReplacer("${AWS::", "", "${", "").Replace(r), "*") {
					add("%s: wildcard resource %s", fn, r)
					continue
				}
				if ref := resourceRef(r); ref == "" || !usesResource(env, ref) {
					add("%s: resource %s is not one its environment names", fn, r)
				}
			}
		}
	}
	for _, id := range tpl.Resources() {
		if !iamTypes[tpl.ResourceType(id)] {
			continue
		}
		if ownRoles[id] {
			problems = append(problems, trustProblems(tpl, id)...)
		}
		// A policy of its own attached to a function's role would escape
		// the function's rules, which read the role's inline policies.
		p, _ := tpl.Raw(id)["Properties"].(map[string]any)
		for _, role := range append(asStrings(p["Roles"]), asStrings(p["RoleName"])...) {
			if ref := strings.TrimSuffix(strings.TrimPrefix(role, "${"), "}"); ownRoles[ref] {
				add("%s: attaches to %s, a function's own role: write its statements in the role", id, ref)
			}
		}
		walkStatements(tpl.Raw(id), func(st map[string]any) {
			for _, k := range []string{"NotAction", "NotResource", "NotPrincipal"} {
				if _, ok := st[k]; ok {
					add("%s: statement uses %s", id, k)
				}
			}
			// A function's own role is held to its function's rules above,
			// where X-Ray's "*" is the one wildcard allowed.
			if st["Effect"] != "Allow" || ownRoles[id] {
				return
			}
			for _, k := range []string{"Action", "Resource"} {
				for _, v := range asStrings(st[k]) {
					if strings.Contains(strings.NewReplacer("${AWS::", "", "${", "").Replace(v), "*") {
						add("%s: wildcard %s %s", id, strings.ToLower(k), v)
					}
				}
			}
		})
	}
	return problems
}

// trustProblems holds a function's own role to Lambda alone: its trust
// policy lets only lambda.amazonaws.com assume it.
func trustProblems(tpl *sam.Template, role string) []string {
	p, _ := tpl.Raw(role)["Properties"].(map[string]any)
	doc, _ := p["AssumeRolePolicyDocument"].(map[string]any)
	list, ok := doc["Statement"].([]any)
	if !ok && doc["Statement"] != nil {
		list = []any{doc["Statement"]}
	}
	if len(list) == 0 {
		return []string{role + ": no trust policy statement"}
	}
	var problems []string
	for _, e := range list {
		st, _ := e.(map[string]any)
		principal, _ := st["Principal"].(map[string]any)
		services := asStrings(principal["Service"])
		if len(principal) != 1 || len(services) != 1 || services[0] != "lambda.amazonaws.com" ||
			!slices.Equal(asStrings(st["Action"]), []string{"sts:AssumeRole"}) {
			problems = append(problems, fmt.Sprintf("%s: trust policy lets %v do %v, want only lambda.amazonaws.com to sts:AssumeRole",
				role, principal, st["Action"]))
		}
	}
	return problems
}

// allIn reports whether every action is a key of grants.
func allIn(actions []string, grants map[string][]string) bool {
	for _, a := range actions {
		if _, ok := grants[a]; !ok {
			return false
		}
	}
	return true
}

// resourceRef returns the logical ID a "${X}", "${X.Arn}" or
// "${X.Arn}/index/..." resource refers to.
func resourceRef(r string) string {
	m := regexp.MustCompile(`^\$\{([A-Za-z0-9]+)(\.Arn)?\}(/index/[A-Za-z0-9._-]+)?$`).FindStringSubmatch(r)
	if m == nil {
		return ""
	}
	return m[1]
}

// usesResource reports whether the function's environment names ref, i.e.
// its code is configured to use the resource it is granted.
func usesResource(env map[string]string, ref string) bool {
	for _, v := range env {
		if v == "${"+ref+"}" || v == "${"+ref+".Arn}" {
			return true
		}
	}
	return false
}

func walkStatements(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if st, ok := x["Statement"]; ok {
			list, ok := st.([]any)
			if !ok {
				list = []any{st}
			}
			for _, s := range list {
				if m, ok := s.(map[string]any); ok {
					fn(m)
				}
			}
		}
		for k, e := range x {
			if k != "Statement" {
				walkStatements(e, fn)
			}
		}
	case []any:
		for _, e := range x {
			walkStatements(e, fn)
		}
	}
}

func asStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func TestLeastPrivilege(t *testing.T) {
	t.Parallel()
	tpl := load(t)
	for _, p := range leastPrivilegeProblems(tpl, allowedActions, readOnly) {
		t.Error(p)
	}
	for fn := range readOnly {
		if _, ok := allowedActions[fn]; !ok {
			t.Errorf("read-only %s has no allow-list", fn)
		}
	}
}

// overGrant is a template in which each function breaks one rule.
const overGrant = `
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
  Other:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
  StatusFunction:
    Type: AWS::Serverless::Function
    Properties:
      Environment: {Variables: {TABLE_NAME: !Ref Table}}
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:PutItem]
              Resource: !GetAtt Table.Arn
  PageFunction:
    Type: AWS::Serverless::Function
    Properties:
      Environment: {Variables: {TABLE_NAME: !Ref Table}}
      Policies:
        - DynamoDBCrudPolicy:
            TableName: !Ref Table
  SignupFunction:
    Type: AWS::Serverless::Function
    Properties:
      Environment: {Variables: {TABLE_NAME: !Ref Table}}
      Policies:
        - Statement:
            - Effect: Allow
              Action: dynamodb:*
              Resource: !GetAtt Table.Arn
            - Effect: Allow
              Action: dynamodb:PutItem
              Resource: "*"
            - Effect: Allow
              Action: dynamodb:DeleteItem
              Resource: !GetAtt Table.Arn
            - Effect: Allow
              Action: dynamodb:PutItem
              Resource: !GetAtt Other.Arn
            - Effect: Allow
              NotAction: dynamodb:DeleteTable
              Resource: !GetAtt Table.Arn
  NewFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: sqs:SendMessage
              Resource: !Sub arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:q
  StreamFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Changes:
          Type: DynamoDB
          Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST}
  RoleFunction:
    Type: AWS::Serverless::Function
    Properties:
      Role: !GetAtt RoleFunctionRole.Arn
      LoggingConfig: {LogGroup: !Ref Logs}
      Events:
        Changes:
          Type: DynamoDB
          Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST}
  RoleFunctionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
          - {Effect: Allow, Principal: {AWS: "*"}, Action: sts:AssumeRole}
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: [dynamodb:GetRecords], Resource: "*"}
              - {Effect: Allow, Action: [dynamodb:GetShardIterator], Resource: !Sub "${Other.Arn}/stream/*"}
              - {Effect: Allow, Action: [logs:PutLogEvents], Resource: !GetAtt OtherLogs.Arn}
              - {Effect: Allow, Action: [xray:PutTraceSegments], Resource: "*"}
              - {Effect: Allow, Action: [dynamodb:DescribeStream], Resource: !Sub "${Table.Arn}/stream/*"}
              - {Effect: Allow, Action: [logs:CreateLogStream], NotResource: !GetAtt OtherLogs.Arn}
  RoleFunctionExtra:
    Type: AWS::IAM::RolePolicy
    Properties:
      RoleName: !Ref RoleFunctionRole
      PolicyName: extra
      PolicyDocument:
        Statement: [{Effect: Allow, Action: dynamodb:PutItem, Resource: !GetAtt Table.Arn}]
  Logs:
    Type: AWS::Logs::LogGroup
  OtherLogs:
    Type: AWS::Logs::LogGroup
  ExtraPolicy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      Roles: [r]
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: "s3:*"
            Resource: !Sub arn:${AWS::Partition}:s3:::bucket/*
`

func TestLeastPrivilegeCatchesOverGrants(t *testing.T) {
	t.Parallel()
	tpl, err := sam.Parse([]byte(overGrant))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(leastPrivilegeProblems(tpl, allowedActions, readOnly), "\n")
	for _, want := range []string{
		"StatusFunction: read-only function granted dynamodb:PutItem",
		"PageFunction: managed policy or policy template DynamoDBCrudPolicy",
		"SignupFunction: wildcard action dynamodb:*",
		"SignupFunction: wildcard resource *",
		"SignupFunction: dynamodb:DeleteItem is not in its allow-list",
		"SignupFunction: resource ${Other.Arn} is not one its environment names",
		"SignupFunction: statement uses NotAction",
		"NewFunction: granted sqs:SendMessage but has no allow-list",
		"StreamFunction: DynamoDB event Changes without a Role of its own",
		"RoleFunction: dynamodb:GetRecords on *, not on the function's own [${Table.Arn}/stream/*]",
		"RoleFunction: dynamodb:GetShardIterator on ${Other.Arn}/stream/*",
		"RoleFunction: logs:PutLogEvents on ${OtherLogs.Arn}",
		"RoleFunction: statement uses NotResource",
		"RoleFunctionRole: trust policy lets map[AWS:*]",
		"RoleFunctionExtra: attaches to RoleFunctionRole, a function's own role",
		"ExtraPolicy: wildcard action s3:*",
		"ExtraPolicy: wildcard resource arn:${AWS::Partition}:s3:::bucket/*",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("not caught: %s\ngot:\n%s", want, got)
		}
	}
	// What Lambda needs of a role of its own is not an over-grant.
	for _, fine := range []string{"xray:PutTraceSegments", "dynamodb:DescribeStream", "RoleFunctionRole: wildcard"} {
		if strings.Contains(got, fine) {
			t.Errorf("flagged %s, which the function's own role may grant:\n%s", fine, got)
		}
	}
}
