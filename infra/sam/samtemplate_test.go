package sam

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

const sample = `
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
  Origins:
    Type: CommaDelimitedList
    Default: "https://a.example, https://b.example"
  Retention:
    Type: Number
    Default: 14
  NoDefault:
    Type: String
Globals:
  Function:
    Runtime: provided.al2023
    Handler: bootstrap
    Architectures: [arm64]
    CodeUri: .
    Timeout: 10
    MemorySize: 128
    LoggingConfig:
      LogFormat: JSON
    Environment:
      Variables:
        STAGE: !Ref Stage
        SHARED: global
  HttpApi:
    Auth:
      DefaultAuthorizer: Jwt
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: !Ref Origins
        AllowMethods: [GET]
        MaxAge: 60
      AccessLogSettings:
        DestinationArn: !GetAtt Logs.Arn
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: !Ref Retention
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: N}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
      GlobalSecondaryIndexes:
        - IndexName: by-sk
          KeySchema:
            - {AttributeName: pk, KeyType: HASH}
            - {AttributeName: sk, KeyType: RANGE}
          Projection: {ProjectionType: ALL}
      TimeToLiveSpecification:
        AttributeName: expires_at
        Enabled: true
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties:
      SecretString: "{}"
  AFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: makefile
    Properties:
      Timeout: 25
      Architectures: [x86_64]
      LoggingConfig:
        LogGroup: !Ref Logs
      Environment:
        Variables:
          SHARED: mine
          TABLE: !Ref Table
          SECRET: !Ref Secret
          NAME: !Sub "${Stage}-${AWS::Region}-${Table.Arn}"
          JOINED: !Sub ["${X}/index", {X: !GetAtt [Table, Arn]}]
          MISSING: !Ref NoDefault
      Policies:
        - AWSLambdaBasicExecutionRole
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:Query]
              Resource:
                - !GetAtt Table.Arn
                - !Sub "${Table.Arn}/index/by-sk"
        - DynamoDBReadPolicy:
            TableName: !Ref Table
      Events:
        Public:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: post
            Path: /things
            Auth:
              Authorizer: NONE
        Private:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: GET
            Path: /things/{id}
  BFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
            Enabled: false
        CatchAll:
          Type: HttpApi
`

func parseSample(t *testing.T, opts ...Option) *Template {
	t.Helper()
	tpl, err := Parse([]byte(sample), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestRoutes(t *testing.T) {
	got := parseSample(t).Routes()
	want := []Route{
		{Function: "BFunction", Event: "CatchAll", Method: "ANY", Path: "$default", Auth: "Jwt"},
		{Function: "AFunction", Event: "Public", API: "Api", Method: "POST", Path: "/things"},
		{Function: "AFunction", Event: "Private", API: "Api", Method: "GET", Path: "/things/{id}", Auth: "Jwt"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Routes:\n got %+v\nwant %+v", got, want)
	}
	if k := want[1].Key(); k != "POST /things" {
		t.Errorf("Key = %q", k)
	}
	if k := want[0].Key(); k != "$default" {
		t.Errorf("Key = %q", k)
	}
}

func TestEnvironmentAndIntrinsics(t *testing.T) {
	tpl := parseSample(t, WithParameters(map[string]string{"Stage": "prod"}))
	got := tpl.Environment("AFunction")
	want := map[string]string{
		"STAGE":   "prod",
		"SHARED":  "mine",
		"TABLE":   "${Table}",
		"SECRET":  "${Secret}",
		"NAME":    "prod-${AWS::Region}-${Table.Arn}",
		"JOINED":  "${Table.Arn}/index",
		"MISSING": "${NoDefault}",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Environment:\n got %v\nwant %v", got, want)
	}
	if got := tpl.Environment("BFunction"); !reflect.DeepEqual(got, map[string]string{"STAGE": "prod", "SHARED": "global"}) {
		t.Errorf("BFunction environment = %v", got)
	}
	if v, _ := tpl.Parameter("Stage"); v != "prod" {
		t.Errorf("Parameter(Stage) = %q", v)
	}
	if _, ok := tpl.Parameter("NoDefault"); ok {
		t.Error("a parameter without default has a value")
	}
	expanded := os.Expand(got["NAME"], func(k string) string {
		return map[string]string{"AWS::Region": "eu-west-1", "Table.Arn": "arn:t"}[k]
	})
	if expanded != "prod-eu-west-1-arn:t" {
		t.Errorf("os.Expand = %q", expanded)
	}
}

func TestFunction(t *testing.T) {
	tpl := parseSample(t)
	f, err := tpl.Function("AFunction")
	if err != nil {
		t.Fatal(err)
	}
	if f.CodeURI != "." || f.Handler != "bootstrap" || f.Runtime != "provided.al2023" || f.Timeout != 25 ||
		f.MemorySize != 128 || f.BuildMethod != "makefile" || f.LogFormat != "JSON" || f.LogGroup != "${Logs}" ||
		!reflect.DeepEqual(f.Architectures, []string{"x86_64"}) {
		t.Errorf("Function = %+v", f)
	}
	b, _ := tpl.Function("BFunction")
	if !reflect.DeepEqual(b.Architectures, []string{"arm64"}) || b.Timeout != 10 || b.BuildMethod != "" || b.LogGroup != "" {
		t.Errorf("BFunction = %+v", b)
	}
	if _, err := tpl.Function("Nope"); err == nil {
		t.Error("no error for a missing function")
	}
	if got := tpl.Functions(); !reflect.DeepEqual(got, []string{"AFunction", "BFunction"}) {
		t.Errorf("Functions = %v", got)
	}
}

func TestPolicies(t *testing.T) {
	got, err := parseSample(t).Policies("AFunction")
	if err != nil {
		t.Fatal(err)
	}
	want := []Statement{
		{Managed: "AWSLambdaBasicExecutionRole"},
		{Effect: "Allow", Actions: []string{"dynamodb:GetItem", "dynamodb:Query"}, Resources: []string{"${Table.Arn}", "${Table.Arn}/index/by-sk"}},
		{Managed: "DynamoDBReadPolicy", Resources: []string{"${Table}"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Policies:\n got %+v\nwant %+v", got, want)
	}
	if got, err := parseSample(t).Policies("BFunction"); err != nil || len(got) != 0 {
		t.Errorf("BFunction policies = %v, %v", got, err)
	}
}

func TestTableSchedulesCORS(t *testing.T) {
	tpl := parseSample(t)
	tb, err := tpl.Table("Table")
	if err != nil {
		t.Fatal(err)
	}
	want := Table{
		Name: "Table", HashKey: "pk", Attributes: map[string]string{"pk": "S", "sk": "N"},
		Indexes:     []Index{{Name: "by-sk", HashKey: "pk", RangeKey: "sk", Projection: "ALL"}},
		BillingMode: "PAY_PER_REQUEST", TTLAttribute: "expires_at",
	}
	if !reflect.DeepEqual(tb, want) {
		t.Errorf("Table:\n got %+v\nwant %+v", tb, want)
	}
	if s := tpl.Schedules(); !reflect.DeepEqual(s, []Schedule{{Function: "BFunction", Event: "Tick", Expression: "rate(5 minutes)"}}) {
		t.Errorf("Schedules = %+v", s)
	}
	c, ok := tpl.CORS("Api")
	if !ok || !reflect.DeepEqual(c.AllowOrigins, []string{"https://a.example", "https://b.example"}) || c.MaxAge != 60 {
		t.Errorf("CORS = %+v, %v", c, ok)
	}
}

// TestRawKeepsEveryProperty: Raw holds properties the package does not
// model, with their intrinsics resolved.
func TestRawKeepsEveryProperty(t *testing.T) {
	tpl := parseSample(t)
	als, _ := props(tpl.Raw("Api"))["AccessLogSettings"].(map[string]any)
	if als["DestinationArn"] != "${Logs.Arn}" {
		t.Errorf("Raw AccessLogSettings = %v", als)
	}
	lg, _ := props(tpl.Raw("Logs"))["RetentionInDays"].(float64)
	if lg != 14 {
		t.Errorf("Number parameter resolved to %v", props(tpl.Raw("Logs"))["RetentionInDays"])
	}
	if tpl.ResourceType("Secret") != "AWS::SecretsManager::Secret" {
		t.Errorf("ResourceType = %q", tpl.ResourceType("Secret"))
	}
}

func TestParseErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"yaml":         "Resources: [",
		"missing type": "Resources:\n  X:\n    Properties: {}\n",
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Load("does-not-exist.yaml"); err == nil {
		t.Error("Load of a missing file: no error")
	}
}

// TestShortAndLongFormsAgree: a short-form tag and its long form resolve
// alike, so the template may use either.
func TestShortAndLongFormsAgree(t *testing.T) {
	tpl, err := Parse([]byte(`
Parameters:
  Stage: {Type: String, Default: dev}
  Origins: {Type: CommaDelimitedList, Default: "a,b"}
Conditions:
  IsDev: !Equals [!Ref Stage, dev]
  IsDevLong: {"Fn::Equals": [{Ref: Stage}, dev]}
  Both: !And [!Condition IsDev, {Condition: IsDevLong}]
  Neither: {"Fn::Not": [{"Fn::Or": [!Condition IsDev, !Condition IsDevLong]}]}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          REF: !Ref Table
          REF_LONG: {Ref: Table}
          ATT: !GetAtt Table.Arn
          ATT_LONG: {"Fn::GetAtt": [Table, Arn]}
          SUB: !Sub "${Stage}/${Table.Arn}"
          SUB_LONG: {"Fn::Sub": "${Stage}/${Table.Arn}"}
          IF: !If [Both, yes, no]
          IF_LONG: {"Fn::If": [Neither, no, yes]}
          JOIN: !Join ["|", !Ref Origins]
          JOIN_LONG: {"Fn::Join": ["|", {Ref: Origins}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	env := tpl.Environment("Fn")
	want := map[string]string{"REF": "${Table}", "ATT": "${Table.Arn}", "SUB": "dev/${Table.Arn}", "IF": "yes", "JOIN": "a|b"}
	for k, v := range want {
		if env[k] != v || env[k+"_LONG"] != v {
			t.Errorf("%s = %q, %s_LONG = %q, want %q", k, env[k], k, env[k+"_LONG"], v)
		}
	}
	if !tpl.Condition("Both") || tpl.Condition("Neither") {
		t.Errorf("Both = %v, Neither = %v", tpl.Condition("Both"), tpl.Condition("Neither"))
	}
}

// TestNoValueRemovesTheEntry: Fn::If to AWS::NoValue leaves the property,
// or the list entry, out, as CloudFormation does.
func TestNoValueRemovesTheEntry(t *testing.T) {
	src := `
Parameters:
  Role: {Type: String, Default: ""}
Conditions:
  HasRole: !Not [!Equals [!Ref Role, ""]]
Resources:
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties:
      KmsKeyId: !If [HasRole, key, !Ref AWS::NoValue]
      Principals: [fn, !If [HasRole, !Ref Role, !Ref AWS::NoValue]]
`
	for role, want := range map[string]map[string]any{
		"":   {"Principals": []any{"fn"}},
		"op": {"KmsKeyId": "key", "Principals": []any{"fn", "op"}},
	} {
		tpl, err := Parse([]byte(src), WithParameters(map[string]string{"Role": role}))
		if err != nil {
			t.Fatal(err)
		}
		if got := props(tpl.Raw("Secret")); !reflect.DeepEqual(got, want) {
			t.Errorf("Role %q: properties = %v, want %v", role, got, want)
		}
	}
}

// TestBrokenTemplates: mistakes that would fail a deploy fail the parse,
// naming the culprit and its line.
func TestBrokenTemplates(t *testing.T) {
	const head = `Parameters:
  Stage: {Type: String, Default: dev}
Conditions:
  IsDev: !Equals [!Ref Stage, dev]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Description: `
	for value, want := range map[string]string{
		"!Reff Stage":        "line 11: unknown tag !Reff",
		"!Ref Stag":          "line 11: Ref Stag names no parameter or resource",
		"!GetAtt Tabel.Arn":  "line 11: GetAtt Tabel.Arn names no resource's attribute",
		"!GetAtt Table":      "line 11: GetAtt Table names no resource's attribute",
		`!Sub "${Stag}-x"`:   "line 11: Sub variable ${Stag} names no parameter or resource",
		"!If [IsProd, a, b]": "line 11: no condition IsProd",
		"!If [IsDev, a]":     "line 11: Fn::If takes a condition",
		"{Ref: [Stage]}":     "line 11: Ref takes a name",
	} {
		_, err := Parse([]byte(head + value + "\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to contain %q", value, err, want)
		}
	}
	// Names SAM generates from a declared resource, and pseudo parameters,
	// are not mistakes.
	if _, err := Parse([]byte(head + `!Sub "${FnRole.Arn} ${AWS::Region} ${!Literal}"` + "\n")); err != nil {
		t.Errorf("generated names: %v", err)
	}
	for name, conditions := range map[string]string{
		"refers to itself":            "  A: !Condition B\n  B: !Not [!Condition A]\n",
		"takes conditions, not dev":   "  A: !Not [dev]\n",
		"is not a condition function": "  A: !Ref Stage\n",
	} {
		_, err := Parse([]byte("Parameters:\n  Stage: {Type: String, Default: dev}\nConditions:\n" + conditions))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("conditions %q: err = %v, want it to contain %q", conditions, err, name)
		}
	}
}
