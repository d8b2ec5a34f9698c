// Package plivo is the Plivo API client: the Embedded Signup call that
// onboards a WABA (onboarding.Plivo), and the account, message and template
// calls later features need.
//
// Every failure is an *onboarding.UpstreamError classified by what the
// caller should do. The client retries nothing except one call after a 401,
// with freshly fetched credentials, because a rotated auth token is the one
// failure it can fix by itself; the retry policy for 5xx and 429 belongs to
// the caller, which knows its deadline and its budget.
package plivo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/ascii"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/upstream"
)

// Defaults for zero Config fields.
const (
	DefaultBaseURL = "https://api.plivo.com"
	// DefaultTimeout bounds one call when the context allows longer.
	// Embedded Signup attaches the credit line and registers webhooks at
	// Meta before answering, so it is slower than a typical API call.
	DefaultTimeout = 20 * time.Second
)

// Operation names, as they appear in UpstreamError.Op, logs and metrics.
const (
	OpEmbeddedSignup = "embedded_signup"
	OpAccount        = "account"
	OpSendMessage    = "send_message"
	OpCreateTemplate = "create_template"
	OpListTemplates  = "list_templates"
)

// maxBodyBytes bounds what is read of any Plivo answer.
const maxBodyBytes = 1 << 20

// Config configures a Client. Only Credentials is required.
type Config struct {
	// BaseURL is the API origin; DefaultBaseURL when empty.
	BaseURL string
	// HTTPClient makes the calls; a client with DefaultTimeout when nil.
	// The context deadline applies as well.
	HTTPClient *http.Client
	// Credentials returns the sub-account's auth ID and token; refresh asks
	// for a fresh read after Plivo refused the cached ones.
	Credentials func(ctx context.Context, refresh bool) (Credentials, error)
}

// Client calls the Plivo API. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	baseErr error
	http    *http.Client
	creds   func(ctx context.Context, refresh bool) (Credentials, error)
}

var _ onboarding.Plivo = (*Client)(nil)

// New returns a Client for cfg. A malformed BaseURL or missing Credentials
// is reported by every call rather than here, so wiring code stays a
// single expression; the error is a configuration error, not an
// UpstreamError.
func New(cfg Config) *Client {
	c := &Client{http: cfg.HTTPClient, creds: cfg.Credentials}
	if c.http == nil {
		c.http = upstream.HTTPClient(DefaultTimeout)
	}
	u, err := upstream.ParseBaseURL(cfg.BaseURL, DefaultBaseURL)
	switch {
	case err != nil:
		c.baseErr = fmt.Errorf("plivo: %w", err)
	case c.creds == nil:
		c.baseErr = errors.New("plivo: Config.Credentials is required")
	default:
		c.base = u
	}
	return c
}

// EmbeddedSignup onboards a WABA that finished Meta's Embedded Signup:
// Plivo attaches it to the credit line, registers webhooks and activates
// the phone number.
func (c *Client) EmbeddedSignup(ctx context.Context, req onboarding.PlivoSignup) (onboarding.PlivoResult, error) {
	var out struct {
		APIID   string `json:"api_id"`
		Message string `json:"message"`
	}
	if err := c.do(ctx, call{op: OpEmbeddedSignup, method: http.MethodPost, path: "WhatsApp/EmbeddedSignup/", body: req}, &out); err != nil {
		return onboarding.PlivoResult{}, err
	}
	return onboarding.PlivoResult{APIID: out.APIID, Message: out.Message}, nil
}

// Account is the Plivo account the credentials belong to.
type Account struct {
	APIID       string `json:"api_id"`
	AuthID      string `json:"auth_id"`
	Name        string `json:"name"`
	AccountType string `json:"account_type"`
	BillingMode string `json:"billing_mode"`
	// CashCredits is the balance as Plivo formats it, e.g. "12.34500".
	CashCredits  string `json:"cash_credits"`
	AutoRecharge bool   `json:"auto_recharge"`
	Timezone     string `json:"timezone"`
	ResourceURI  string `json:"resource_uri"`
}

// Account reads the account details; a cheap call that proves the
// credentials work.
func (c *Client) Account(ctx context.Context) (Account, error) {
	var out Account
	err := c.do(ctx, call{op: OpAccount, method: http.MethodGet, path: ""}, &out)
	return out, err
}

// call is one Plivo request. path is relative to /v1/Account/{auth_id}/ and
// may carry a query.
type call struct {
	op     string
	method string
	path   string
	body   any // JSON-encoded when not nil
}

// do runs c with the credentials policy: on a 401 it asks for fresh
// credentials once and repeats the call, because the token may have been
// rotated since it was cached. A second 401 is final.
func (c *Client) do(ctx context.Context, cl call, out any) error {
	if c.baseErr != nil {
		return c.baseErr
	}
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("plivo %s: encode request: %w", cl.op, err)
		}
	}
	creds, err := c.credentials(ctx, cl.op, false)
	if err != nil {
		return err
	}
	ue := c.once(ctx, cl, creds, body, out)
	if ue == nil {
		return nil
	}
	if ue.Kind != onboarding.KindUnauthorized {
		return ue
	}
	fresh, err := c.credentials(ctx, cl.op, true)
	if err != nil {
		return fmt.Errorf("%w (refreshing credentials failed: %v)", ue, err)
	}
	if ue = c.once(ctx, cl, fresh, body, out); ue != nil {
		return ue
	}
	return nil
}

// credentials reads the auth ID and token. A secret that is refused or
// malformed fails like credentials Plivo refused (KindUnauthorized): the
// remedy is the same, putting working credentials in the secret, and it
// must page and hold the records at the longest backoff rather than pass
// for a network fault retried quietly. A Secrets Manager that did not
// answer stays a plain error, retried like one.
func (c *Client) credentials(ctx context.Context, op string, refresh bool) (Credentials, error) {
	creds, err := c.creds(ctx, refresh)
	unusable := errors.Is(err, upstream.ErrUnusableSecret) || err == nil && (creds.AuthToken == "" || !isID(creds.AuthID))
	if unusable && !refresh {
		// Read again before failing: the operator may have mended the
		// secret since it was cached, and the fix must hold from the next
		// call, not once the cache expires.
		return c.credentials(ctx, op, true)
	}
	switch {
	case errors.Is(err, upstream.ErrUnusableSecret):
		return Credentials{}, unusableCredentials(op, "the Plivo secret could not be used", err)
	case err != nil:
		return Credentials{}, fmt.Errorf("plivo: load credentials: %w", err)
	case unusable:
		return Credentials{}, unusableCredentials(op, "the Plivo secret is incomplete or its auth ID is malformed", nil)
	}
	return creds, nil
}

func unusableCredentials(op, message string, err error) *onboarding.UpstreamError {
	return &onboarding.UpstreamError{Service: onboarding.ServicePlivo, Op: op, Kind: onboarding.KindUnauthorized, Message: message, Err: err}
}

// once makes one request and decodes a 2xx answer into out.
func (c *Client) once(ctx context.Context, cl call, creds Credentials, body []byte, out any) *onboarding.UpstreamError {
	path, query, _ := strings.Cut(cl.path, "?")
	u := *c.base
	// The auth ID and path are checked plain segments: nothing to escape.
	u.Path = c.base.Path + "/v1/Account/" + creds.AuthID + "/" + path
	u.RawPath = ""
	u.RawQuery = query
	// Errors name the path with the auth ID left out: it identifies the
	// account and has no place in alert texts.
	shown := "/v1/Account/{auth_id}/" + path

	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u.String(), rd)
	if err != nil {
		return transportError(cl, shown, 0, errors.New("cannot build request"))
	}
	req.SetBasicAuth(creds.AuthID, creds.AuthToken)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(cl, shown, 0, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return transportError(cl, shown, resp.StatusCode, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		if json.Unmarshal(raw, out) != nil {
			pe, _ := parsePlivoError(raw)
			return &onboarding.UpstreamError{Service: onboarding.ServicePlivo, Op: cl.op, Status: resp.StatusCode, Kind: onboarding.KindTransient,
				APIID: pe.APIID, Message: "the answer is not the expected JSON"}
		}
		return nil
	}
	pe, parsed := parsePlivoError(raw)
	return pe.upstream(cl.op, resp.StatusCode, parsed, creds.AuthToken)
}

// transportError wraps a failed round trip without the request URL, which
// net/http's *url.Error would print.
func transportError(cl call, shown string, status int, err error) *onboarding.UpstreamError {
	return &onboarding.UpstreamError{Service: onboarding.ServicePlivo, Op: cl.op, Status: status, Kind: onboarding.KindTransient,
		Err: upstream.TransportError(cl.method, shown, err)}
}

// isID accepts auth IDs and WABA IDs. Checking it keeps a crafted ID
// such as ".." from steering a call to another path.
func isID(s string) bool { return ascii.IsToken(s, 1, 64, "_-") }

func checkWABAID(wabaID string) error {
	if !isID(wabaID) {
		return errors.New("plivo: malformed WABA ID")
	}
	return nil
}
