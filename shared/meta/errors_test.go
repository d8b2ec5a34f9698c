package meta

import (
	"net/url"
	"strings"
	"testing"
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
		switch k := ge.kind(status); k {
		case onboarding.KindThrottled, onboarding.KindTransient, onboarding.KindRejected:
		default:
			t.Fatalf("kind %q", k)
		}
		ue := ge.upstream(OpDebugToken, status, []string{fuzzSecret})
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
	for _, tc := range []struct {
		name   string
		g      graphError
		status int
		want   onboarding.Kind
	}{
		{"wrong app secret", graphError{Message: "Error validating client secret.", Type: "OAuthException", Code: 1}, 400, onboarding.KindConfig},
		{"unknown app ID", graphError{Message: "Error validating application. Invalid application ID.", Type: "OAuthException", Code: 101}, 400, onboarding.KindConfig},
		{"app token refused", graphError{Message: "Invalid OAuth 2.0 Access Token: the app access token is invalid", Type: "OAuthException", Code: 190}, 400, onboarding.KindConfig},
		{"unknown error stays transient", graphError{Message: "An unknown error occurred", Type: "OAuthException", Code: 1}, 500, onboarding.KindTransient},
		{"code 1 on a 400 without the secret", graphError{Message: "An unknown error has occurred.", Code: 1}, 400, onboarding.KindTransient},
		{"customer token expired is the customer's", graphError{Message: "Error validating access token: Session has expired", Type: "OAuthException", Code: 190, Subcode: 463}, 400, onboarding.KindRejected},
		{"code spent", graphError{Message: "This authorization code has been used.", Type: "OAuthException", Code: 100}, 400, onboarding.KindRejected},
	} {
		if got := tc.g.kind(tc.status); got != tc.want {
			t.Errorf("%s: kind = %s, want %s", tc.name, got, tc.want)
		}
	}
}
