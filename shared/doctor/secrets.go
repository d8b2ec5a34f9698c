package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// secretField is one field of a secret as the check reports it.
type secretField struct {
	name, value string
	public      bool // shown in the detail; secret values never are
}

func (d *Doctor) metaSecret(ctx context.Context, r *Report) (secrets.MetaApp, bool) {
	res := Result{ID: "secret.meta", Group: GroupSecrets, Title: "Meta app secret"}
	next := putSecret(d.MetaSecretID, `{"app_id":"<Meta App ID>","app_secret":"<App Secret from App settings > Basic>"}`)
	raw, res, ok := d.readSecret(ctx, res, d.MetaSecretID, "META_SECRET_ID", next)
	if !ok {
		r.add(res)
		return secrets.MetaApp{}, false
	}
	app, err := secrets.ParseMetaApp(raw)
	if err != nil {
		r.add(fail(res, fmt.Sprintf("%q does not parse: %v", d.MetaSecretID, err), next))
		return secrets.MetaApp{}, false
	}
	fields := []secretField{{"app_id", app.AppID, true}, {"app_secret", app.AppSecret, false}}
	if msg := placeholderField(fields); msg != "" {
		r.add(fail(res, fmt.Sprintf("%q: %s", d.MetaSecretID, msg), next))
		return secrets.MetaApp{}, false
	}
	if !digits(app.AppID) {
		r.add(fail(res, fmt.Sprintf("%q: app_id %q is not a Meta App ID (digits only)", d.MetaSecretID, app.AppID), next))
		return secrets.MetaApp{}, false
	}
	r.add(pass(res, fmt.Sprintf("%q: app_id %s, app_secret set", d.MetaSecretID, app.AppID)))
	return app, true
}

func (d *Doctor) plivoSecret(ctx context.Context, r *Report) (secrets.PlivoCredentials, bool) {
	res := Result{ID: "secret.plivo", Group: GroupSecrets, Title: "Plivo secret"}
	next := putSecret(d.PlivoSecretID, `{"auth_id":"<Auth ID>","auth_token":"<Auth Token>"}`) +
		" (the Tech Provider sub-account's credentials from the Plivo console)"
	raw, res, ok := d.readSecret(ctx, res, d.PlivoSecretID, "PLIVO_SECRET_ID", next)
	if !ok {
		r.add(res)
		return secrets.PlivoCredentials{}, false
	}
	creds, err := secrets.ParsePlivoCredentials(raw)
	if err != nil {
		r.add(fail(res, fmt.Sprintf("%q does not parse: %v", d.PlivoSecretID, err), next))
		return secrets.PlivoCredentials{}, false
	}
	fields := []secretField{{"auth_id", creds.AuthID, true}, {"auth_token", creds.AuthToken, false}}
	if msg := placeholderField(fields); msg != "" {
		r.add(fail(res, fmt.Sprintf("%q: %s", d.PlivoSecretID, msg), next))
		return secrets.PlivoCredentials{}, false
	}
	r.add(pass(res, fmt.Sprintf("%q: auth_id %s, auth_token set", d.PlivoSecretID, maskID(creds.AuthID))))
	return creds, true
}

// readSecret fetches a secret string, or returns the failed result.
func (d *Doctor) readSecret(ctx context.Context, res Result, id, env, next string) (string, Result, bool) {
	if id == "" {
		return "", fail(res, env+" is not set", "set "+env+" to the secret's name or ARN (template.yaml does)"), false
	}
	cctx, cancel := d.call(ctx)
	defer cancel()
	out, err := d.Secrets.GetSecretValue(cctx, &secretsmanager.GetSecretValueInput{SecretId: &id})
	if err != nil {
		// The stack's secrets deny every principal but the functions' roles
		// and the operator role (template.yaml's *SecretPolicy).
		detail, step := awsProblem(err, fmt.Sprintf("secret %q", id),
			"run the doctor as the stack's SecretsOperatorRoleArn role, or invoke the deployed DoctorFunction; "+grantDoctor)
		if step == "" {
			step = "deploy the stack (make deploy), which creates the secret, then " + next
		}
		return "", fail(res, detail, step), false
	}
	if out.SecretString == nil {
		return "", fail(res, fmt.Sprintf("%q has no string value", id), next), false
	}
	return *out.SecretString, res, true
}

// placeholders are values left from a template or a tutorial. They are
// compared case-insensitively with '-' read as '_'.
var placeholders = map[string]bool{
	"replace_me": true, "replaceme": true, "change_me": true, "changeme": true, "todo": true, "tbd": true,
	"placeholder": true, "dummy": true, "example": true,
	"your_app_id": true, "your_app_secret": true, "your_auth_id": true, "your_auth_token": true,
	"your_meta_app_id": true, "your_config_id": true,
}

// isPlaceholder reports whether v is a value nobody would deploy on
// purpose: a known placeholder word, "<...>", "{{...}}", "${...}", or a run
// of x's.
func isPlaceholder(v string) bool {
	l := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(v)), "-", "_")
	switch {
	case l == "", placeholders[l]:
		return true
	case strings.HasPrefix(l, "<") && strings.HasSuffix(l, ">"),
		strings.HasPrefix(l, "{{"), strings.HasPrefix(l, "${"):
		return true
	case len(l) >= 3 && strings.Trim(l, "x*.") == "":
		return true
	}
	return false
}

// placeholderField names the first field still holding a placeholder.
// Secret values are never quoted.
func placeholderField(fields []secretField) string {
	for _, f := range fields {
		if !isPlaceholder(f.value) {
			continue
		}
		if f.public {
			return fmt.Sprintf("%s is still the placeholder %q", f.name, f.value)
		}
		return f.name + " is still a placeholder value"
	}
	return ""
}

func putSecret(id, shape string) string {
	if id == "" {
		id = "<secret id>"
	}
	return fmt.Sprintf("aws secretsmanager put-secret-value --secret-id %s --secret-string '%s'", id, shape)
}

// awsProblem describes a failed AWS call by its error code, and says what
// to do for the codes an operator can fix; whenDenied, when not empty, is
// the step for an access denied (grantDoctor otherwise).
func awsProblem(err error, what, whenDenied string) (detail, next string) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		if errors.Is(err, context.DeadlineExceeded) {
			return what + ": no answer in time", "check the endpoint and network, then run the doctor again"
		}
		return fmt.Sprintf("%s: %v", what, err), ""
	}
	switch ae.ErrorCode() {
	case "ResourceNotFoundException":
		return what + " does not exist", ""
	case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
		if whenDenied == "" {
			whenDenied = grantDoctor
		}
		return what + ": access denied (" + ae.ErrorMessage() + ")", whenDenied
	case "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException", "ExpiredToken":
		return what + ": AWS credentials not accepted (" + ae.ErrorCode() + ")", "refresh your AWS credentials (aws sso login, or AWS_PROFILE)"
	}
	return fmt.Sprintf("%s: %s: %s", what, ae.ErrorCode(), ae.ErrorMessage()), ""
}

// grantDoctor is what to do about an access denied to the doctor.
const grantDoctor = "grant the doctor's role read access to it (template.yaml: DoctorFunction Policies)"

// maskID shows enough of an account ID to recognise it.
func maskID(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:4] + "…" + id[len(id)-4:]
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func pass(r Result, detail string) Result {
	r.Status, r.Detail = StatusPass, detail
	return r
}

func fail(r Result, detail, next string) Result {
	r.Status, r.Detail, r.Next = StatusFail, detail, next
	return r
}

func warn(r Result, detail, next string) Result {
	r.Status, r.Detail, r.Next = StatusWarn, detail, next
	return r
}

func skip(r Result, detail string) Result {
	r.Status, r.Detail = StatusSkip, detail
	return r
}
