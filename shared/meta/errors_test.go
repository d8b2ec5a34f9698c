package meta

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

const fuzzSecret = "s3cr/t+v=lue&x"

func TestParseGraphError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		want   graphError
		wantOK bool
	}{
		{name: "full", body: `{"error":{"message":"m","type":"OAuthException","code":190,"error_subcode":463,"is_transient":false,"fbtrace_id":"T"}}`,
			want: graphError{Message: "m", Type: "OAuthException", Code: 190, Subcode: 463, FBTraceID: "T"}, wantOK: true},
		{name: "string fields", body: `{"error":{"code":"4","error_subcode":"12","is_transient":"true"}}`,
			want: graphError{Code: 4, Subcode: 12, IsTransient: true}, wantOK: true},
		{name: "float code", body: `{"error":{"code":613.0}}`, want: graphError{Code: 613}, wantOK: true},
		{name: "wrong field types ignored", body: `{"error":{"message":["x"],"code":{"a":1},"is_transient":1}}`, want: graphError{}, wantOK: true},
		{name: "string error", body: `{"error":"invalid_grant"}`, want: graphError{Message: "invalid_grant"}, wantOK: true},
		{name: "error_data details", body: `{"error":{"message":"(#100) Invalid parameter","code":100,"error_data":{"messaging_product":"whatsapp","details":"Parameter x is invalid"}}}`,
			want: graphError{Message: "(#100) Invalid parameter", Code: 100, Details: "Parameter x is invalid"}, wantOK: true},
		{name: "user title and message", body: `{"error":{"message":"m","code":100,"error_user_title":"T","error_user_msg":"U"}}`,
			want: graphError{Message: "m", Code: 100, UserTitle: "T", UserMsg: "U"}, wantOK: true},
		{name: "error_data as a string ignored", body: `{"error":{"code":100,"error_data":"{\"details\":\"x\"}"}}`, want: graphError{Code: 100}, wantOK: true},
		{name: "null error", body: `{"error":null}`},
		{name: "numeric error", body: `{"error":5}`},
		{name: "no error member", body: `{"data":[]}`},
		{name: "not JSON", body: `<html>`},
		{name: "empty", body: ``},
		{name: "array", body: `[{"error":{}}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseGraphError([]byte(tt.body))
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("parseGraphError = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, notWant string
	}{
		{name: "raw", in: "bad " + fuzzSecret + " here", notWant: fuzzSecret},
		{name: "query escaped", in: "bad " + url.QueryEscape(fuzzSecret), notWant: url.QueryEscape(fuzzSecret)},
		{name: "path escaped", in: "bad " + url.PathEscape(fuzzSecret), notWant: url.PathEscape(fuzzSecret)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := scrub(tt.in, []string{fuzzSecret}); strings.Contains(got, tt.notWant) || !strings.Contains(got, "[REDACTED]") {
				t.Errorf("scrub = %q", got)
			}
		})
	}
	long := strings.Repeat("é", maxMessageLen)
	if got := scrub(long, nil); !utf8.ValidString(got) || len(got) > maxMessageLen+len("…") {
		t.Errorf("long message scrubbed to %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
}

func FuzzParseGraphError(f *testing.F) {
	for _, seed := range []string{
		`{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"error_subcode":33,"fbtrace_id":"A1"}}`,
		`{"error":{"code":4,"is_transient":true}}`,
		`{"error":{"code":"80004","error_subcode":"2494055"}}`,
		`{"error":"invalid_request"}`,
		`{"error":{"message":"` + fuzzSecret + `"}}`,
		// Meta's explanations for a person reach the log too.
		`{"error":{"message":"m","code":100,"error_user_title":"` + fuzzSecret + `","error_user_msg":"` + url.QueryEscape(fuzzSecret) + `"}}`,
		`{"error":{"message":"m","error_data":{"details":"d"},"error_user_msg":"` + url.PathEscape(fuzzSecret) + `"}}`,
		`{"error":null}`,
		`<html>502</html>`,
		``,
	} {
		f.Add([]byte(seed), 400)
		f.Add([]byte(seed), 500)
	}
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		ge, ok := parseGraphError(body)
		if !ok && ge != (graphError{}) {
			t.Fatalf("not ok but returned %+v", ge)
		}
		switch k := ge.kind(status, false); k {
		case onboarding.KindThrottled, onboarding.KindTransient, onboarding.KindRejected, onboarding.KindConfig:
		default:
			t.Fatalf("kind %q", k)
		}
		ue := ge.upstream(request{op: OpDebugToken, sensitive: []string{fuzzSecret}, appAuth: true}, status)
		if strings.Contains(ue.Message, fuzzSecret) || strings.Contains(ue.Error(), fuzzSecret) {
			t.Fatalf("message leaks the secret: %q", ue.Message)
		}
		if !utf8.ValidString(ue.Message) || len(ue.Message) > maxMessageLen+len("…") {
			t.Fatalf("message of %d bytes, valid UTF-8 %v", len(ue.Message), utf8.ValidString(ue.Message))
		}
		if ue.Service != onboarding.ServiceMeta || ue.Status != status || ue.Code != ge.Code {
			t.Fatalf("upstream = %+v", ue)
		}
	})
}

func TestGraphErrorKindTellsConfigurationFromOutage(t *testing.T) {
	t.Parallel()
	// appAuth is true for the calls that authenticate as our app
	// (debug_token's app token, the code exchange's client secret) and
	// false for the calls made with the customer's business token.
	tests := []struct {
		name    string
		g       graphError
		status  int
		appAuth bool
		want    onboarding.Kind
	}{
		{"wrong app secret", graphError{Message: "Error validating client secret.", Type: "OAuthException", Code: 1}, 400, true, onboarding.KindConfig},
		{"unknown app ID", graphError{Message: "Error validating application. Invalid application ID.", Type: "OAuthException", Code: 101}, 400, true, onboarding.KindConfig},
		{"app token refused", graphError{Message: "Invalid OAuth 2.0 Access Token: the app access token is invalid", Type: "OAuthException", Code: 190}, 400, true, onboarding.KindConfig},
		{"any 190 on an app-token call is ours", graphError{Message: "Invalid OAuth access token signature.", Type: "OAuthException", Code: 190}, 400, true, onboarding.KindConfig},
		{"app deleted, seen on a business-token call", graphError{Message: "Error validating application. Application has been deleted.", Type: "OAuthException", Code: 190}, 400, false, onboarding.KindConfig},
		{"customer removed our app (458)", graphError{Message: "Error validating access token: The user has not authorized application 875877299126123.", Type: "OAuthException", Code: 190, Subcode: 458}, 400, false, onboarding.KindRejected},
		{"customer changed password (460)", graphError{Message: "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.", Type: "OAuthException", Code: 190, Subcode: 460}, 400, false, onboarding.KindRejected},
		{"customer token expired (463)", graphError{Message: "Error validating access token: Session has expired", Type: "OAuthException", Code: 190, Subcode: 463}, 400, false, onboarding.KindRejected},
		{"customer token invalid (467)", graphError{Message: "Error validating access token: The access token is invalid since the user logged out.", Type: "OAuthException", Code: 190, Subcode: 467}, 400, false, onboarding.KindRejected},
		{"customer token unparseable", graphError{Message: "Invalid OAuth access token - Cannot parse access token", Type: "OAuthException", Code: 190}, 400, false, onboarding.KindRejected},
		{"customer 190 at HTTP 401", graphError{Message: "Error validating access token: Session has expired", Code: 190, Subcode: 463}, 401, false, onboarding.KindRejected},
		{"capability 3 at HTTP 500 is ours, not an outage", graphError{Message: "(#3) Application does not have the capability to make this API call.", Type: "OAuthException", Code: 3}, 500, false, onboarding.KindConfig},
		{"capability 3 flagged transient is still ours", graphError{Message: "(#3) Capability", Code: 3, IsTransient: true}, 500, false, onboarding.KindConfig},
		{"permission denied 10", graphError{Message: "(#10) Application does not have permission for this action", Type: "OAuthException", Code: 10}, 403, false, onboarding.KindConfig},
		{"API permission 200", graphError{Message: "(#200) Permissions error", Type: "OAuthException", Code: 200}, 403, false, onboarding.KindConfig},
		{"API permission 299", graphError{Code: 299}, 403, false, onboarding.KindConfig},
		{"300 is no permission code", graphError{Code: 300}, 400, false, onboarding.KindRejected},
		{"application limit 341", graphError{Message: "(#341) Application limit reached", Code: 341}, 400, false, onboarding.KindThrottled},
		{"throughput 130429", graphError{Message: "(#130429) Rate limit hit", Code: 130429}, 400, false, onboarding.KindThrottled},
		{"unknown error stays transient", graphError{Message: "An unknown error occurred", Type: "OAuthException", Code: 1}, 500, true, onboarding.KindTransient},
		{"code 1 on a 400 without the secret", graphError{Message: "An unknown error has occurred.", Code: 1}, 400, true, onboarding.KindTransient},
		{"5xx without a code", graphError{Message: "oops"}, 502, false, onboarding.KindTransient},
		{"code spent", graphError{Message: "This authorization code has been used.", Type: "OAuthException", Code: 100, Subcode: 36009}, 400, true, onboarding.KindRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.g.kind(tt.status, tt.appAuth); got != tt.want {
				t.Errorf("kind = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestUpstreamMessageKeepsDetails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		g    graphError
		want string
	}{
		{name: "details appended", g: graphError{Message: "(#100) Invalid parameter", Details: "Param waba_id must be a valid ID", FBTraceID: "T"},
			want: "(#100) Invalid parameter: Param waba_id must be a valid ID (fbtrace_id T)"},
		{name: "details already in the message", g: graphError{Message: "Invalid parameter: bad id", Details: "bad id"}, want: "Invalid parameter: bad id"},
		{name: "details scrubbed", g: graphError{Message: "m", Details: "token " + fuzzSecret}, want: "m: token [REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.g.upstream(request{op: OpPhoneNumbers, sensitive: []string{fuzzSecret}}, 400).Message; got != tt.want {
				t.Errorf("message = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzRegainAccess: X-Business-Use-Case-Usage is read from every
// throttled answer, whatever it holds: the estimate is whole minutes, from
// none to a day, and the header can never make the client panic.
func FuzzRegainAccess(f *testing.F) {
	for _, seed := range []string{
		`{"102290129340398":[{"type":"whatsapp_business_management","call_count":100,"total_cputime":3,"total_time":4,"estimated_time_to_regain_access":12}]}`,
		`{"1":[{"estimated_time_to_regain_access":"7"}],"2":[{"estimated_time_to_regain_access":-5}]}`,
		`{"1":[{"estimated_time_to_regain_access":1e300}],"2":[{"estimated_time_to_regain_access":"NaN"}]}`,
		`{"1":[{"estimated_time_to_regain_access":2.5}],"2":[null,7]}`,
		`{"1":{"estimated_time_to_regain_access":3}}`,
		`[]`, `null`, `{oops`, ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		h := http.Header{}
		h.Set("X-Business-Use-Case-Usage", header)
		if d := regainAccess(h); d < 0 || d > 24*time.Hour || d%time.Minute != 0 {
			t.Fatalf("regainAccess(%q) = %s", header, d)
		}
	})
}
