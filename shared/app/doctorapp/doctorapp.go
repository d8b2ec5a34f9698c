// Package doctorapp wires the doctor function, which an operator invokes
// to check a deployment.
package doctorapp

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/doctor"
	"github.com/techprovider/wa-onboarding/shared/meta"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// Handler is the doctor function's handler: an operator invokes it
// directly (aws lambda invoke), whatever the payload, and gets the report.
// A failing check is the report's content, not an invocation error.
type Handler func(ctx context.Context, payload json.RawMessage) (doctor.Report, error)

// New builds the doctor function's handler from its environment.
func New(_ context.Context, getenv config.Getenv) (Handler, error) {
	// The doctor reports a bad setting as a failed check, so its loader
	// never fails.
	load := func(g config.Getenv) (config.Doctor, error) { return config.LoadDoctor(g), nil }
	cfg, log, awsCfg, err := app.Load(getenv, load)
	if err != nil {
		return nil, err
	}
	d := NewDoctor(cfg, clients.Deps{AWS: awsCfg, Logger: log})
	d.Target = fmt.Sprintf("AWS, stage %s, %s", cfg.Stage, awsCfg.Region)
	return func(ctx context.Context, _ json.RawMessage) (doctor.Report, error) {
		r := d.Run(ctx)
		level := slog.LevelInfo
		if !r.OK {
			level = slog.LevelWarn
		}
		failed := []string{}
		for _, c := range r.Checks {
			if c.Status == doctor.StatusFail {
				failed = append(failed, c.ID)
			}
		}
		log.Log(ctx, level, "doctor run", "ok", r.OK, "passed", r.Passed, "failed", r.Failed, "warnings", r.Warnings, "failed_checks", failed)
		return r, nil
	}, nil
}

// NewDoctor builds a doctor over the AWS clients of d.AWS, and Plivo and
// Meta clients built from the credentials the doctor reads. Without
// PAGE_URL the page is the one the API serves at its root.
func NewDoctor(c config.Doctor, d clients.Deps) *doctor.Doctor {
	d.Defaults()
	settings := Settings(c)
	if settings.PageURL == "" && c.APIID != "" {
		settings.PageURL = APIURL(c.APIID, d.AWS.Region)
	}
	return &doctor.Doctor{
		Settings: settings,
		Secrets:  d.SecretsManager,
		Table:    dynamodb.NewFromConfig(d.AWS),
		Rules:    eventbridge.NewFromConfig(d.AWS),
		Plivo: func(creds secrets.PlivoCredentials) doctor.PlivoAccount {
			return plivo.New(plivo.Config{
				BaseURL:    c.PlivoURL,
				HTTPClient: d.HTTP,
				Credentials: func(context.Context, bool) (secrets.PlivoCredentials, error) {
					return creds, nil
				},
			})
		},
		Meta: func(app secrets.MetaApp) doctor.MetaTokens {
			return meta.New(meta.Config{
				BaseURL:    c.GraphURL,
				Version:    c.GraphVersion,
				HTTPClient: d.HTTP,
				App:        func(context.Context) (secrets.MetaApp, error) { return app, nil },
				// One attempt: the doctor reports what it sees now.
				MaxAttempts: 1,
			})
		},
	}
}

// APIURL is the default endpoint of an HTTP API, where the stack serves the
// onboarding page when no PageUrl is configured.
func APIURL(apiID, region string) string {
	suffix := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	return "https://" + apiID + ".execute-api." + region + "." + suffix + "/"
}

// Settings maps the doctor's configuration onto what it checks.
func Settings(c config.Doctor) doctor.Settings {
	return doctor.Settings{
		Target:          "stage " + c.Stage,
		MetaSecretID:    c.MetaSecretID,
		PlivoSecretID:   c.PlivoSecretID,
		GraphVersion:    c.GraphVersion,
		MetaAppID:       c.MetaAppID,
		MetaConfigID:    c.MetaConfigID,
		PlivoSolutionID: c.PlivoSolutionID,
		ESVersion:       c.ESVersion,
		TableName:       c.TableName,
		ResumeRuleName:  c.ResumeRuleName,
		PageURL:         c.PageURL,
		AllowedOrigins:  c.AllowedOrigins,
	}
}
