// Package apiclient signs requests to the onboarding API's IAM-authorized
// routes (onboarding sessions, the App Review demos) the way API Gateway
// checks them: SigV4 for the service execute-api, in the API's region.
//
// The commands a Tech Provider runs against its stack (mint-session, demo)
// share it, so that a link minted and a demo message sent are signed alike.
// An API on this machine is the local stack, whose IAM stand-in checks that
// a signature is there, not whose it is: it gets placeholder credentials
// and no AWS configuration is read. Any other host gets the SDK's default
// credential chain (environment, profile, SSO, role).
package apiclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// LocalAccessKeyID is the access key ID of the placeholder credentials a
// local stack's requests are signed with.
const LocalAccessKeyID = "LOCALSTACK"

// localRegion is the region a local stack's requests are signed for when
// none is given: the local stack does not check it.
const localRegion = "us-east-1"

// BaseURL parses the API's base URL (the stack's ApiUrl output, or the
// local stack's): http or https with a host, without a trailing slash.
func BaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%q is not an http(s) URL", raw)
	}
	return u, nil
}

// IsLocal reports whether host names this machine: localhost, a name under
// .localhost, or a loopback address.
func IsLocal(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RegionOf is the region in an execute-api host name
// ({api-id}.execute-api.{region}.amazonaws.com, .amazonaws.com.cn in
// China, {api-id}-{vpce-id}.execute-api.{region}.vpce.amazonaws.com for a
// private API), "" for any other host.
func RegionOf(host string) string {
	parts := strings.Split(host, ".")
	onAWS := strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn")
	if len(parts) < 5 || parts[1] != "execute-api" || !onAWS {
		return ""
	}
	return parts[2]
}

// Signer signs requests for one API.
type Signer struct {
	Credentials aws.Credentials
	Region      string
}

// NewSigner chooses what to sign requests to base with. A local host gets
// the placeholder credentials unless real is set; any other host, the
// SDK's default credential chain. The region is the one given, else the
// one in an execute-api host name, else the local stack's, else the AWS
// configuration's.
func NewSigner(ctx context.Context, base *url.URL, region string, real bool) (Signer, error) {
	if region == "" {
		region = RegionOf(base.Hostname())
	}
	if !real && IsLocal(base.Hostname()) {
		if region == "" {
			region = localRegion
		}
		return Signer{Credentials: aws.Credentials{AccessKeyID: LocalAccessKeyID, SecretAccessKey: "local", Source: "local stack"}, Region: region}, nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return Signer{}, fmt.Errorf("AWS configuration for signing: %w", err)
	}
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		return Signer{}, errors.New("no AWS region for signing: pass -region or set AWS_REGION")
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return Signer{}, fmt.Errorf("AWS credentials for signing: %w", err)
	}
	return Signer{Credentials: creds, Region: region}, nil
}

// Sign adds a SigV4 signature for execute-api to req, whose body is
// payload, as of at.
func (s Signer) Sign(ctx context.Context, req *http.Request, payload []byte, at time.Time) error {
	sum := sha256.Sum256(payload)
	return v4.NewSigner().SignHTTP(ctx, s.Credentials, req, hex.EncodeToString(sum[:]), "execute-api", s.Region, at)
}
