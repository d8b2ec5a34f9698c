package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// EnvDedupTableName names the DynamoDB table where spent onboarding-session
// tokens are recorded (template.yaml's DedupTable).
const EnvDedupTableName = "DEDUP_TABLE_NAME"

// DefaultSessionTTL is SESSION_TTL's default: the lifetime of a link whose
// caller asks for none. SESSION_TTL itself must be within 1m..24h, the
// bounds session.MinTTL and session.MaxTTL put on any link.
const (
	DefaultSessionTTL = 15 * time.Minute
	maxSessionTTL     = 24 * time.Hour
)

// dedupTable reads DEDUP_TABLE_NAME, which the signup needs once sessions
// are on (sessionSecretID set) and ignores otherwise.
func (r *reader) dedupTable(sessionSecretID string) string {
	if sessionSecretID == "" {
		return r.str(EnvDedupTableName, "")
	}
	return r.required(EnvDedupTableName)
}

// Sessions configures the function that issues onboarding links.
type Sessions struct {
	Common
	// SecretID names the signing keys; required.
	SecretID string
	// PageURL is the onboarding page the links open; empty means the root
	// of the API's own domain, which serves the page.
	PageURL string
	// TTL is a link's lifetime when the caller asks for none.
	TTL        time.Duration
	SecretsTTL time.Duration
}

// LoadSessions reads the sessions function's configuration.
func LoadSessions(get Getenv) (Sessions, error) {
	r := &reader{get: get}
	c := Sessions{
		Common:     r.common(),
		SecretID:   r.required(EnvSessionSecretID),
		PageURL:    r.str(EnvPageURL, ""),
		TTL:        r.duration(EnvSessionTTL, DefaultSessionTTL),
		SecretsTTL: r.duration(EnvSecretsTTL, DefaultSecretsTTL),
	}
	if c.TTL < time.Minute || c.TTL > maxSessionTTL {
		r.errs = append(r.errs, fmt.Errorf("%s must be between 1m and 24h", EnvSessionTTL))
	}
	if c.PageURL != "" {
		u, err := url.Parse(c.PageURL)
		switch {
		case err != nil || u.Host == "" || u.Fragment != "":
			r.errs = append(r.errs, fmt.Errorf("%s must be an absolute URL without a fragment", EnvPageURL))
		case u.Scheme == "https":
		case u.Scheme == "http" && isLoopback(u.Hostname()):
			// The local stack serves the page over plain HTTP.
		default:
			r.errs = append(r.errs, fmt.Errorf("%s must be https (http only for localhost)", EnvPageURL))
		}
	}
	return c, r.err()
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// EnvSessions is SESSIONS: "on" (the default) or "off". Off is the only way
// to run the signup without onboarding sessions (every signup then binds
// whatever client_ref its body names); the template never sets it, and
// STAGE=prod refuses it.
const EnvSessions = "SESSIONS"

// LoadSignupFunction reads the signup function's configuration: LoadSignup
// with sessions required. Without SESSION_SECRET_ID the function refuses
// to start, naming the variable, unless SESSIONS=off says so explicitly,
// outside prod. (The resume function reads LoadSignup: it checks no
// session.)
func LoadSignupFunction(get Getenv) (Signup, error) {
	c, err := LoadSignup(get)
	r := &reader{get: get}
	switch mode := r.str(EnvSessions, "on"); {
	case mode == "on":
		if c.SessionSecretID == "" {
			r.errs = append(r.errs, fmt.Errorf("%s is required: every signup must carry an onboarding session (docs/sessions.md); only %s=off runs without, never with %s=prod",
				EnvSessionSecretID, EnvSessions, EnvStage))
		}
	case mode == "off" && c.Stage == "prod":
		r.errs = append(r.errs, fmt.Errorf("%s=off is refused with %s=prod: a signup without a session binds any client_ref", EnvSessions, EnvStage))
	case mode == "off":
		c.SessionSecretID, c.SessionsOff = "", true
	default:
		r.errs = append(r.errs, fmt.Errorf("%s must be on or off, not %q", EnvSessions, mode))
	}
	return c, errors.Join(err, r.err())
}
