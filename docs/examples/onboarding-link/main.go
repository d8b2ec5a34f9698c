// Command onboarding-link is the example of docs/sessions.md: how a Tech
// Provider's backend asks the onboarding API for a link for one of its
// customers, signing the request with SigV4 (aws-sdk-go-v2's
// aws/signer/v4) under the backend's own IAM role. Copy it into your
// backend; it depends on aws-sdk-go-v2 only.
//
//	ONBOARDING_API=https://abc123.execute-api.eu-west-1.amazonaws.com \
//	  go run ./docs/examples/onboarding-link customer-42
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Link is the API's answer.
type Link struct {
	URL       string `json:"url"`
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"`
	ClientRef string `json:"client_ref"`
}

func main() {
	if len(os.Args) != 2 || os.Getenv("ONBOARDING_API") == "" {
		fmt.Fprintln(os.Stderr, "usage: ONBOARDING_API=https://<api-id>.execute-api.<region>.amazonaws.com onboarding-link <client_ref>")
		os.Exit(2)
	}
	link, err := NewOnboardingLink(context.Background(), os.Getenv("ONBOARDING_API"), os.Args[1], 15*time.Minute)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Redirect the customer's browser to link.URL, or send it to them.
	fmt.Println(link.URL)
}

// NewOnboardingLink asks api (the stack's ApiUrl) for a link that binds an
// Embedded Signup to clientRef for ttl.
func NewOnboardingLink(ctx context.Context, api, clientRef string, ttl time.Duration) (Link, error) {
	// The backend's credentials: its role in Lambda, ECS or EC2, or a
	// profile. The role needs execute-api:Invoke on the stack's
	// OnboardingSessionsInvokeArn output.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return Link{}, err
	}
	body, _ := json.Marshal(map[string]any{"client_ref": clientRef, "ttl_seconds": int(ttl.Seconds())})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(api, "/")+"/api/onboarding-sessions", bytes.NewReader(body))
	if err != nil {
		return Link{}, err
	}
	req.Header.Set("Content-Type", "application/json")

	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return Link{}, err
	}
	sum := sha256.Sum256(body)
	// Service "execute-api", the API's region (cfg.Region must be it).
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", cfg.Region, time.Now()); err != nil {
		return Link{}, err
	}

	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return Link{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusCreated {
		// 403 {"message":"Forbidden"}: the role may not invoke the route;
		// 400 with error.fields: client_ref or ttl_seconds is invalid.
		return Link{}, fmt.Errorf("onboarding API answered %s: %s", resp.Status, raw)
	}
	var link Link
	return link, json.Unmarshal(raw, &link)
}
