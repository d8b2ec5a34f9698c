package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Environment variables of the Plivo callback receiver (besides TABLE_NAME,
// DEDUP_TABLE_NAME, PLIVO_SECRET_ID and SECRETS_TTL).
const (
	// EnvCallbackPublicURL is the URL Plivo calls, exactly as Plivo has it:
	// what Plivo signs. Behind a custom domain or a stage it differs from
	// anything the Lambda event says, so it is configuration.
	EnvCallbackPublicURL = "CALLBACK_PUBLIC_URL"
	// EnvEventBusName is the EventBridge bus callbacks are published to.
	EnvEventBusName = "EVENT_BUS_NAME"
	// EnvCallbackSignatureV2 is "refuse" (default) or "accept": whether a
	// callback signed with Plivo's V2 scheme only is accepted. V2 signs
	// neither body nor query; accepted, each nonce is single use.
	EnvCallbackSignatureV2 = "CALLBACK_SIGNATURE_V2"
	// EnvRouteCacheTTL is how long an execution environment routes a
	// number from memory (default 30s; 0 reads the table every time).
	EnvRouteCacheTTL = "ROUTE_CACHE_TTL"
	// EnvCallbackDedupeWrite, when true, claims each routed callback's key
	// in the dedup table before publishing and marks it after (2 writes),
	// so that Plivo's redeliveries are not published again. Off by
	// default: consumers dedupe on dedupe_key anyway (docs/bench.md).
	EnvCallbackDedupeWrite = "CALLBACK_DEDUPE_WRITE"
)

// Callbacks configures the Plivo callback receiver.
type Callbacks struct {
	Common
	// TableName is the signup table, read to route a callback.
	TableName string
	// DedupTableName keeps one entry per (MessageUUID, Status).
	DedupTableName string
	EventBusName   string
	// PublicURL is CALLBACK_PUBLIC_URL, kept byte for byte: a trailing
	// slash changes the signature.
	PublicURL     string
	PlivoSecretID string
	SecretsTTL    time.Duration
	// AcceptV2 is CALLBACK_SIGNATURE_V2=accept.
	AcceptV2 bool
	// RouteCacheTTL is ROUTE_CACHE_TTL; 0 turns the route cache off.
	RouteCacheTTL time.Duration
	// DedupeWrite is CALLBACK_DEDUPE_WRITE.
	DedupeWrite bool
}

// LoadCallbacks reads the callback receiver's configuration.
func LoadCallbacks(get Getenv) (Callbacks, error) {
	r := &reader{get: get}
	c := Callbacks{
		Common:         r.common(),
		TableName:      r.required(EnvTableName),
		DedupTableName: r.required(EnvDedupTableName),
		EventBusName:   r.required(EnvEventBusName),
		PublicURL:      r.required(EnvCallbackPublicURL),
		PlivoSecretID:  r.required(EnvPlivoSecretID),
		SecretsTTL:     r.duration(EnvSecretsTTL, DefaultSecretsTTL),
		RouteCacheTTL:  r.duration(EnvRouteCacheTTL, 30*time.Second),
		DedupeWrite:    r.boolean(EnvCallbackDedupeWrite),
	}
	switch v := r.str(EnvCallbackSignatureV2, "refuse"); v {
	case "refuse":
	case "accept":
		c.AcceptV2 = true
	default:
		r.errs = append(r.errs, fmt.Errorf("%s must be refuse or accept, not %q", EnvCallbackSignatureV2, v))
	}
	if c.PublicURL != "" {
		if err := checkCallbackURL(c.PublicURL); err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s %w", EnvCallbackPublicURL, err))
		}
	}
	return c, r.err()
}

// checkCallbackURL accepts an absolute https URL (http for localhost, where
// the local stack serves) with a path and no fragment or credentials,
// written so that Go signs it as Plivo does.
func checkCallbackURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("must be an absolute URL such as https://hooks.example.com/webhooks/plivo/whatsapp")
	case u.Fragment != "" || strings.Contains(s, "#") || u.User != nil:
		return fmt.Errorf("must not have a fragment or credentials")
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) || u.EscapedPath() != writtenPath(s):
		// Plivo signs the URL as written; Go would re-encode these.
		return fmt.Errorf("must be ASCII, with spaces and characters such as { } | ^ percent-encoded")
	case u.RawQuery != "" && !validQuery(u.RawQuery):
		return fmt.Errorf("must have a query of name=value pairs joined by & with valid %% escapes")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("must be https (http only for localhost)")
	}
	return nil
}

// writtenPath is the path of an absolute URL as written: from the first
// '/' after the host to the query.
func writtenPath(s string) string {
	_, rest, _ := strings.Cut(s, "://")
	rest, _, _ = strings.Cut(rest, "?")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return ""
}

// validQuery reports whether Go reads the query as Plivo's SDKs do: Go
// drops a pair with a ';' or a bad escape from what it signs, and the SDKs
// keep it, so the signatures would never match.
func validQuery(q string) bool {
	_, err := url.ParseQuery(q)
	return err == nil
}
