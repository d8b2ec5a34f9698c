package testenv_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/infra/testenv"
)

func TestMain(m *testing.M) { testenv.MustDynamoDB(m) }

func TestRepoRoot(t *testing.T) {
	t.Parallel()
	root := testenv.RepoRoot()
	for _, f := range []string{"go.mod", "template.yaml", "infra/scripts/deps.sh"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("RepoRoot() = %s: %v", root, err)
		}
	}
}

func TestSharedDynamoDB(t *testing.T) {
	t.Parallel()
	db := testenv.SharedDynamoDB()
	if db == nil {
		t.Fatal("SharedDynamoDB() = nil inside MustDynamoDB")
	}
	t.Logf("DynamoDB Local started in %v (log %s)", db.Startup, db.LogPath)
	for _, kv := range db.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if got := os.Getenv(k); got != v {
			t.Errorf("$%s = %q, want %q", k, got, v)
		}
	}
	// An empty endpoint means the one MustDynamoDB exported.
	client := testenv.DynamoClient("")
	if _, err := client.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
}

// TestSignupTable builds the table from template.yaml and uses it the way the
// store does: a put, a get, and a query on the retry index.
func TestSignupTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := testenv.DynamoClient("")
	name := testenv.MustCreateTable(t, client, testenv.SignupTableID)

	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	tbl := out.Table
	if tbl.TableStatus != types.TableStatusActive {
		t.Errorf("status = %s", tbl.TableStatus)
	}
	if tbl.BillingModeSummary == nil || tbl.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing = %+v, want PAY_PER_REQUEST", tbl.BillingModeSummary)
	}
	if got := keys(tbl.KeySchema); got != "waba_id:HASH" {
		t.Errorf("key schema = %s", got)
	}
	var gsi *types.GlobalSecondaryIndexDescription
	for i := range tbl.GlobalSecondaryIndexes {
		if aws.ToString(tbl.GlobalSecondaryIndexes[i].IndexName) == "pending-retry" {
			gsi = &tbl.GlobalSecondaryIndexes[i]
		}
	}
	if gsi == nil {
		t.Fatalf("no pending-retry GSI in %+v", tbl.GlobalSecondaryIndexes)
	}
	if got := keys(gsi.KeySchema); got != "retry_shard:HASH,next_retry_at:RANGE" {
		t.Errorf("GSI key schema = %s", got)
	}
	if gsi.Projection == nil || gsi.Projection.ProjectionType != types.ProjectionTypeKeysOnly {
		t.Errorf("GSI projection = %+v", gsi.Projection)
	}

	item := map[string]types.AttributeValue{
		"waba_id":       &types.AttributeValueMemberS{Value: "waba-1"},
		"state":         &types.AttributeValueMemberS{Value: "pending"},
		"retry_shard":   &types.AttributeValueMemberS{Value: "pending"},
		"next_retry_at": &types.AttributeValueMemberN{Value: "1700000000000"},
	}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: item}); err != nil {
		t.Fatal(err)
	}
	got, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(name),
		Key:            map[string]types.AttributeValue{"waba_id": item["waba_id"]},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := got.Item["state"].(*types.AttributeValueMemberS); !ok || s.Value != "pending" {
		t.Errorf("GetItem state = %#v", got.Item["state"])
	}
	q, err := client.Query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(name),
		IndexName:              aws.String("pending-retry"),
		KeyConditionExpression: aws.String("retry_shard = :s AND next_retry_at <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s":   &types.AttributeValueMemberS{Value: "pending"},
			":now": &types.AttributeValueMemberN{Value: "1800000000000"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Items) != 1 {
		t.Errorf("GSI query returned %d items, want 1", len(q.Items))
	}
	if _, ok := q.Items[0]["state"]; ok && len(q.Items) == 1 {
		t.Errorf("KEYS_ONLY index returned a non-key attribute: %v", q.Items[0])
	}
}

func keys(ks []types.KeySchemaElement) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	return strings.Join(parts, ",")
}

func TestCreateTableErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := testenv.DynamoClient("")
	name := testenv.MustCreateTable(t, client, testenv.SignupTableID)
	tests := []struct {
		name      string
		logicalID string
		table     string
		want      string
	}{
		{"existing table", testenv.SignupTableID, name, "ResourceInUseException"},
		{"unknown resource", "NoSuchTable", "x-" + name, `no resource "NoSuchTable"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := testenv.CreateTableFrom(ctx, client, tt.logicalID, tt.table)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestUniqueTableName(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)
	tests := []struct{ name string }{
		{"plain"},
		{"with spaces and/slashes: ünïcode #1"},
		{strings.Repeat("long", 80)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := testenv.UniqueTableName(t), testenv.UniqueTableName(t)
			if !valid.MatchString(a) {
				t.Errorf("UniqueTableName = %q, not a valid table name", a)
			}
			if a == b {
				t.Errorf("two calls gave the same name %q", a)
			}
		})
	}
}

func TestFreePort(t *testing.T) {
	t.Parallel()
	seen := map[int]bool{}
	for range 50 {
		p := testenv.FreePort()
		if p <= 0 || p > 65535 || seen[p] {
			t.Fatalf("FreePort() = %d (seen before: %v)", p, seen[p])
		}
		seen[p] = true
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort()))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("FreePort gave %s, which cannot be listened on: %v", addr, err)
	}
	l.Close()
}

// TestStartDynamoDB starts instances of its own beside the shared one, at
// once, as parallel test packages do.
func TestStartDynamoDB(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 2
	dbs := make([]*testenv.DynamoDB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = testenv.StartDynamoDB(ctx) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		defer dbs[i].Stop()
	}
	if dbs[0].Endpoint == dbs[1].Endpoint {
		t.Fatalf("two instances on one endpoint %s", dbs[0].Endpoint)
	}
	for _, db := range dbs {
		t.Logf("DynamoDB Local started in %v", db.Startup)
		// In memory and separate: a table in one is not in the other.
		c := testenv.DynamoClient(db.Endpoint)
		if err := testenv.CreateTableFrom(ctx, c, testenv.SignupTableID, "only-here"); err != nil {
			t.Fatal(err)
		}
	}

	db := dbs[0]
	db.Stop()
	db.Stop() // twice is fine
	if _, err := http.Get(db.Endpoint); err == nil {
		t.Errorf("%s still answers after Stop", db.Endpoint)
	}
}

func TestRIE(t *testing.T) {
	t.Parallel()
	// A fresh machine builds the standard library without cgo here first.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := testenv.BuildFunction(ctx, "./infra/testenv/testdata/echo", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(bin) != "bootstrap" || filepath.Base(filepath.Dir(bin)) != "echo" {
		t.Errorf("BuildFunction path = %s, want .../echo/bootstrap", bin)
	}
	env := append(testenv.SharedDynamoDB().Environ(), "TESTENV_EXTRA=extra")

	// Two at once: each needs its own Runtime API port as well.
	rs := make([]*testenv.RIE, 2)
	for i := range rs {
		rs[i], err = testenv.StartRIE(ctx, bin, env)
		if err != nil {
			t.Fatal(err)
		}
		defer rs[i].Stop()
	}

	type answer struct {
		Said         string `json:"said"`
		FunctionName string `json:"function_name"`
		Endpoint     string `json:"endpoint"`
		Extra        string `json:"extra"`
		Home         string `json:"home"`
		ErrorMessage string `json:"errorMessage"`
	}
	tests := []struct {
		name    string
		payload string
		want    answer
	}{
		{"echo", `{"say":"hi"}`, answer{
			Said: "hi", FunctionName: "echo", Endpoint: testenv.SharedDynamoDB().Endpoint, Extra: "extra",
		}},
		{"function error", `{"fail":true}`, answer{ErrorMessage: "asked to fail"}},
	}
	for i, r := range rs {
		if r.FirstInvoke() != 0 {
			t.Errorf("FirstInvoke before any = %v", r.FirstInvoke())
		}
		for _, tt := range tests {
			body, err := r.Invoke(ctx, []byte(tt.payload))
			if err != nil {
				t.Fatalf("rie %d %s: %v", i, tt.name, err)
			}
			var got answer
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("rie %d %s: %v in %s", i, tt.name, err, body)
			}
			if got != tt.want {
				t.Errorf("rie %d %s = %+v, want %+v", i, tt.name, got, tt.want)
			}
		}
		if r.FirstInvoke() <= 0 {
			t.Errorf("FirstInvoke = %v after invocations", r.FirstInvoke())
		}
		t.Logf("rie %d: first invocation (cold start) took %v", i, r.FirstInvoke())
	}

	r := rs[0]
	r.Stop()
	if _, err := r.Invoke(ctx, []byte(`{}`)); err == nil {
		t.Error("Invoke after Stop succeeded")
	}
}

func TestStartRIEErrors(t *testing.T) {
	t.Parallel()
	_, err := testenv.StartRIE(context.Background(), filepath.Join(t.TempDir(), "none", "bootstrap"), nil)
	if err == nil || !strings.Contains(err.Error(), "no function binary") {
		t.Fatalf("err = %v", err)
	}
}

func TestBuildFunctionError(t *testing.T) {
	t.Parallel()
	_, err := testenv.BuildFunction(context.Background(), "no-such-function", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "./functions/no-such-function") {
		t.Fatalf("err = %v", err)
	}
}
