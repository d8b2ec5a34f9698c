package signupapp

import (
	"context"
	"log/slog"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// withLinkCheck serves apigw.LinkCheckRoute beside signup: the function
// that spends session tokens is the one that already holds their keys and
// their ledger. Without sessions (SESSIONS=off outside prod) every link
// is usable.
func withLinkCheck(signup apigw.Handler, cfg config.Signup, cache *secrets.Cache, d clients.Deps, log *slog.Logger) apigw.Handler {
	check := func(context.Context, string) error { return nil }
	if cfg.SessionSecretID != "" {
		d.Defaults()
		c := &session.LinkCheck{
			Verifier: &session.Verifier{Keys: session.SecretKeys(cache, cfg.SessionSecretID)},
			Spent:    &dynamo.SessionLedger{Client: d.DynamoDB, Table: cfg.DedupTableName},
		}
		check = c.Check
	}
	links := apigw.LinkCheckHandler(check, log)
	return func(ctx context.Context, req apigw.Request) (apigw.Response, error) {
		if req.RouteKey == apigw.LinkCheckRoute {
			return links(ctx, req)
		}
		return signup(ctx, req)
	}
}
