package doctor

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/meta"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// FromConfig builds a doctor over the AWS clients of d.AWS, and Plivo and
// Meta clients built from the credentials the doctor reads. Without
// PAGE_URL the page is the one the API serves at its root.
func FromConfig(c config.Doctor, d clients.Deps) *Doctor {
	d.Defaults()
	settings := settingsOf(c)
	if settings.PageURL == "" && c.APIID != "" {
		settings.PageURL = apiURL(c.APIID, d.AWS.Region)
	}
	return &Doctor{
		Settings: settings,
		Secrets:  d.SecretsManager,
		Table:    dynamodb.NewFromConfig(d.AWS),
		Rules:    eventbridge.NewFromConfig(d.AWS),
		Plivo: func(creds secrets.PlivoCredentials) PlivoAccount {
			return plivo.New(plivo.Config{
				BaseURL:    c.PlivoURL,
				HTTPClient: d.HTTP,
				Credentials: func(context.Context, bool) (secrets.PlivoCredentials, error) {
					return creds, nil
				},
			})
		},
		Meta: func(app secrets.MetaApp) MetaTokens {
			return meta.New(meta.Config{
				BaseURL:    c.GraphURL,
				Version:    c.GraphVersion,
				HTTPClient: d.HTTP,
				App:        func(context.Context, bool) (secrets.MetaApp, error) { return app, nil },
				// One attempt: the doctor reports what it sees now.
				MaxAttempts: 1,
			})
		},
	}
}

// apiURL is the default endpoint of an HTTP API, where the stack serves the
// onboarding page when no PageUrl is configured.
func apiURL(apiID, region string) string {
	suffix := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	return "https://" + apiID + ".execute-api." + region + "." + suffix + "/"
}

// settingsOf maps the doctor's configuration onto what it checks.
func settingsOf(c config.Doctor) Settings {
	return Settings{
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
