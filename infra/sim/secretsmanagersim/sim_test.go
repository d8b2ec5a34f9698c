package secretsmanagersim_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/techprovider/wa-onboarding/infra/sim/secretsmanagersim"
)

func TestLifecycleThroughSDK(t *testing.T) {
	t.Parallel()
	sim, c := secretsmanagersim.StartWithClient(t, 1)
	ctx := t.Context()

	created, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("wa/plivo"), SecretString: aws.String("v1"), Description: aws.String("plivo creds"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(created.ARN), "arn:aws:secretsmanager:us-east-1:000000000000:secret:wa/plivo-") || created.VersionId == nil {
		t.Fatalf("CreateSecret = ARN %q, version %v", aws.ToString(created.ARN), created.VersionId)
	}

	put, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: created.ARN, SecretString: aws.String("v2")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(put.VersionStages, []string{"AWSCURRENT"}) {
		t.Errorf("PutSecretValue stages = %v", put.VersionStages)
	}

	tests := []struct {
		name string
		in   secretsmanager.GetSecretValueInput
		want string
	}{
		{name: "by name", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("wa/plivo")}, want: "v2"},
		{name: "by ARN", in: secretsmanager.GetSecretValueInput{SecretId: created.ARN}, want: "v2"},
		{name: "by partial ARN", in: secretsmanager.GetSecretValueInput{SecretId: aws.String(aws.ToString(created.ARN)[:len(aws.ToString(created.ARN))-7])}, want: "v2"},
		{name: "previous stage", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("wa/plivo"), VersionStage: aws.String("AWSPREVIOUS")}, want: "v1"},
		{name: "by version ID", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("wa/plivo"), VersionId: created.VersionId}, want: "v1"},
	}
	for _, tt := range tests {
		out, err := c.GetSecretValue(ctx, &tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := aws.ToString(out.SecretString); got != tt.want {
			t.Errorf("%s: SecretString = %q, want %q", tt.name, got, tt.want)
		}
	}

	desc, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("wa/plivo")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(desc.Description) != "plivo creds" || len(desc.VersionIdsToStages) != 2 || desc.CreatedDate == nil {
		t.Errorf("DescribeSecret = %+v", desc)
	}
	if !slices.Equal(desc.VersionIdsToStages[aws.ToString(put.VersionId)], []string{"AWSCURRENT"}) {
		t.Errorf("stages of new version = %v", desc.VersionIdsToStages[aws.ToString(put.VersionId)])
	}

	want := map[string]int{"CreateSecret": 1, "PutSecretValue": 1, "GetSecretValue": len(tests), "DescribeSecret": 1}
	for op, n := range want {
		if got := sim.Calls(op); got != n {
			t.Errorf("Calls(%s) = %d, want %d", op, got, n)
		}
	}
}

func TestErrorsThroughSDK(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(*secretsmanager.Client) error
		want func(error) bool
	}{
		{
			name: "get missing secret",
			call: func(c *secretsmanager.Client) error {
				_, err := c.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")})
				return err
			},
			want: func(err error) bool {
				var e *types.ResourceNotFoundException
				return errors.As(err, &e) && strings.Contains(e.ErrorMessage(), "can't find")
			},
		},
		{
			name: "describe missing secret",
			call: func(c *secretsmanager.Client) error {
				_, err := c.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String("nope")})
				return err
			},
			want: func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) },
		},
		{
			name: "create existing secret",
			call: func(c *secretsmanager.Client) error {
				_, err := c.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String("seeded"), SecretString: aws.String("x")})
				return err
			},
			want: func(err error) bool { var e *types.ResourceExistsException; return errors.As(err, &e) },
		},
		{
			name: "put to missing secret",
			call: func(c *secretsmanager.Client) error {
				_, err := c.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String("nope"), SecretString: aws.String("x")})
				return err
			},
			want: func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) },
		},
		{
			name: "missing version stage",
			call: func(c *secretsmanager.Client) error {
				_, err := c.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("seeded"), VersionStage: aws.String("AWSPENDING")})
				return err
			},
			want: func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, c := secretsmanagersim.StartWithClient(t, 1)
			sim.Put("seeded", "v")
			if err := tt.call(c); !tt.want(err) {
				t.Errorf("error = %v (%T)", err, err)
			}
		})
	}
}

func TestFaultsAreRetriedBySDKAndCounted(t *testing.T) {
	t.Parallel()
	sim, c := secretsmanagersim.StartWithClient(t, 3)
	sim.Put("s", "v")
	sim.FailNext(secretsmanagersim.OpGetSecretValue, 2, secretsmanagersim.Fault{Type: secretsmanagersim.ErrInternalService, Status: 500, Message: "try later"})
	out, err := c.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
	if err != nil || aws.ToString(out.SecretString) != "v" {
		t.Fatalf("GetSecretValue = %v, %v", out, err)
	}
	if n := sim.Calls(secretsmanagersim.OpGetSecretValue); n != 3 {
		t.Errorf("Calls = %d, want 3 (two injected 500s, then success)", n)
	}
	sim.ResetCalls()
	if n := sim.Calls(secretsmanagersim.OpGetSecretValue); n != 0 {
		t.Errorf("Calls after reset = %d", n)
	}
}

func TestRawProtocol(t *testing.T) {
	t.Parallel()
	sim, c := secretsmanagersim.StartWithClient(t, 1)
	url := aws.ToString(c.Options().BaseEndpoint)
	sim.Put("s", "v")
	tests := []struct {
		name       string
		target     string
		body       string
		wantStatus int
		wantType   string
	}{
		{name: "get", target: "secretsmanager.GetSecretValue", body: `{"SecretId":"s"}`, wantStatus: 200},
		{name: "not found", target: "secretsmanager.GetSecretValue", body: `{"SecretId":"x"}`, wantStatus: 400, wantType: "ResourceNotFoundException"},
		{name: "unknown operation", target: "secretsmanager.RotateSecret", body: `{}`, wantStatus: 400, wantType: "UnknownOperationException"},
		{name: "foreign target", target: "DynamoDB_20120810.GetItem", body: `{}`, wantStatus: 400, wantType: "UnknownOperationException"},
		{name: "bad JSON", target: "secretsmanager.GetSecretValue", body: `{`, wantStatus: 400, wantType: "SerializationException"},
	}
	// The group returns only when its parallel subtests have finished, so
	// the counters read below include them.
	t.Run("ops", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(tt.body))
				req.Header.Set("X-Amz-Target", tt.target)
				req.Header.Set("Content-Type", "application/x-amz-json-1.1")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&body)
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
				}
				if tt.wantType != "" && (body["__type"] != tt.wantType || body["message"] == "") {
					t.Errorf("body = %v, want __type %s and a message", body, tt.wantType)
				}
			})
		}
	})

	resp, err := http.Get(url + secretsmanagersim.CallsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var counts map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil {
		t.Fatal(err)
	}
	if counts["GetSecretValue"] != 2 || counts["RotateSecret"] != 1 {
		t.Errorf("calls endpoint = %v", counts)
	}
}
