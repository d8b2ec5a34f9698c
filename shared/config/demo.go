package config

import "time"

// Demo configures the App Review demo function: it reads the signup table
// and calls Plivo, and never talks to Meta.
type Demo struct {
	Common
	TableName     string
	PlivoSecretID string
	PlivoURL      string
	SecretsTTL    time.Duration
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
	}
	return c, r.err()
}
