package doctor

import (
	"context"
	"errors"
	"fmt"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// plivoCredentials proves the Plivo credentials with an authenticated read
// of the account: GET /v1/Account/{auth_id}/.
func (d *Doctor) plivoCredentials(ctx context.Context, creds secrets.PlivoCredentials, ok bool) Result {
	res := Result{ID: "plivo.credentials", Group: GroupPlivo, Title: "Plivo credentials"}
	if !ok {
		return skip(res, "needs a readable Plivo secret")
	}
	cctx, cancel := d.call(ctx)
	defer cancel()
	acct, err := d.Plivo(creds).Account(cctx)
	if err != nil {
		ue, isUpstream := onboarding.AsUpstream(err)
		switch {
		case !isUpstream:
			return fail(res, "could not call Plivo: "+err.Error(), "check PLIVO_API_URL and the network, then run the doctor again")
		case ue.Kind == onboarding.KindUnauthorized:
			return fail(res, fmt.Sprintf("Plivo answered 401 to GET /v1/Account/{auth_id}/ for auth_id %s: the auth ID and token do not match", maskID(creds.AuthID)),
				"copy the Auth ID and Auth Token of the Tech Provider sub-account from the Plivo console, then "+
					putSecret(d.PlivoSecretID, `{"auth_id":"<Auth ID>","auth_token":"<Auth Token>"}`))
		case ue.Kind == onboarding.KindForbidden:
			return fail(res, "Plivo answered 403: "+ue.Message, "ask your Plivo account manager to enable WhatsApp and Tech Provider access on this account")
		case ue.Retryable():
			return fail(res, "Plivo did not answer usefully: "+ue.Error(), "try again in a minute; if it persists, check status.plivo.com")
		}
		return fail(res, "Plivo refused the account read: "+ue.Error(), "check the Plivo secret and PLIVO_API_URL")
	}
	detail := fmt.Sprintf("GET /v1/Account/{auth_id}/ answered 200: %q", acct.Name)
	if acct.AccountType != "" {
		detail += ", " + acct.AccountType
	}
	if acct.CashCredits != "" {
		detail += ", cash credits " + acct.CashCredits
	}
	return pass(res, detail)
}

// metaCredentials proves the Meta app ID and secret with an app-token call
// to the Graph API: debug_token inspecting the app token itself. Meta
// documents app tokens as valid input_token values; a wrong secret is
// refused with code 190, and the answer names the app the token belongs
// to. It is the same call, with the same token, that verifies every
// signup.
func (d *Doctor) metaCredentials(ctx context.Context, app secrets.MetaApp, ok bool) Result {
	res := Result{ID: "meta.credentials", Group: GroupMeta, Title: "Meta app credentials"}
	if !ok {
		return skip(res, "needs a readable Meta app secret")
	}
	next := "copy the App ID and App Secret from the Meta App Dashboard (App settings > Basic), then " +
		putSecret(d.MetaSecretID, `{"app_id":"<App ID>","app_secret":"<App Secret>"}`)
	cctx, cancel := d.call(ctx)
	defer cancel()
	info, err := d.Meta(app).DebugToken(cctx, app.AppID+"|"+app.AppSecret)
	if err != nil {
		ue, isUpstream := onboarding.AsUpstream(err)
		switch {
		case !isUpstream:
			return fail(res, "could not call the Graph API: "+err.Error(), "check META_GRAPH_URL and the network, then run the doctor again")
		case ue.Retryable():
			return fail(res, "the Graph API did not answer usefully: "+ue.Error(), "try again in a minute; if it persists, check metastatus.com")
		}
		return fail(res, fmt.Sprintf("Meta refused the app token of app %s (code %d): %s", app.AppID, ue.Code, ue.Message), next)
	}
	switch {
	case !info.Valid:
		return fail(res, fmt.Sprintf("Meta says the app token of app %s is not valid", app.AppID), next)
	case info.AppID != app.AppID:
		return fail(res, fmt.Sprintf("the app token belongs to app %s, not %s", info.AppID, app.AppID), next)
	}
	return pass(res, fmt.Sprintf("debug_token accepted the app token of app %s (%s)", app.AppID, d.GraphVersion))
}

// metaSettings checks the public IDs the page gives Meta's SDK against the
// app the backend verifies tokens for.
func (d *Doctor) metaSettings(app secrets.MetaApp, appOK bool) Result {
	res := Result{ID: "meta.settings", Group: GroupMeta, Title: "App ID and Config ID"}
	next := "set the MetaAppId and MetaConfigId parameters (samconfig.toml parameter_overrides) and deploy; " +
		"the Config ID is on Facebook Login for Business > Configurations (guide 3.3)"
	var problems []error
	switch {
	case isPlaceholder(d.MetaAppID):
		problems = append(problems, fmt.Errorf("META_APP_ID is not set (%q)", d.MetaAppID))
	case !digits(d.MetaAppID):
		problems = append(problems, fmt.Errorf("META_APP_ID %q is not a Meta App ID (digits only)", d.MetaAppID))
	case appOK && d.MetaAppID != app.AppID:
		problems = append(problems, fmt.Errorf("the page launches app %s but the Meta secret holds app %s: every signup would fail debug_token", d.MetaAppID, app.AppID))
	}
	switch {
	case isPlaceholder(d.MetaConfigID):
		problems = append(problems, fmt.Errorf("META_CONFIG_ID is not set (%q)", d.MetaConfigID))
	case !digits(d.MetaConfigID):
		problems = append(problems, fmt.Errorf("META_CONFIG_ID %q is not a configuration ID (digits only)", d.MetaConfigID))
	case d.MetaConfigID == d.MetaAppID:
		problems = append(problems, errors.New("META_CONFIG_ID equals the App ID: use the Embedded Signup configuration's ID, not the app's"))
	}
	if len(problems) > 0 {
		return fail(res, errors.Join(problems...).Error(), next)
	}
	return pass(res, fmt.Sprintf("app %s, config %s", d.MetaAppID, d.MetaConfigID))
}
