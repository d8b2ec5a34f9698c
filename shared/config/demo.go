package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Demo configures the App Review demo function: it reads the signup table
// and calls Plivo, and never talks to Meta.
type Demo struct {
	Common
	TableName     string
	PlivoSecretID string
	PlivoURL      string
	SecretsTTL    time.Duration
	// AllowedWABAs, when not empty, are the only WABAs the demos may use
	// (DEMO_WABA_ALLOWLIST): the test WABAs App Review is recorded with.
	AllowedWABAs []string
}

// LoadDemo reads the demo function's configuration.
func LoadDemo(get Getenv) (Demo, error) {
	r := &reader{get: get}
	c := Demo{
		Common:        r.common(),
		TableName:     r.required(EnvTableName),
		PlivoSecretID: r.required(EnvPlivoSecretID),
		PlivoURL:      r.url(EnvPlivoAPIURL, DefaultPlivoURL),
		SecretsTTL:    r.duration(EnvSecretsTTL, DefaultSecretsTTL),
		AllowedWABAs:  r.wabaList(EnvDemoWABAAllowList),
	}
	return c, r.err()
}

// wabaList reads a comma-separated list of WABA IDs; empty means none.
func (r *reader) wabaList(key string) []string {
	var ids []string
	for _, id := range strings.Split(r.str(key, ""), ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if !onboarding.ValidWABAID(id) {
			r.errs = append(r.errs, fmt.Errorf("%s must list WABA IDs (digits) separated by commas", key))
			return nil
		}
		ids = append(ids, id)
	}
	return ids
}
