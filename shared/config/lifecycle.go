package config

import (
	"fmt"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Environment variables of the functions that follow a record after the
// signup (besides TABLE_NAME, DEDUP_TABLE_NAME, META_SECRET_ID,
// EVENT_BUS_NAME and SECRETS_TTL).
const (
	// EnvMetaVerifyTokenSecretID names the secret holding the verify token
	// of Meta's webhook handshake, JSON {"verify_token": "..."}.
	EnvMetaVerifyTokenSecretID = "META_VERIFY_TOKEN_SECRET_ID"
)

// MetaWebhooks configures the Meta webhook receiver.
type MetaWebhooks struct {
	Common
	TableName           string
	DedupTableName      string
	MetaSecretID        string
	VerifyTokenSecretID string
	SecretsTTL          time.Duration
	// MetaAppID is our Meta app's ID: a partner event naming another
	// app (waba_info.partner_app_id) is about that app and changes none
	// of our records. Empty, every partner event is taken as ours.
	MetaAppID string
}

// LoadMetaWebhooks reads the Meta webhook receiver's configuration.
func LoadMetaWebhooks(get Getenv) (MetaWebhooks, error) {
	r := &reader{get: get}
	c := MetaWebhooks{
		Common:              r.common(),
		TableName:           r.required(EnvTableName),
		DedupTableName:      r.required(EnvDedupTableName),
		MetaSecretID:        r.required(EnvMetaSecretID),
		VerifyTokenSecretID: r.required(EnvMetaVerifyTokenSecretID),
		SecretsTTL:          r.duration(EnvSecretsTTL, DefaultSecretsTTL),
		MetaAppID:           r.str(EnvMetaAppID, ""),
	}
	// A placeholder would differ from every app ID Meta names, and so
	// drop our own uninstalls as another app's.
	if c.MetaAppID != "" && !onboarding.ValidWABAID(c.MetaAppID) {
		r.errs = append(r.errs, fmt.Errorf("%s %q is not a Meta App ID (digits only, not starting with 0)", EnvMetaAppID, c.MetaAppID))
	}
	return c, r.err()
}

// Lifecycle configures the stream publisher of lifecycle events.
type Lifecycle struct {
	Common
	EventBusName string
}

// LoadLifecycle reads the lifecycle publisher's configuration.
func LoadLifecycle(get Getenv) (Lifecycle, error) {
	r := &reader{get: get}
	c := Lifecycle{Common: r.common(), EventBusName: r.required(EnvEventBusName)}
	return c, r.err()
}

// Customers configures the per-customer view.
type Customers struct {
	Common
	TableName string
}

// LoadCustomers reads the per-customer view's configuration.
func LoadCustomers(get Getenv) (Customers, error) {
	r := &reader{get: get}
	c := Customers{Common: r.common(), TableName: r.required(EnvTableName)}
	return c, r.err()
}
