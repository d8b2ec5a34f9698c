// Package meta is the Graph API client of the signup: it exchanges the
// Embedded Signup code, inspects the business token, reads the WABA's
// phone numbers and owner, and subscribes our app to the WABA's webhooks.
// It implements onboarding.Meta.
//
// Tokens, the code and the app secret never appear in an error or a URL
// that an error could carry: business tokens travel in the Authorization
// header, and transport errors are rebuilt without the request's query.
package meta

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/techprovider/wa-onboarding/shared/ascii"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/upstream"
)

// Defaults for zero Config fields.
const (
	DefaultBaseURL     = "https://graph.facebook.com"
	DefaultVersion     = "v25.0"
	DefaultMaxAttempts = 3
	DefaultTimeout     = 10 * time.Second
)

// Operation names, as they appear in UpstreamError.Op, logs and metrics.
const (
	OpExchangeCode  = "exchange_code"
	OpDebugToken    = "debug_token"
	OpPhoneNumbers  = "phone_numbers"
	OpOwnerBusiness = "owner_business"
	OpSubscribeApp  = "subscribe_app"
	// opLoadApp names a failure to read the app's own credentials.
	opLoadApp = "load_app_credentials"
)

const (
	backoffBase = 100 * time.Millisecond
	backoffCap  = 2 * time.Second
	// maxPages bounds paging.next: a WABA has a handful of numbers, so more
	// pages than this means a paging loop, not a real list.
	maxPages = 10
	// maxBodyBytes bounds what is read of any Graph answer.
	maxBodyBytes = 1 << 20
)

// Config configures a Client. Only App is required.
type Config struct {
	// BaseURL is the Graph API origin; DefaultBaseURL when empty.
	BaseURL string
	// Version is the Graph API version path segment; DefaultVersion when
	// empty.
	Version string
	// HTTPClient makes the calls; a client with DefaultTimeout when nil.
	HTTPClient *http.Client
	// App returns the Meta app's ID and secret, typically from a
	// secrets.Cache; with refresh it reads them again from their source,
	// after Meta refused the ones it returned.
	App func(ctx context.Context, refresh bool) (secrets.MetaApp, error)
	// MaxAttempts bounds the calls made for one operation (per page);
	// DefaultMaxAttempts when zero or less.
	MaxAttempts int
	// Rand returns a uniform float in [0,1) for backoff jitter;
	// math/rand/v2.Float64 when nil.
	Rand func() float64
	// Sleep waits d or until ctx ends; a timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls the Graph API. It is safe for concurrent use.
type Client struct {
	base        *url.URL
	baseErr     error
	version     string
	http        *http.Client
	app         func(ctx context.Context, refresh bool) (secrets.MetaApp, error)
	maxAttempts int
	rand        func() float64
	sleep       func(ctx context.Context, d time.Duration) error
}

var _ onboarding.Meta = (*Client)(nil)

// New returns a Client for cfg. A malformed BaseURL or a missing App is
// reported by every call rather than here, so wiring code stays a single
// expression; the error is a configuration error, not an UpstreamError.
func New(cfg Config) *Client {
	c := &Client{
		version:     cfg.Version,
		http:        cfg.HTTPClient,
		app:         cfg.App,
		maxAttempts: cfg.MaxAttempts,
		rand:        cfg.Rand,
		sleep:       cfg.Sleep,
	}
	if c.version == "" {
		c.version = DefaultVersion
	}
	if c.http == nil {
		c.http = upstream.HTTPClient(DefaultTimeout)
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.rand == nil {
		c.rand = rand.Float64
	}
	if c.sleep == nil {
		c.sleep = upstream.Sleep
	}
	u, err := upstream.ParseBaseURL(cfg.BaseURL, DefaultBaseURL)
	switch {
	case err != nil:
		c.baseErr = fmt.Errorf("meta: %w", err)
	case c.app == nil:
		c.baseErr = errors.New("meta: Config.App is required")
	default:
		c.base = u
	}
	return c
}

// ExchangeCode trades the Embedded Signup code for a business token. The
// code is single use, so a failed exchange is retried only when Meta's
// answer proves the code was not consumed: a Graph error body with a
// transient or throttling code. After a timeout or a dropped connection
// Meta may have spent the code, and a retry would only turn that into a
// confusing "code already used" rejection.
func (c *Client) ExchangeCode(ctx context.Context, code string) (string, error) {
	if code == "" {
		return "", errors.New("meta: empty authorization code")
	}
	return asApp(ctx, c, func(app secrets.MetaApp) (string, error) {
		q := url.Values{"client_id": {app.AppID}, "client_secret": {app.AppSecret}, "code": {code}}
		var out struct {
			AccessToken string `json:"access_token"`
		}
		r := request{op: OpExchangeCode, url: c.endpoint("oauth/access_token", q), sensitive: []string{code, app.AppSecret}, provenOnly: true, appAuth: true}
		if err := c.do(ctx, r, &out); err != nil {
			return "", err
		}
		if out.AccessToken == "" {
			return "", malformed(OpExchangeCode, http.StatusOK, "the answer has no access_token")
		}
		return out.AccessToken, nil
	})
}

// asApp makes call, which authenticates as our app. When Meta refuses
// the app's credentials it reads them again, and calls once more if they
// changed: an operator fixed or rotated the secret since it was cached,
// and Meta checks them before it looks at a code, which stays unspent.
func asApp[T any](ctx context.Context, c *Client, call func(secrets.MetaApp) (T, error)) (T, error) {
	app, err := c.loadApp(ctx, false)
	if err != nil {
		var zero T
		return zero, err
	}
	out, err := call(app)
	if ue, ok := onboarding.AsUpstream(err); !ok || ue.Kind != onboarding.KindConfig {
		return out, err
	}
	fresh, ferr := c.loadApp(ctx, true)
	if ferr != nil || fresh == app {
		return out, err
	}
	return call(fresh)
}

// DebugToken asks Meta what token grants, authenticated as the app. An
// invalid token is not an error: it comes back with Valid false, because
// that is Meta's answer about the signup, not a failed call.
func (c *Client) DebugToken(ctx context.Context, token string) (onboarding.TokenInfo, error) {
	if token == "" {
		return onboarding.TokenInfo{}, errors.New("meta: empty token")
	}
	return asApp(ctx, c, func(app secrets.MetaApp) (onboarding.TokenInfo, error) { return c.debugToken(ctx, token, app) })
}

func (c *Client) debugToken(ctx context.Context, token string, app secrets.MetaApp) (onboarding.TokenInfo, error) {
	q := url.Values{"input_token": {token}, "access_token": {app.AppID + "|" + app.AppSecret}}
	var out struct {
		Data *struct {
			AppID          flexString `json:"app_id"`
			IsValid        flexBool   `json:"is_valid"`
			ExpiresAt      flexString `json:"expires_at"`
			Scopes         []string   `json:"scopes"`
			GranularScopes []struct {
				Scope     string       `json:"scope"`
				TargetIDs []flexString `json:"target_ids"`
			} `json:"granular_scopes"`
		} `json:"data"`
	}
	r := request{op: OpDebugToken, url: c.endpoint("debug_token", q), sensitive: []string{token, app.AppSecret}, appAuth: true}
	if err := c.do(ctx, r, &out); err != nil {
		return onboarding.TokenInfo{}, err
	}
	if out.Data == nil {
		return onboarding.TokenInfo{}, malformed(OpDebugToken, http.StatusOK, "the answer has no data")
	}
	d := out.Data
	info := onboarding.TokenInfo{AppID: string(d.AppID), Valid: bool(d.IsValid), Scopes: map[string][]string{}}
	expires, err := strconv.ParseInt(string(d.ExpiresAt), 10, 64)
	if err != nil && d.ExpiresAt != "" {
		// An expiry that cannot be read must not read as "never".
		return onboarding.TokenInfo{}, malformed(OpDebugToken, http.StatusOK, "the token's expiry is not a Unix time")
	}
	if expires > 0 {
		info.ExpiresAt = time.Unix(expires, 0).UTC()
	}
	// A scope listed without granular targets applies to everything the
	// user can reach; it is kept with no targets so callers see the grant.
	for _, s := range d.Scopes {
		info.Scopes[s] = nil
	}
	for _, g := range d.GranularScopes {
		targets := make([]string, 0, len(g.TargetIDs))
		for _, id := range g.TargetIDs {
			targets = append(targets, string(id))
		}
		info.Scopes[g.Scope] = append(info.Scopes[g.Scope], targets...)
	}
	return info, nil
}

// phoneNumberFields are the fields PhoneNumbers asks for: with
// code_verification_status and status the service tells a verified number
// from one the customer has not verified (the onboarding package).
const phoneNumberFields = "id,display_phone_number,verified_name,code_verification_status,status"

// PhoneNumbers lists the WABA's phone numbers, following paging.next on
// the Graph API origin only: a next link elsewhere would receive the
// business token.
func (c *Client) PhoneNumbers(ctx context.Context, token, wabaID string) ([]onboarding.PhoneNumber, error) {
	app, err := c.forBusiness(ctx, token, wabaID)
	if err != nil {
		return nil, err
	}
	proof := appSecretProof(token, app.AppSecret)
	next := c.endpoint(wabaID+"/phone_numbers", url.Values{
		"fields":          {phoneNumberFields},
		"appsecret_proof": {proof},
	})
	var numbers []onboarding.PhoneNumber
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, malformed(OpPhoneNumbers, http.StatusOK, fmt.Sprintf("more than %d pages of phone numbers", maxPages))
		}
		seen[next.String()] = true
		var out struct {
			Data []struct {
				ID                 flexString `json:"id"`
				DisplayPhoneNumber string     `json:"display_phone_number"`
				VerifiedName       string     `json:"verified_name"`
				CodeVerification   string     `json:"code_verification_status"`
				Status             string     `json:"status"`
			} `json:"data"`
			Paging struct {
				Next string `json:"next"`
			} `json:"paging"`
		}
		r := request{op: OpPhoneNumbers, url: next, bearer: token, sensitive: []string{token, app.AppSecret, proof}}
		if err := c.do(ctx, r, &out); err != nil {
			return nil, err
		}
		for _, n := range out.Data {
			numbers = append(numbers, onboarding.PhoneNumber{ID: string(n.ID), DisplayPhoneNumber: n.DisplayPhoneNumber, VerifiedName: n.VerifiedName,
				CodeVerificationStatus: n.CodeVerification, Status: n.Status})
		}
		if out.Paging.Next == "" || len(out.Data) == 0 {
			return numbers, nil
		}
		u, err := c.pageURL(out.Paging.Next, proof)
		if err != nil {
			return nil, err
		}
		if seen[u.String()] {
			return nil, malformed(OpPhoneNumbers, http.StatusOK, "paging.next repeats a page")
		}
		next = u
	}
}

// OwnerBusinessID returns the ID of the business portfolio that owns the
// WABA, or "" when Meta does not name one.
func (c *Client) OwnerBusinessID(ctx context.Context, token, wabaID string) (string, error) {
	app, err := c.forBusiness(ctx, token, wabaID)
	if err != nil {
		return "", err
	}
	proof := appSecretProof(token, app.AppSecret)
	u := c.endpoint(wabaID, url.Values{
		"fields":          {"owner_business_info"},
		"appsecret_proof": {proof},
	})
	var out struct {
		OwnerBusinessInfo struct {
			ID flexString `json:"id"`
		} `json:"owner_business_info"`
	}
	// The proof too: with the token it would let anyone call as our app.
	r := request{op: OpOwnerBusiness, url: u, bearer: token, sensitive: []string{token, app.AppSecret, proof}}
	if err := c.do(ctx, r, &out); err != nil {
		return "", err
	}
	return string(out.OwnerBusinessInfo.ID), nil
}

// SubscribeApp subscribes our app to webhooks on the customer's WABA, as
// Meta's Tech Provider onboarding asks after the code exchange: Meta sends
// a WABA's webhooks (account_update, phone number quality and name
// changes) only to apps subscribed to it. token is the customer's business
// token; the subscription is our app's because the token was issued to it.
// An answer other than {"success": true} is an error.
//
// Unlike the code exchange, a failure after which Meta may have acted (a
// timeout, a dropped connection) is retried: subscribing an app that is
// already subscribed succeeds again and changes nothing.
func (c *Client) SubscribeApp(ctx context.Context, token, wabaID string) error {
	app, err := c.forBusiness(ctx, token, wabaID)
	if err != nil {
		return err
	}
	proof := appSecretProof(token, app.AppSecret)
	u := c.endpoint(wabaID+"/subscribed_apps", url.Values{"appsecret_proof": {proof}})
	var out struct {
		Success flexBool `json:"success"`
	}
	r := request{op: OpSubscribeApp, method: http.MethodPost, url: u, bearer: token, sensitive: []string{token, app.AppSecret, proof}}
	if err := c.do(ctx, r, &out); err != nil {
		return err
	}
	if !out.Success {
		return malformed(OpSubscribeApp, http.StatusOK, "the answer does not confirm the subscription")
	}
	return nil
}

// isGraphID accepts Graph object IDs. Checking it keeps a crafted WABA ID
// such as ".." from steering a business-token call to another path.
func isGraphID(s string) bool { return ascii.IsToken(s, 1, 64, "_-") }

func (c *Client) forBusiness(ctx context.Context, token, wabaID string) (secrets.MetaApp, error) {
	if token == "" {
		return secrets.MetaApp{}, errors.New("meta: empty token")
	}
	if !isGraphID(wabaID) {
		return secrets.MetaApp{}, errors.New("meta: malformed WABA ID")
	}
	return c.loadApp(ctx, false)
}

func (c *Client) loadApp(ctx context.Context, refresh bool) (secrets.MetaApp, error) {
	if c.baseErr != nil {
		return secrets.MetaApp{}, c.baseErr
	}
	app, err := c.app(ctx, refresh)
	unusable := errors.Is(err, upstream.ErrUnusableSecret) || err == nil && (app.AppID == "" || app.AppSecret == "")
	if unusable && !refresh {
		// Read again before failing: the operator may have mended the
		// secret since it was cached, and the fix must hold from the next
		// signup, not once the cache expires.
		return c.loadApp(ctx, true)
	}
	switch {
	case errors.Is(err, upstream.ErrUnusableSecret):
		return secrets.MetaApp{}, unusableApp("the Meta app secret could not be used", err)
	case err != nil:
		// Secrets Manager did not answer: a passing fault.
		return secrets.MetaApp{}, fmt.Errorf("meta: load app credentials: %w", err)
	case unusable:
		return secrets.MetaApp{}, unusableApp("the Meta app secret is incomplete", nil)
	}
	return app, nil
}

// unusableApp is a Meta secret that is refused or malformed: a failure of
// our own configuration (KindConfig), which pages (MetaConfigAlarm) and
// tells the customer the provider is fixing it, like an app secret Meta
// refused.
func unusableApp(message string, err error) *onboarding.UpstreamError {
	return &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: opLoadApp, Kind: onboarding.KindConfig, Message: message, Err: err}
}

// endpoint builds {base}/{version}/{path}?{q}. Path segments are checked
// Graph IDs and constants, so none needs escaping.
func (c *Client) endpoint(path string, q url.Values) *url.URL {
	u := *c.base
	u.Path = c.base.Path + "/" + c.version + "/" + path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	return &u
}

// pageURL checks a paging.next link and rewrites its credentials: any
// access_token Meta echoed is dropped (the token goes in the header) and
// the appsecret_proof is ours.
func (c *Client) pageURL(next, proof string) (*url.URL, error) {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return nil, malformed(OpPhoneNumbers, http.StatusOK, "paging.next leaves the Graph API origin")
	}
	q := u.Query()
	q.Del("access_token")
	q.Set("appsecret_proof", proof)
	u.RawQuery = q.Encode()
	u.Fragment, u.User = "", nil
	return u, nil
}

// appSecretProof is the HMAC-SHA256 of the token keyed by the app secret,
// which Graph demands for server-side calls once "Require App Secret" is
// on: a leaked business token is useless without the secret.
func appSecretProof(token, appSecret string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// flexString reads a JSON string or number as text: Graph IDs are strings,
// but some fields have been numbers in some versions.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// flexBool reads a JSON boolean, or one Graph quoted ("true"), as a bool;
// anything else is false.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = v == true || v == "true"
	return nil
}

// request is one Graph call.
type request struct {
	op     string
	method string // http.MethodGet when empty
	url    *url.URL
	bearer string // business token for the Authorization header, if any
	// sensitive values are scrubbed from any text Meta sends back.
	sensitive []string
	// provenOnly retries only failures that prove Meta did not act on the
	// request (see ExchangeCode).
	provenOnly bool
	// appAuth says the call authenticates as our app (the client secret or
	// the app token) rather than with the customer's business token, so a
	// token error (190) is about our credentials.
	appAuth bool
}

func (r request) verb() string {
	if r.method == "" {
		return http.MethodGet
	}
	return r.method
}

// do runs r with retries and decodes a successful answer into out.
func (c *Client) do(ctx context.Context, r request, out any) error {
	for attempt := 1; ; attempt++ {
		ue, proven, regain := c.once(ctx, r, out)
		if ue == nil {
			return nil
		}
		// Meta counts the wait for a rate limit in whole minutes, longer
		// than any pause a call can take: a retry would only be refused.
		if attempt >= c.maxAttempts || !ue.Retryable() || (r.provenOnly && !proven) || regain > 0 {
			return ue
		}
		wait := c.backoff(attempt)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			// The retry could not finish in time; the caller is better
			// served by the real error now than a deadline error later.
			return ue
		}
		if c.sleep(ctx, wait) != nil {
			return ue
		}
	}
}

// backoff is a full-jitter delay below min(cap, base*2^(attempt-1)).
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := backoffBase
	for i := 1; i < attempt && ceiling < backoffCap; i++ {
		ceiling *= 2
	}
	return time.Duration(c.rand() * float64(min(ceiling, backoffCap)))
}

// once makes one call. proven reports that Meta answered with a Graph error
// body, i.e. it decided about the request rather than failing mid-way;
// regain is when Meta expects a rate limit it reported to lift (zero when
// it gave no estimate).
func (c *Client) once(ctx context.Context, r request, out any) (ue *onboarding.UpstreamError, proven bool, regain time.Duration) {
	req, err := http.NewRequestWithContext(ctx, r.verb(), r.url.String(), nil)
	if err != nil {
		// The parse error would quote the URL and its query.
		return &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: r.op, Kind: onboarding.KindTransient, Err: errors.New("cannot build request")}, false, 0
	}
	req.Header.Set("Accept", "application/json")
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(r, err), false, 0
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		e := transportError(r, err)
		e.Status = resp.StatusCode
		return e, false, 0
	}
	if ge, ok := parseGraphError(body); ok {
		ue := ge.upstream(r, resp.StatusCode)
		if ue.Kind == onboarding.KindThrottled {
			if regain = regainAccess(resp.Header); regain > 0 {
				ue.Message += fmt.Sprintf(" (Meta expects access back in %d min)", int(regain/time.Minute))
			}
		}
		return ue, true, regain
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		kind := onboarding.KindTransient
		if resp.StatusCode == http.StatusTooManyRequests {
			kind = onboarding.KindThrottled
		}
		return &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: r.op, Status: resp.StatusCode, Kind: kind,
			Message: "the answer is not a Graph API error"}, false, 0
	}
	if err := json.Unmarshal(body, out); err != nil {
		return malformed(r.op, resp.StatusCode, "the answer is not the expected JSON"), false, 0
	}
	return nil, false, 0
}

// malformed is a 2xx answer the client cannot use. It counts as transient,
// like any answer that is not Graph's own JSON.
func malformed(op string, status int, msg string) *onboarding.UpstreamError {
	return &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: op, Status: status, Kind: onboarding.KindTransient, Message: msg}
}

// transportError wraps a failed round trip without the request URL, which
// net/http's *url.Error prints with its query (the code, the app secret,
// the input token).
func transportError(r request, err error) *onboarding.UpstreamError {
	return &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: r.op, Kind: onboarding.KindTransient,
		Err: upstream.TransportError(r.verb(), r.url.Path, err)}
}
