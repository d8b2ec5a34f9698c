package sam

import (
	"os"
	"reflect"
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
