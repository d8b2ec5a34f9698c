package testenv

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/techprovider/wa-onboarding/infra/sam"
)

func TestFunctionEnv(t *testing.T) {
	t.Parallel()
	got := functionEnv("signup", []string{
		"AWS_REGION=eu-west-1",
		"TABLE_NAME=t",
		"AWS_LAMBDA_MAX_CONCURRENCY=4",
		"TABLE_NAME=t2",
	})
	want := map[string]string{
		"AWS_REGION":               "eu-west-1",
		"AWS_LAMBDA_FUNCTION_NAME": "signup",
		"TABLE_NAME":               "t2",
		"TZ":                       ":UTC",
	}
	seen := map[string]bool{}
	for _, kv := range got {
		k, v, _ := strings.Cut(kv, "=")
		if seen[k] {
			t.Errorf("%s twice in %v", k, got)
		}
		seen[k] = true
		if w, ok := want[k]; ok && v != w {
			t.Errorf("%s = %q, want %q", k, v, w)
		}
	}
	if seen["AWS_LAMBDA_MAX_CONCURRENCY"] || seen["HOME"] {
		t.Errorf("env leaks: %v", got)
	}
}

// TestCreateTableTTL runs the TTL half of CreateTableFrom, which the current
// template does not exercise, on a spec parsed from an inline template.
func TestCreateTableTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tmpl, err := sam.Parse([]byte(`
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	in, ttl, err := tmpl.CreateTable("T")
	if err != nil {
		t.Fatal(err)
	}
	client := DynamoClient("")
	name := UniqueTableName(t)
	if err := createTable(ctx, client, in, ttl, name); err != nil {
		t.Fatal(err)
	}
	out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != "expires_at" {
		t.Errorf("TTL = %+v, want expires_at", d)
	}
}
