package faultproxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/infra/sim/faultproxy"
	"github.com/techprovider/wa-onboarding/infra/testenv"
)

func TestMain(m *testing.M) { testenv.MustDynamoDB(m) }

// sdkRetries keeps the SDK's standard retryer (3 attempts, same retryable
// errors) without its backoff, so a test that spends retries is fast.
func sdkRetries(o *dynamodb.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

func noRetries(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} }

type call func(ctx context.Context, c *dynamodb.Client, table, id string) error

func put(ctx context.Context, c *dynamodb.Client, table, id string) error {
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]types.AttributeValue{
			"waba_id": &types.AttributeValueMemberS{Value: id},
			"state":   &types.AttributeValueMemberS{Value: "created"},
		},
	})
	return err
}

// create is the idempotency lock's shape: a put that must not overwrite.
func create(ctx context.Context, c *dynamodb.Client, table, id string) error {
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]types.AttributeValue{
			"waba_id": &types.AttributeValueMemberS{Value: id},
		},
		ConditionExpression: aws.String("attribute_not_exists(waba_id)"),
	})
	return err
}

func get(ctx context.Context, c *dynamodb.Client, table, id string) error {
	_, err := c.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key:       map[string]types.AttributeValue{"waba_id": &types.AttributeValueMemberS{Value: id}},
	})
	return err
}

func TestFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	direct := testenv.DynamoClient("")
	table := testenv.MustCreateTable(t, direct, testenv.SignupTableID)

	type counts struct{ requests, forwarded int }
	tests := []struct {
		name    string
		arm     func(p *faultproxy.Proxy)
		retries func(*dynamodb.Options)
		call    call
		wantErr func(error) bool // nil: no error
		stored  bool             // the item is in the table afterwards
		put     counts           // PutItem requests seen and forwarded
		pending int
	}{
		{
			name:    "no fault",
			arm:     func(*faultproxy.Proxy) {},
			retries: sdkRetries, call: put,
			stored: true, put: counts{1, 1},
		},
		{
			name: "throttled past the SDK's retries",
			arm: func(p *faultproxy.Proxy) {
				p.Inject(faultproxy.Fault{Operation: "PutItem", Action: faultproxy.Throttle, Count: 10})
			},
			retries: sdkRetries, call: put,
			wantErr: isThrottle,
			put:     counts{3, 0}, pending: 7,
		},
		{
			name: "throttled, then the third attempt passes",
			arm: func(p *faultproxy.Proxy) {
				p.Inject(faultproxy.Fault{Operation: "PutItem", Action: faultproxy.Throttle, Count: 2})
			},
			retries: sdkRetries, call: put,
			stored: true, put: counts{3, 1},
		},
		{
			name: "throttle for another operation",
			arm: func(p *faultproxy.Proxy) {
				p.Inject(faultproxy.Fault{Operation: "GetItem", Action: faultproxy.Throttle, Count: 1})
			},
			retries: sdkRetries, call: put,
			stored: true, put: counts{1, 1}, pending: 1,
		},
		{
			name: "throttle for any operation, no retries",
			arm: func(p *faultproxy.Proxy) {
				p.Inject(faultproxy.Fault{Operation: "", Action: faultproxy.Throttle, Count: 1})
			},
			retries: noRetries, call: put,
			wantErr: isThrottle,
			put:     counts{1, 0},
		},
		{
			name:    "dropped before forward: nothing written",
			arm:     func(p *faultproxy.Proxy) { p.Inject(faultproxy.Fault{Action: faultproxy.DropBeforeForward, Count: 1}) },
			retries: noRetries, call: put,
			wantErr: isConnectionLost,
			put:     counts{1, 0},
		},
		{
			name:    "dropped after forward: written, answer lost",
			arm:     func(p *faultproxy.Proxy) { p.Inject(faultproxy.Fault{Action: faultproxy.DropAfterForward, Count: 1}) },
			retries: noRetries, call: put,
			wantErr: isConnectionLost,
			stored:  true, put: counts{1, 1},
		},
		{
			name:    "dropped after forward, SDK retries a plain put",
			arm:     func(p *faultproxy.Proxy) { p.Inject(faultproxy.Fault{Action: faultproxy.DropAfterForward, Count: 1}) },
			retries: sdkRetries, call: put,
			stored: true, put: counts{2, 2},
		},
		{
			// The case idempotency must handle: the retry of an applied
			// conditional write fails its own condition.
			name:    "dropped after forward, SDK retries a conditional create",
			arm:     func(p *faultproxy.Proxy) { p.Inject(faultproxy.Fault{Action: faultproxy.DropAfterForward, Count: 1}) },
			retries: sdkRetries, call: create,
			wantErr: isConditionFailed,
			stored:  true, put: counts{2, 2},
		},
		{
			name: "faults spent in the order armed",
			arm: func(p *faultproxy.Proxy) {
				p.Inject(faultproxy.Fault{Operation: "PutItem", Action: faultproxy.Throttle, Count: 1})
				p.Inject(faultproxy.Fault{Action: faultproxy.Delay, Count: 1, Delay: 10 * time.Millisecond})
			},
			retries: sdkRetries, call: put,
			stored: true, put: counts{2, 1},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := faultproxy.New(testenv.SharedDynamoDB().Endpoint)
			defer p.Close()
			c := testenv.DynamoClient(p.URL(), tt.retries)
			id := fmt.Sprintf("waba-%d", i)
			tt.arm(p)

			err := tt.call(ctx, c, table, id)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tt.wantErr != nil && !tt.wantErr(err):
				t.Fatalf("err = %v (%T), not the expected kind", err, err)
			}
			if got := (counts{p.Requests("PutItem"), p.Forwarded("PutItem")}); got != tt.put {
				t.Errorf("PutItem requests, forwarded = %+v, want %+v", got, tt.put)
			}
			if got := p.Pending(); got != tt.pending {
				t.Errorf("Pending() = %d, want %d", got, tt.pending)
			}
			out, err := direct.GetItem(ctx, &dynamodb.GetItemInput{
				TableName:      aws.String(table),
				Key:            map[string]types.AttributeValue{"waba_id": &types.AttributeValueMemberS{Value: id}},
				ConsistentRead: aws.Bool(true),
			})
			if err != nil {
				t.Fatal(err)
			}
			if stored := out.Item != nil; stored != tt.stored {
				t.Errorf("item stored = %v, want %v", stored, tt.stored)
			}
		})
	}
}

func isThrottle(err error) bool {
	var e *types.ProvisionedThroughputExceededException
	return errors.As(err, &e)
}

func isConditionFailed(err error) bool {
	var e *types.ConditionalCheckFailedException
	return errors.As(err, &e)
}

// isConnectionLost is how the SDK reports an answer that never came.
func isConnectionLost(err error) bool {
	return err != nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "connection reset"))
}

func TestDelay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	direct := testenv.DynamoClient("")
	table := testenv.MustCreateTable(t, direct, testenv.SignupTableID)
	tests := []struct {
		name    string
		delay   time.Duration
		timeout time.Duration
		wantErr bool
	}{
		{"slower than usual", 200 * time.Millisecond, 10 * time.Second, false},
		{"past the caller's deadline", 5 * time.Second, 100 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := faultproxy.New(testenv.SharedDynamoDB().Endpoint)
			defer p.Close()
			p.Inject(faultproxy.Fault{Action: faultproxy.Delay, Count: 1, Delay: tt.delay})
			c := testenv.DynamoClient(p.URL(), noRetries)
			ctx, cancel := context.WithTimeout(ctx, tt.timeout)
			defer cancel()
			start := time.Now()
			err := get(ctx, c, table, "any")
			took := time.Since(start)
			if tt.wantErr {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want deadline exceeded", err)
				}
				if p.Forwarded("GetItem") != 0 {
					t.Error("a request cancelled during its delay was forwarded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if took < tt.delay {
				t.Errorf("took %v, want at least %v", took, tt.delay)
			}
			// Only the next one: the second call is not held.
			start = time.Now()
			if err := get(ctx, c, table, "any"); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took >= tt.delay {
				t.Errorf("second call took %v: delayed again", took)
			}
		})
	}
}

// TestProxyUnit checks matching and counting against a stand-in backend,
// with no DynamoDB in the way.
func TestProxyUnit(t *testing.T) {
	t.Parallel()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(backend.Close) // after the parallel subtests, unlike defer

	// op is an operation, then the table its body names, if any.
	send := func(p *faultproxy.Proxy, op string) (int, error) {
		op, table, _ := strings.Cut(op, " ")
		req, _ := http.NewRequest(http.MethodPost, p.URL(), strings.NewReader(`{"TableName":"`+table+`"}`))
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}

	tests := []struct {
		name   string
		faults []faultproxy.Fault
		ops    []string
		want   []int // status per request, 0 for a dropped connection
	}{
		{
			name:   "operation filter skips other operations",
			faults: []faultproxy.Fault{{Operation: "Query", Action: faultproxy.Throttle, Count: 1}},
			ops:    []string{"GetItem", "Query", "Query"},
			want:   []int{200, 400, 200},
		},
		{
			name: "first armed matching fault wins",
			faults: []faultproxy.Fault{
				{Operation: "PutItem", Action: faultproxy.DropBeforeForward, Count: 1},
				{Action: faultproxy.Throttle, Count: 2},
			},
			ops:  []string{"GetItem", "PutItem", "PutItem", "PutItem"},
			want: []int{400, 0, 400, 200},
		},
		{
			name:   "table filter skips other tables' writes of the same operation",
			faults: []faultproxy.Fault{{Operation: "PutItem", Table: "signups", Action: faultproxy.Throttle, Count: 1}},
			ops:    []string{"PutItem sessions", "PutItem", "PutItem signups", "PutItem signups"},
			want:   []int{200, 200, 400, 200},
		},
		{
			name:   "skip lets the first matching requests through",
			faults: []faultproxy.Fault{{Operation: "UpdateItem", Action: faultproxy.Throttle, Skip: 1, Count: 1}},
			ops:    []string{"UpdateItem", "GetItem", "UpdateItem", "UpdateItem"},
			want:   []int{200, 200, 400, 200},
		},
		{
			name: "a skipped request still meets the faults armed after",
			faults: []faultproxy.Fault{
				{Operation: "UpdateItem", Action: faultproxy.DropBeforeForward, Skip: 1, Count: 1},
				{Action: faultproxy.Throttle, Count: 1},
			},
			ops:  []string{"UpdateItem", "UpdateItem", "GetItem"},
			want: []int{400, 0, 200},
		},
		{
			name:   "zero count arms nothing",
			faults: []faultproxy.Fault{{Action: faultproxy.Throttle}},
			ops:    []string{"PutItem"},
			want:   []int{200},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := faultproxy.New(backend.URL)
			defer p.Close()
			for _, f := range tt.faults {
				p.Inject(f)
			}
			for i, op := range tt.ops {
				got, err := send(p, op)
				if err != nil {
					got = 0
				}
				if got != tt.want[i] {
					t.Errorf("request %d (%s) = %d (%v), want %d", i, op, got, err, tt.want[i])
				}
			}
			if got := p.Requests(""); got != len(tt.ops) {
				t.Errorf("Requests(\"\") = %d, want %d", got, len(tt.ops))
			}
			if p.Pending() != 0 {
				t.Errorf("Pending() = %d, want 0", p.Pending())
			}
			p.Reset()
			if p.Requests("") != 0 || p.Forwarded("") != 0 {
				t.Error("Reset left counters")
			}
		})
	}
}

func TestOperation(t *testing.T) {
	t.Parallel()
	tests := []struct{ target, want string }{
		{"DynamoDB_20120810.PutItem", "PutItem"},
		{"DynamoDBStreams_20120810.GetRecords", "GetRecords"},
		{"", ""},
		{"Bare", "Bare"},
	}
	for _, tt := range tests {
		if got := faultproxy.Operation(tt.target); got != tt.want {
			t.Errorf("Operation(%q) = %q, want %q", tt.target, got, tt.want)
		}
	}
}
