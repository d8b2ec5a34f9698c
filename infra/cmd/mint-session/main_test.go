package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/apigatewaysim"
	"github.com/techprovider/wa-onboarding/shared/apiclient"
	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/session"
)

func keysFile(t *testing.T) (string, session.Keyset) {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-new-key", "2026-11"}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	ks, err := session.ParseKeyset(out.String())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, ks
}

func verify(t *testing.T, ks session.Keyset, link string) session.Claims {
	t.Helper()
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil {
		t.Fatal(err)
	}
	c, err := (&session.Verifier{Keys: session.StaticKeys(ks)}).Verify(context.Background(), u.Query().Get("session"))
	if err != nil {
		t.Fatalf("link %s: %v", link, err)
	}
	return c
}

func TestOffline(t *testing.T) {
	t.Parallel()
	path, ks := keysFile(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantTTL time.Duration
		prefix  string
	}{
		{name: "default ttl", args: []string{"-keys", path, "-page-url", "https://onboard.example.com/", "-client-ref", "customer-1"},
			wantTTL: session.DefaultTTL, prefix: "https://onboard.example.com/?session=v1.2026-11."},
		{name: "ttl and page query", args: []string{"-keys", path, "-page-url", "https://onboard.example.com/wa?lang=de", "-client-ref", "customer-1", "-ttl", "2h"},
			wantTTL: 2 * time.Hour, prefix: "https://onboard.example.com/wa?lang=de&session="},
		{name: "no page", args: []string{"-keys", path, "-client-ref", "c"}, wantErr: "-page-url"},
		{name: "no client", args: []string{"-keys", path, "-page-url", "https://x.example/"}, wantErr: "-client-ref is required"},
		{name: "bad client", args: []string{"-keys", path, "-page-url", "https://x.example/", "-client-ref", "a b"}, wantErr: "client_ref may contain only"},
		{name: "ttl too long", args: []string{"-keys", path, "-page-url", "https://x.example/", "-client-ref", "c", "-ttl", "25h"}, wantErr: "-ttl"},
		{name: "missing keys file", args: []string{"-keys", path + ".nope", "-page-url", "https://x.example/", "-client-ref", "c"}, wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(context.Background(), tt.args, nil, &out, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out.String(), tt.prefix) {
				t.Fatalf("link %q, want prefix %q", out.String(), tt.prefix)
			}
			if c := verify(t, ks, out.String()); c.ClientRef != "customer-1" || c.ExpiresAt.Sub(c.IssuedAt) != tt.wantTTL {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

func TestRotate(t *testing.T) {
	t.Parallel()
	path, before := keysFile(t)
	raw, _ := os.ReadFile(path)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-rotate", "2026-12"}, bytes.NewReader(raw), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	after, err := session.ParseKeyset(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if ids := strings.Join(after.IDs(), ","); ids != "2026-12,2026-11" {
		t.Fatalf("rotated keys %s", ids)
	}
	// A link of the old key still verifies after the rotation.
	var link bytes.Buffer
	if err := run(context.Background(), []string{"-keys", path, "-page-url", "https://x.example/", "-client-ref", "c"}, nil, &link, io.Discard); err != nil {
		t.Fatal(err)
	}
	verify(t, after, link.String())
	verify(t, before, link.String())
	if err := run(context.Background(), []string{"-rotate", "2026-11"}, bytes.NewReader(raw), io.Discard, io.Discard); err == nil {
		t.Fatal("rotating to an existing key ID succeeded")
	}
}

// TestAPI runs the sessions handler behind the local API Gateway stand-in
// with the AWS_IAM route, and checks that the request mint-session sends is
// SigV4-signed for execute-api, by signing it again on the server side.
func TestAPI(t *testing.T) {
	t.Parallel()
	_, ks := keysFile(t)
	m := &session.Minter{Keys: session.StaticKeys(ks), TTL: 10 * time.Minute}
	router, err := apigatewaysim.NewRouter([]apigatewaysim.Route{{
		Method: "POST", Path: apigw.SessionsPath, Auth: apigatewaysim.AuthIAM, Function: "SessionsFunction",
		Handler: apigw.SessionsHandler(m, "", logging.New(io.Discard, "ERROR")),
	}})
	if err != nil {
		t.Fatal(err)
	}
	router.Log = logging.New(io.Discard, "ERROR")
	signed := make(chan error, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		signed <- checkSignature(r, body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		router.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	tests := []struct {
		name    string
		args    []string
		wantTTL time.Duration
		wantErr string
	}{
		{name: "default ttl", args: []string{"-api", srv.URL, "-client-ref", "customer-1"}, wantTTL: 10 * time.Minute},
		{name: "ttl", args: []string{"-api", srv.URL + "/", "-client-ref", "customer-1", "-ttl", "90s", "-json"}, wantTTL: 90 * time.Second},
		{name: "refused", args: []string{"-api", srv.URL, "-client-ref", "not valid"}, wantErr: "400 Bad Request"},
		{name: "plain http elsewhere", args: []string{"-api", "http://api.example.com", "-client-ref", "c"}, wantErr: "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, nil, &out, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(tt.wantErr, "400") {
					if serr := <-signed; serr != nil {
						t.Fatal(serr)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if serr := <-signed; serr != nil {
				t.Fatal(serr)
			}
			link := out.String()
			if strings.Contains(strings.Join(tt.args, " "), "-json") {
				var ans apigw.SessionAnswer
				if err := json.Unmarshal(out.Bytes(), &ans); err != nil {
					t.Fatal(err)
				}
				link = ans.URL
			}
			if c := verify(t, ks, link); c.ExpiresAt.Sub(c.IssuedAt) != tt.wantTTL {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

// checkSignature re-signs the request as API Gateway checks it: the same
// credentials, time and payload must give the same Authorization.
func checkSignature(r *http.Request, body []byte) error {
	got := r.Header.Get("Authorization")
	if !strings.HasPrefix(got, "AWS4-HMAC-SHA256 Credential="+apiclient.LocalAccessKeyID+"/") || !strings.Contains(got, "/us-east-1/execute-api/aws4_request") {
		return &sigErr{"Authorization " + got}
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return err
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	again.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	base, _ := url.Parse("http://" + r.Host)
	signer, err := apiclient.NewSigner(context.Background(), base, "", false)
	if err != nil {
		return err
	}
	if err := signer.Sign(context.Background(), again, body, at); err != nil {
		return err
	}
	if want := again.Header.Get("Authorization"); want != got {
		return &sigErr{"signature mismatch:\n got " + got + "\nwant " + want}
	}
	return nil
}

type sigErr struct{ s string }

func (e *sigErr) Error() string { return e.s }

// TestErrorsNameMakeVariables runs the command as `make session` does
// (make exports MAKELEVEL): its errors name CLIENT_REF= and TTL=.
// t.Setenv rules out t.Parallel.
func TestErrorsNameMakeVariables(t *testing.T) {
	tests := []struct {
		makelevel string
		args      []string
		want      string
		notWant   string
	}{
		{"1", []string{"-client-ref", "c", "-ttl", "2s"}, "TTL= must be whole seconds", "-ttl"},
		{"1", []string{"-client-ref", "c", "-ttl", "soon"}, `invalid value "soon" for TTL=`, "-ttl"},
		{"1", []string{"-ttl", "15m"}, "CLIENT_REF= is required", "-client-ref is"},
		{"", []string{"-client-ref", "c", "-ttl", "2s"}, "-ttl must be whole seconds", "TTL="},
	}
	for _, tt := range tests {
		t.Setenv("MAKELEVEL", tt.makelevel)
		err := run(context.Background(), tt.args, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), tt.notWant) {
			t.Errorf("MAKELEVEL=%q run(%q) = %v; want an error with %q and without %q", tt.makelevel, tt.args, err, tt.want, tt.notWant)
		}
	}
}

// TestMain clears MAKELEVEL: `make test` runs go test from a recipe, which
// would make every message name Make variables; the tests that want that
// set it themselves.
func TestMain(m *testing.M) {
	_ = os.Unsetenv("MAKELEVEL")
	os.Exit(m.Run())
}
