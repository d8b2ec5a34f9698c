package sam

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// header is a SAM template head with the parameters, conditions and
// resources the tables below refer to.
const header = `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Key:
    Type: AWS::KMS::Key
`

func TestCreateTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		table   string // the Table resource, indented under Resources
		wantErr string
		check   func(t *testing.T, got *parsed)
	}{
		{
			name: "on-demand with GSI and TTL",
			table: `  Table:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties:
      TableName: !Sub "${AWS::StackName}-signups"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: shard, AttributeType: S}
        - {AttributeName: at, AttributeType: N}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
      GlobalSecondaryIndexes:
        - IndexName: by-shard
          KeySchema:
            - {AttributeName: shard, KeyType: HASH}
            - {AttributeName: at, KeyType: RANGE}
          Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [state]}
          ContributorInsightsSpecification: {Enabled: !If [IsProd, true, false]}
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
      SSESpecification: {SSEEnabled: true, KMSMasterKeyId: !Ref Key}
      PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
      Tags: [{Key: team, Value: !Ref Stage}]
`,
			check: func(t *testing.T, got *parsed) {
				in := got.in
				if in.TableName != nil {
					t.Errorf("TableName = %q, want nil for a !Sub name", *in.TableName)
				}
				if in.BillingMode != types.BillingModePayPerRequest || in.ProvisionedThroughput != nil {
					t.Errorf("billing = %s %v, want PAY_PER_REQUEST without throughput", in.BillingMode, in.ProvisionedThroughput)
				}
				if len(in.AttributeDefinitions) != 3 || aws.ToString(in.AttributeDefinitions[2].AttributeName) != "at" ||
					in.AttributeDefinitions[2].AttributeType != types.ScalarAttributeTypeN {
					t.Errorf("AttributeDefinitions = %+v", in.AttributeDefinitions)
				}
				if len(in.KeySchema) != 1 || aws.ToString(in.KeySchema[0].AttributeName) != "pk" || in.KeySchema[0].KeyType != types.KeyTypeHash {
					t.Errorf("KeySchema = %+v", in.KeySchema)
				}
				if len(in.GlobalSecondaryIndexes) != 1 {
					t.Fatalf("GlobalSecondaryIndexes = %+v", in.GlobalSecondaryIndexes)
				}
				g := in.GlobalSecondaryIndexes[0]
				if aws.ToString(g.IndexName) != "by-shard" || len(g.KeySchema) != 2 || g.KeySchema[1].KeyType != types.KeyTypeRange ||
					g.Projection.ProjectionType != types.ProjectionTypeInclude || strings.Join(g.Projection.NonKeyAttributes, ",") != "state" ||
					g.ProvisionedThroughput != nil {
					t.Errorf("GSI = %+v / %+v", g, g.Projection)
				}
				if got.ttl == nil || *got.ttl != (TTL{AttributeName: "expires_at", Enabled: true}) {
					t.Errorf("TTL = %+v", got.ttl)
				}
			},
		},
		{
			name: "provisioned with LSI, stream and literal name",
			table: `  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: fixed
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
        - {AttributeName: alt, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 2}
      GlobalSecondaryIndexes:
        - IndexName: g
          KeySchema: [{AttributeName: alt, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
          ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}
      LocalSecondaryIndexes:
        - IndexName: l
          KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: alt, KeyType: RANGE}]
          Projection: {ProjectionType: KEYS_ONLY}
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
`,
			check: func(t *testing.T, got *parsed) {
				in := got.in
				if aws.ToString(in.TableName) != "fixed" {
					t.Errorf("TableName = %v, want fixed", in.TableName)
				}
				if in.BillingMode != types.BillingModeProvisioned || aws.ToInt64(in.ProvisionedThroughput.ReadCapacityUnits) != 5 ||
					aws.ToInt64(in.ProvisionedThroughput.WriteCapacityUnits) != 2 {
					t.Errorf("billing = %s %+v", in.BillingMode, in.ProvisionedThroughput)
				}
				if g := in.GlobalSecondaryIndexes; len(g) != 1 || g[0].ProvisionedThroughput == nil {
					t.Errorf("GSI = %+v", g)
				}
				if l := in.LocalSecondaryIndexes; len(l) != 1 || aws.ToString(l[0].IndexName) != "l" {
					t.Errorf("LSI = %+v", l)
				}
				if s := in.StreamSpecification; s == nil || !aws.ToBool(s.StreamEnabled) || s.StreamViewType != types.StreamViewTypeNewAndOldImages {
					t.Errorf("StreamSpecification = %+v", s)
				}
				if got.ttl != nil {
					t.Errorf("TTL = %+v, want nil", got.ttl)
				}
			},
		},
		{
			name: "intrinsics resolved with the parameters",
			table: `  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: !If [IsProd, PROVISIONED, PAY_PER_REQUEST]
      KeySchema: [{AttributeName: {"Fn::Sub": "${Stage}"}, KeyType: HASH}]
`,
			check: func(t *testing.T, got *parsed) {
				if got.in.BillingMode != types.BillingModePayPerRequest || aws.ToString(got.in.KeySchema[0].AttributeName) != "dev" {
					t.Errorf("billing %s, key %+v; want PAY_PER_REQUEST and dev", got.in.BillingMode, got.in.KeySchema)
				}
			},
		},
		{
			name: "reference to another resource in a used property",
			table: `  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{AttributeName: !Ref Key, KeyType: HASH}]
`,
			wantErr: "Table refers to another resource",
		},
		{
			name: "unknown property",
			table: `  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      Replicas: []
`,
			wantErr: `unknown field "Replicas"`,
		},
		{
			name: "provisioned without throughput",
			table: `  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
`,
			wantErr: "PROVISIONED but has no ProvisionedThroughput",
		},
		{
			name: "wrong type",
			table: `  Table:
    Type: AWS::Serverless::SimpleTable
    Properties: {}
`,
			wantErr: "has Type AWS::Serverless::SimpleTable",
		},
		{
			name:    "missing resource",
			table:   "",
			wantErr: `no resource "Table"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := Parse([]byte(header + tt.table))
			if err != nil {
				t.Fatal(err)
			}
			in, ttl, err := tpl.CreateTable("Table")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, &parsed{in: in, ttl: ttl})
		})
	}
}

type parsed struct {
	in  *dynamodb.CreateTableInput
	ttl *TTL
}

// TestCreateTableRepo reads the real template, so a change there that this
// package cannot build is caught here rather than in every DynamoDB test.
func TestCreateTableRepo(t *testing.T) {
	t.Parallel()
	tpl, err := Load(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := tpl.CreateTable("SignupTable")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.KeySchema) == 0 || len(in.AttributeDefinitions) == 0 {
		t.Fatalf("SignupTable has no keys: %+v", in)
	}
	defined := map[string]bool{}
	for _, a := range in.AttributeDefinitions {
		defined[aws.ToString(a.AttributeName)] = true
	}
	keys := append([]types.KeySchemaElement(nil), in.KeySchema...)
	for _, g := range in.GlobalSecondaryIndexes {
		keys = append(keys, g.KeySchema...)
	}
	for _, k := range keys {
		if !defined[aws.ToString(k.AttributeName)] {
			t.Errorf("key attribute %s has no AttributeDefinition", aws.ToString(k.AttributeName))
		}
	}
}
