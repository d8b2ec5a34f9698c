package config

import "strings"

// Environment variables read only by the doctor.
const (
	// EnvResumeRuleName names the EventBridge rule that triggers the resume
	// function; template.yaml passes the rule SAM generates for its
	// Schedule event.
	EnvResumeRuleName = "RESUME_RULE_NAME"
	// EnvAllowedOrigins is the API's CORS origins, comma separated, as the
	// AllowedOrigins template parameter sets them.
	EnvAllowedOrigins = "ALLOWED_ORIGINS"
	// EnvAPIID is the HTTP API's ID: with PAGE_URL empty, the page is the
	// one the API serves at its root.
	EnvAPIID = "API_ID"
)

// Doctor is what the doctor checks. Nothing in it is required: a missing or
// malformed setting is one of the things the doctor reports, so loading
// never fails.
type Doctor struct {
	Common
	MetaSecretID   string
	PlivoSecretID  string
	GraphURL       string
	GraphVersion   string
	PlivoURL       string
	TableName      string
	ResumeRuleName string
	MetaAppID      string
	MetaConfigID   string
	// PlivoSolutionID and ESVersion are the page's Embedded Signup
	// settings; empty ESVersion means the default.
	PlivoSolutionID string
	ESVersion       string
	PageURL         string
	APIID           string
	AllowedOrigins  []string
}

// LoadDoctor reads the doctor's configuration.
func LoadDoctor(get Getenv) Doctor {
	r := &reader{get: get}
	return Doctor{
		Common:          r.common(),
		MetaSecretID:    r.str(EnvMetaSecretID, ""),
		PlivoSecretID:   r.str(EnvPlivoSecretID, ""),
		GraphURL:        strings.TrimRight(r.str(EnvMetaGraphURL, DefaultGraphURL), "/"),
		GraphVersion:    r.str(EnvMetaGraphVersion, DefaultGraphVersion),
		PlivoURL:        strings.TrimRight(r.str(EnvPlivoAPIURL, DefaultPlivoURL), "/"),
		TableName:       r.str(EnvTableName, ""),
		ResumeRuleName:  r.str(EnvResumeRuleName, ""),
		MetaAppID:       r.str(EnvMetaAppID, ""),
		MetaConfigID:    r.str(EnvMetaConfigID, ""),
		PlivoSolutionID: r.str(EnvPlivoSolutionID, ""),
		ESVersion:       r.str(EnvMetaESVersion, DefaultESVersion),
		PageURL:         r.str(EnvPageURL, ""),
		APIID:           r.str(EnvAPIID, ""),
		AllowedOrigins:  SplitList(r.str(EnvAllowedOrigins, "")),
	}
}

// SplitList splits a comma-separated list, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
