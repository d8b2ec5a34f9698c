package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/infra/sam"
)

// SignupTableID is the logical ID of the signup table in template.yaml.
const SignupTableID = "SignupTable"

// CreateTableFrom creates table name as template.yaml defines the
// AWS::DynamoDB::Table resource logicalID: keys, attribute definitions,
// indexes, billing mode, stream, then TTL. It waits until the table and its
// indexes are ACTIVE.
func CreateTableFrom(ctx context.Context, client *dynamodb.Client, logicalID, name string) error {
	tmpl, err := sam.Load(filepath.Join(RepoRoot(), "template.yaml"))
	if err != nil {
		return err
	}
	in, ttl, err := tmpl.CreateTable(logicalID)
	if err != nil {
		return err
	}
	return createTable(ctx, client, in, ttl, name)
}

func createTable(ctx context.Context, client *dynamodb.Client, in *dynamodb.CreateTableInput, ttl *sam.TTL, name string) error {
	in.TableName = aws.String(name)
	if _, err := client.CreateTable(ctx, in); err != nil {
		return fmt.Errorf("testenv: create table %s: %w", name, err)
	}
	if err := waitActive(ctx, client, name); err != nil {
		return err
	}
	if ttl != nil && ttl.Enabled {
		_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName: aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{
				AttributeName: aws.String(ttl.AttributeName),
				Enabled:       aws.Bool(true),
			},
		})
		if err != nil {
			return fmt.Errorf("testenv: enable TTL on %s: %w", name, err)
		}
	}
	return nil
}

// waitActive polls DescribeTable; DynamoDB Local is usually ACTIVE at once,
// which the SDK's waiter would still greet with a 20 s first delay.
func waitActive(ctx context.Context, client *dynamodb.Client, name string) error {
	ctx, cancel := withDefaultTimeout(ctx, time.Minute)
	defer cancel()
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err == nil && isActive(out.Table) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testenv: table %s not ACTIVE: %w (last DescribeTable error: %v)", name, ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func isActive(t *types.TableDescription) bool {
	if t == nil || t.TableStatus != types.TableStatusActive {
		return false
	}
	for _, g := range t.GlobalSecondaryIndexes {
		if g.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}

var unsafeTableChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// UniqueTableName returns a valid table name made from the test's name and a
// random suffix, so parallel tests and reruns on one DynamoDB Local never
// share a table.
func UniqueTableName(t testing.TB) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("testenv: UniqueTableName: %v", err)
	}
	base := unsafeTableChars.ReplaceAllString(t.Name(), "_")
	// DynamoDB allows 255 characters; keep names readable in logs.
	if len(base) > 200 {
		base = base[len(base)-200:]
	}
	return base + "-" + hex.EncodeToString(b[:])
}

// MustCreateTable creates a UniqueTableName table from the template resource
// logicalID, fails the test if it cannot, and deletes the table when the test
// ends. It returns the table's name.
func MustCreateTable(t testing.TB, client *dynamodb.Client, logicalID string) string {
	t.Helper()
	name := UniqueTableName(t)
	if err := CreateTableFrom(context.Background(), client, logicalID, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// In-memory tables vanish with DynamoDB Local anyway; deleting keeps a
		// long package run's memory flat.
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}
