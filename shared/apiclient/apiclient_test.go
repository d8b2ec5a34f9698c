package apiclient_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/apiclient"
)

func TestBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{"https://abc123.execute-api.eu-west-1.amazonaws.com/", "https://abc123.execute-api.eu-west-1.amazonaws.com", true},
		{"http://localhost:8080", "http://localhost:8080", true},
		{"ftp://example.com", "", false},
		{"example.com", "", false},
		{"https://", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		u, err := apiclient.BaseURL(tt.raw)
		if (err == nil) != tt.ok {
			t.Errorf("BaseURL(%q) error %v, want ok=%v", tt.raw, err, tt.ok)
			continue
		}
		if tt.ok && u.String() != tt.want {
			t.Errorf("BaseURL(%q) = %s, want %s", tt.raw, u, tt.want)
		}
	}
}

func TestIsLocalAndRegionOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host   string
		local  bool
		region string
	}{
		{"localhost", true, ""},
		{"api.localhost", true, ""},
		{"127.0.0.1", true, ""},
		{"::1", true, ""},
		{"10.0.0.5", false, ""},
		{"localhost.example.com", false, ""},
		{"abc123.execute-api.ap-south-1.amazonaws.com", false, "ap-south-1"},
		{"abc123.execute-api.cn-north-1.amazonaws.com.cn", false, "cn-north-1"},
		{"abc123-vpce-0123456789abcdef0.execute-api.eu-central-1.vpce.amazonaws.com", false, "eu-central-1"},
		{"abc123.execute-api.eu-west-1.example.com", false, ""},
		{"onboard.example.com", false, ""},
		{"execute-api.eu-west-1.amazonaws.com", false, ""},
	}
	for _, tt := range tests {
		if got := apiclient.IsLocal(tt.host); got != tt.local {
			t.Errorf("IsLocal(%q) = %v", tt.host, got)
		}
		if got := apiclient.RegionOf(tt.host); got != tt.region {
			t.Errorf("RegionOf(%q) = %q, want %q", tt.host, got, tt.region)
		}
	}
}

// TestNewSigner gives the SDK's default chain static credentials and no
// region; t.Setenv rules out t.Parallel.
func TestNewSigner(t *testing.T) {
	testenv.SetAWSEnv(t, map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": ""})
	const real = testenv.DummyAccessKeyID
	tests := []struct {
		name, base, region  string
		real                bool
		wantKey, wantRegion string
		wantErr             string
	}{
		{name: "local stack: placeholders", base: "http://localhost:8080", wantKey: apiclient.LocalAccessKeyID, wantRegion: "us-east-1"},
		{name: "local stack, region given", base: "http://127.0.0.1:8080", region: "eu-west-3", wantKey: apiclient.LocalAccessKeyID, wantRegion: "eu-west-3"},
		{name: "local stack, real asked", base: "http://localhost:8080", region: "eu-west-1", real: true, wantKey: real, wantRegion: "eu-west-1"},
		{name: "deployed: region from host", base: "https://abc.execute-api.ap-south-1.amazonaws.com", wantKey: real, wantRegion: "ap-south-1"},
		{name: "deployed: flag wins", base: "https://abc.execute-api.ap-south-1.amazonaws.com", region: "eu-west-1", wantKey: real, wantRegion: "eu-west-1"},
		{name: "custom domain, no region anywhere", base: "https://onboard.example.com", wantErr: "no AWS region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, err := url.Parse(tt.base)
			if err != nil {
				t.Fatal(err)
			}
			s, err := apiclient.NewSigner(context.Background(), base, tt.region, tt.real)
			if err != nil || tt.wantErr != "" {
				if tt.wantErr == "" || err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if s.Credentials.AccessKeyID != tt.wantKey || s.Region != tt.wantRegion {
				t.Fatalf("signer %s in %s, want %s in %s", s.Credentials.AccessKeyID, s.Region, tt.wantKey, tt.wantRegion)
			}
		})
	}
}

// TestSignIsDeterministic signs one request twice at the same instant, as
// API Gateway re-derives the signature, and once with another body.
func TestSignIsDeterministic(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("http://localhost:8080")
	s, err := apiclient.NewSigner(context.Background(), base, "", false)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	sign := func(body string) string {
		req, _ := http.NewRequest(http.MethodPost, "http://localhost:8080/api/onboarding-sessions", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		if err := s.Sign(context.Background(), req, []byte(body), at); err != nil {
			t.Fatal(err)
		}
		return req.Header.Get("Authorization")
	}
	first, again, other := sign(`{"client_ref":"c-1"}`), sign(`{"client_ref":"c-1"}`), sign(`{"client_ref":"c-2"}`)
	if !strings.HasPrefix(first, "AWS4-HMAC-SHA256 Credential=LOCALSTACK/20261206/us-east-1/execute-api/aws4_request") {
		t.Fatalf("Authorization = %q", first)
	}
	if first != again {
		t.Fatalf("same request, two signatures:\n%s\n%s", first, again)
	}
	if first == other {
		t.Fatal("the signature does not cover the body")
	}
}
