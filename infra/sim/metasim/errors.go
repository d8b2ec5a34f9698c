package metasim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// graphErrorBody is Meta's error envelope. error_subcode and is_transient
// appear only on errors that carry them, as on Meta.
type graphErrorBody struct {
	Error graphErrorDetail `json:"error"`
}

type graphErrorDetail struct {
	Message      string `json:"message"`
	Type         string `json:"type"`
	Code         int    `json:"code"`
	ErrorSubcode int    `json:"error_subcode,omitempty"`
	IsTransient  bool   `json:"is_transient,omitempty"`
	FBTraceID    string `json:"fbtrace_id"`
}

// graphError builds a Graph error response with status 400, which Graph
// gives every error of a request it refuses.
func graphError(typ string, code, subcode int, message string) response {
	return graphErrorResponse(http.StatusBadRequest, graphErrorDetail{
		Message: message, Type: typ, Code: code, ErrorSubcode: subcode,
	})
}

func graphErrorResponse(status int, d graphErrorDetail) response {
	d.FBTraceID = traceID()
	body, _ := json.Marshal(graphErrorBody{Error: d})
	h := http.Header{}
	h.Set("X-Fb-Trace-Id", d.FBTraceID)
	if d.Type == "OAuthException" {
		// Meta repeats OAuth errors in WWW-Authenticate; clients that only
		// look at headers see the same failure.
		h.Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_request" "`+d.Message+`"`)
	}
	return response{status: status, contentType: "application/json; charset=UTF-8", body: body, header: h}
}

// jsonResponse is a 200 answer with Graph's content type.
func jsonResponse(v any) response {
	body, _ := json.Marshal(v)
	h := http.Header{}
	h.Set("X-Fb-Trace-Id", traceID())
	return response{status: http.StatusOK, contentType: "application/json; charset=UTF-8", body: body, header: h}
}

// Messages of the errors the endpoints return, copied from Meta's answers.
const (
	msgNoToken        = "An access token is required to request this resource."
	msgCannotParse    = "Invalid OAuth access token - Cannot parse access token"
	msgBadSignature   = "Invalid OAuth access token signature."
	msgProofMissing   = "API calls from the server require an appsecret_proof argument"
	msgProofInvalid   = "Invalid appsecret_proof provided in the API argument"
	msgNeedAppToken   = "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app"
	msgInputRequired  = "(#100) The parameter input_token is required"
	msgBadClientID    = "Error validating application. Invalid application ID."
	msgBadSecret      = "Error validating client secret."
	msgMissingCode    = "Missing authorization code"
	msgCodeFormat     = "Invalid verification code format."
	msgCodeExpired    = "This authorization code has expired."
	msgCodeUsed       = "This authorization code has been used."
	msgRedirectURI    = "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request"
	msgSessionExpired = "Error validating access token: Session has expired on %s. The current time is %s."
)

// Graph error codes and subcodes the simulator uses.
const (
	codeUnknown        = 1
	codeParam          = 100
	codeBadAppID       = 101
	codeNoToken        = 104
	codeToken          = 190
	subcodeUnsupported = 33
	subcodeExpired     = 463
	subcodeCodeExpired = 36007
	subcodeCodeFormat  = 36008
	subcodeCodeUsed    = 36009
)

// unsupportedMethod answers a method the simulated path does not take.
func unsupportedMethod(method, id string) response {
	return graphError("GraphMethodException", codeParam, subcodeUnsupported,
		"Unsupported "+strings.ToLower(method)+" request. Object with ID '"+id+"' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api")
}

// traceID returns a random fbtrace_id-like string.
func traceID() string { return simkit.RandomString(simkit.Alphanumeric, 23) }

// codeDeprecated is Graph's "API Deprecated" error code.
const codeDeprecated = 12

// expiredVersion answers a call to a Graph version past its end of life.
// Meta's versioning page says such calls are served by the oldest version
// still available; the simulator refuses them instead, so that a test
// against it fails the day a configured version expires instead of
// silently changing behaviour.
func expiredVersion(version string, until time.Time) response {
	return graphError("OAuthException", codeDeprecated, 0,
		"(#12) Graph API "+version+" is no longer available: it reached its end of life on "+until.Format(time.DateOnly)+". Please upgrade to a newer version.")
}
