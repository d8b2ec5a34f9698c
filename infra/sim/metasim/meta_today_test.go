package metasim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRefusesWhatMetaRefuses: a Graph version past its end of life, and a
// wrong app secret (code 1, "Error validating client secret.").
func TestRefusesWhatMetaRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.Now = func() time.Time { return time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC) }
	})
	if r := e.get(t, "/v19.0/debug_token", nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"code":12`) ||
		!strings.Contains(string(r.body), "2026-05-21") {
		t.Errorf("expired v19.0: %d %s", r.status, r.body)
	}
	if r := e.get(t, "/v25.0/debug_token", nil); strings.Contains(string(r.body), `"code":12`) {
		t.Errorf("v25.0 refused as expired: %s", r.body)
	}
	code := e.sim.IssueCode(Grant{WABAID: testWABA, BusinessID: "198765432109876"})
	r := e.get(t, "/v25.0/oauth/access_token", url.Values{"client_id": {testAppID}, "client_secret": {"wrong-secret"}, "code": {code}})
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"code":1,`) || !strings.Contains(string(r.body), "Error validating client secret.") {
		t.Errorf("wrong secret: %d %s", r.status, r.body)
	}
}

// TestReportsUnverifiedNumbers: v3+ customers may finish with a number
// whose code they never entered; Graph says so in code_verification_status.
func TestReportsUnverifiedNumbers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(t, Grant{WABAID: testWABA, BusinessID: "198765432109876", PhoneNumbers: []PhoneNumber{
		{ID: "112233445566778", CodeVerificationStatus: "NOT_VERIFIED"},
		{ID: "112233445566779"},
	}})
	r := e.get(t, "/v25.0/"+testWABA+"/phone_numbers", url.Values{
		"access_token": {tok}, "appsecret_proof": {AppSecretProof(testAppSecret, tok)}, "fields": {"id,code_verification_status,status"},
	})
	body := string(r.body)
	if r.status != http.StatusOK || !strings.Contains(body, `{"id":"112233445566778","code_verification_status":"NOT_VERIFIED","status":"PENDING"}`) ||
		!strings.Contains(body, `{"id":"112233445566779","code_verification_status":"VERIFIED","status":"PENDING"}`) {
		t.Errorf("phone_numbers: %d %s", r.status, body)
	}
}
