// Package config reads each function's settings from its environment, once
// per cold start. Secret values never come from here: only the IDs of the
// Secrets Manager secrets that hold them.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/esversion"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Environment variable names. template.yaml sets them and a test checks that
// every name a function reads is set for it.
const (
	EnvTableName        = "TABLE_NAME"
	EnvMetaSecretID     = "META_SECRET_ID"
	EnvPlivoSecretID    = "PLIVO_SECRET_ID"
	EnvMetaGraphURL     = "META_GRAPH_URL"
	EnvMetaGraphVersion = "META_GRAPH_VERSION"
	EnvPlivoAPIURL      = "PLIVO_API_URL"
	EnvSecretsTTL       = "SECRETS_TTL"
	EnvLogLevel         = "LOG_LEVEL"
	EnvRetryBaseDelay   = "RETRY_BASE_DELAY"
	EnvRetryMaxDelay    = "RETRY_MAX_DELAY"
	EnvRetryMaxAttempts = "RETRY_MAX_ATTEMPTS"
	EnvRetryMaxAge      = "RETRY_MAX_AGE"
	EnvResumeBatchSize  = "RESUME_BATCH_SIZE"
	EnvMetricsNamespace = "METRICS_NAMESPACE"
	EnvMetaAppID        = "META_APP_ID"
	EnvMetaConfigID     = "META_CONFIG_ID"
	EnvPlivoSolutionID  = "PLIVO_SOLUTION_ID"
	EnvMetaESVersion    = "META_ES_VERSION"
	EnvSandbox          = "SANDBOX"
	EnvAPIBasePath      = "API_BASE_PATH"
	EnvSessionSecretID  = "SESSION_SECRET_ID"
	EnvPageURL          = "PAGE_URL"
	EnvSessionTTL       = "SESSION_TTL"
	EnvStage            = "STAGE"
	// EnvDemoWABAAllowList restricts the App Review demos to these WABAs.
	EnvDemoWABAAllowList = "DEMO_WABA_ALLOWLIST"
)

// Defaults for optional settings.
const (
	DefaultGraphURL     = "https://graph.facebook.com"
	DefaultGraphVersion = "v25.0"
	DefaultESVersion    = esversion.Default
	// SandboxSolutionID is the Multi-Partner Solution the sandbox page
	// launches with when PLIVO_SOLUTION_ID is not set; the simulators
	// know it.
	SandboxSolutionID       = "300000000000003"
	DefaultPlivoURL         = "https://api.plivo.com"
	DefaultSecretsTTL       = 5 * time.Minute
	DefaultResumeBatchSize  = 25
	DefaultMetricsNamespace = "WhatsAppOnboarding"
)

// Getenv reads one variable; os.Getenv in production, a map in tests.
type Getenv func(string) string

// reader collects every problem instead of stopping at the first, so a
// misconfigured deploy is fixed in one go.
type reader struct {
	get  Getenv
	errs []error
}

func (r *reader) str(key, def string) string {
	if v := strings.TrimSpace(r.get(key)); v != "" {
		return v
	}
	return def
}

func (r *reader) required(key string) string {
	v := r.str(key, "")
	if v == "" {
		r.errs = append(r.errs, fmt.Errorf("%s is required", key))
	}
	return v
}

func (r *reader) duration(key string, def time.Duration) time.Duration {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		r.errs = append(r.errs, fmt.Errorf("%s must be a duration such as 30s or 5m", key))
		return def
	}
	return d
}

func (r *reader) integer(key string, def int) int {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s must be a positive integer", key))
		return def
	}
	return n
}

func (r *reader) url(key, def string) string {
	v := strings.TrimRight(r.str(key, def), "/")
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.errs = append(r.errs, fmt.Errorf("%s must be an http(s) URL", key))
	}
	return v
}

func (r *reader) boolean(key string) bool {
	v, _ := strconv.ParseBool(r.str(key, "false"))
	return v
}

func (r *reader) err() error { return errors.Join(r.errs...) }

// Common is what every function reads.
type Common struct {
	LogLevel         string
	MetricsNamespace string
	Stage            string
}

// CommonConfig returns c; through embedding, every function's
// configuration has it, which lets app.Load serve them all.
func (c Common) CommonConfig() Common { return c }

func (r *reader) common() Common {
	return Common{
		LogLevel:         r.str(EnvLogLevel, "INFO"),
		MetricsNamespace: r.str(EnvMetricsNamespace, DefaultMetricsNamespace),
		Stage:            r.str(EnvStage, "dev"),
	}
}

// Upstreams is the configuration needed to talk to Meta and Plivo.
type Upstreams struct {
	MetaSecretID  string
	PlivoSecretID string
	GraphURL      string
	GraphVersion  string
	PlivoURL      string
	SecretsTTL    time.Duration
}

func (r *reader) upstreams() Upstreams {
	return Upstreams{
		MetaSecretID:  r.required(EnvMetaSecretID),
		PlivoSecretID: r.required(EnvPlivoSecretID),
		GraphURL:      r.url(EnvMetaGraphURL, DefaultGraphURL),
		GraphVersion:  r.str(EnvMetaGraphVersion, DefaultGraphVersion),
		PlivoURL:      r.url(EnvPlivoAPIURL, DefaultPlivoURL),
		SecretsTTL:    r.duration(EnvSecretsTTL, DefaultSecretsTTL),
	}
}

func (r *reader) policy() onboarding.RetryPolicy {
	d := onboarding.DefaultRetryPolicy
	return onboarding.RetryPolicy{
		BaseDelay:   r.duration(EnvRetryBaseDelay, d.BaseDelay),
		MaxDelay:    r.duration(EnvRetryMaxDelay, d.MaxDelay),
		MaxAttempts: r.integer(EnvRetryMaxAttempts, d.MaxAttempts),
		MaxAge:      r.duration(EnvRetryMaxAge, d.MaxAge),
	}
}

// Signup configures the signup and resume functions.
type Signup struct {
	Common
	Upstreams
	TableName       string
	Policy          onboarding.RetryPolicy
	ResumeBatchSize int
	// SessionSecretID names the onboarding-session signing keys; empty
	// means signups are not bound to sessions.
	SessionSecretID string
	// DedupTableName records spent session tokens; required with
	// SessionSecretID (see session.go).
	DedupTableName string
	// SessionsOff is SESSIONS=off: the signup runs without sessions, by
	// explicit choice (LoadSignupFunction).
	SessionsOff bool
}

// LoadSignup reads the signup function's configuration.
func LoadSignup(get Getenv) (Signup, error) {
	r := &reader{get: get}
	c := Signup{
		Common:          r.common(),
		Upstreams:       r.upstreams(),
		TableName:       r.required(EnvTableName),
		Policy:          r.policy(),
		ResumeBatchSize: r.integer(EnvResumeBatchSize, DefaultResumeBatchSize),
		SessionSecretID: r.str(EnvSessionSecretID, ""),
	}
	c.DedupTableName = r.dedupTable(c.SessionSecretID)
	return c, r.err()
}

// Status configures the status function.
type Status struct {
	Common
	TableName string
	// SessionSecretID lets a customer's own onboarding session see its
	// record in full; empty: the public route shows states only.
	SessionSecretID string
	SecretsTTL      time.Duration
}

// LoadStatus reads the status function's configuration.
func LoadStatus(get Getenv) (Status, error) {
	r := &reader{get: get}
	c := Status{Common: r.common(), TableName: r.required(EnvTableName),
		SessionSecretID: r.str(EnvSessionSecretID, ""), SecretsTTL: r.duration(EnvSecretsTTL, DefaultSecretsTTL)}
	return c, r.err()
}

// Page configures the onboarding page. All of it is public.
type Page struct {
	Common
	MetaAppID       string
	MetaConfigID    string
	GraphVersion    string
	PlivoSolutionID string
	// ESVersion is the Embedded Signup version the page launches
	// (esversion.Versions); a retired one refuses to start.
	ESVersion   string
	APIBasePath string
	Sandbox     bool
}

// LoadPage reads the onboarding page's configuration.
func LoadPage(get Getenv) (Page, error) {
	r := &reader{get: get}
	c := Page{
		Common:          r.common(),
		MetaAppID:       r.str(EnvMetaAppID, ""),
		MetaConfigID:    r.str(EnvMetaConfigID, ""),
		GraphVersion:    r.str(EnvMetaGraphVersion, DefaultGraphVersion),
		PlivoSolutionID: r.str(EnvPlivoSolutionID, ""),
		ESVersion:       r.str(EnvMetaESVersion, DefaultESVersion),
		APIBasePath:     r.str(EnvAPIBasePath, ""),
		Sandbox:         r.boolean(EnvSandbox),
	}
	if err := esversion.Check(c.ESVersion, time.Now()); err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %w", EnvMetaESVersion, err))
	}
	if c.PlivoSolutionID == "" && c.Sandbox {
		c.PlivoSolutionID = SandboxSolutionID
	}
	// Without the solution ID Meta does not create the customer's WABA
	// under Plivo's Multi-Partner Solution, and Plivo's Embedded Signup
	// call cannot succeed for anyone.
	if problem := SolutionIDProblem(c.PlivoSolutionID); problem != "" {
		r.errs = append(r.errs, fmt.Errorf("%s %s", EnvPlivoSolutionID, problem))
	}
	if !c.Sandbox {
		if c.MetaAppID == "" {
			r.errs = append(r.errs, fmt.Errorf("%s is required outside sandbox mode", EnvMetaAppID))
		}
		if c.MetaConfigID == "" {
			r.errs = append(r.errs, fmt.Errorf("%s is required outside sandbox mode", EnvMetaConfigID))
		}
	}
	return c, r.err()
}

// SolutionIDProblem says what is wrong with a Multi-Partner Solution ID,
// or "". Meta's solution IDs are object IDs: digits, not starting with 0.
func SolutionIDProblem(id string) string {
	switch {
	case id == "":
		return "is required: the Multi-Partner Solution ID from Meta's App Dashboard (WhatsApp > Partner Solutions), accepted by Plivo"
	case !onboarding.ValidWABAID(id):
		return fmt.Sprintf("%q is not a Meta solution ID (digits only, not starting with 0, at most 20)", id)
	}
	return ""
}
