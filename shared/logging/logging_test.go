package logging_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/logging"
)

// TestCanariesNeverLogged plants secrets where a key-based filter cannot
// see them: inside error strings, free text and map values. None may be
// written; the harmless text around them must be.
func TestCanariesNeverLogged(t *testing.T) {
	t.Parallel()
	const (
		code   = "AQcanarycode0001"
		secret = "canary-client-secret"
		token  = "EAAcanarytoken0001"
		proof  = "canaryproof0123456789abcdef"
		sig    = "canarySignatureV3Value="
		nonce  = "canary-nonce-77"
	)
	var buf bytes.Buffer
	log := logging.New(&buf, "DEBUG")
	urlText := "https://graph.facebook.com/v25.0/oauth/access_token?client_id=1&client_secret=" + secret + "&code=" + code
	log.Info("error string", "error", errors.New("Get \""+urlText+"\": context deadline exceeded"))
	log.Info("free text", "detail", "debug_token?input_token=x&access_token="+token+"&appsecret_proof="+proof)
	log.Info("header text", "detail", "X-Plivo-Signature-V3: "+sig+" x-plivo-signature-v3-nonce="+nonce)
	log.Info("maps", "headers", map[string]string{"X-Plivo-Signature-Ma-V3": sig, "x-plivo-signature-v2-nonce": nonce, "from": "+1555"},
		"query", url.Values{"code": {code}, "next": {"https://x.example/?appsecret_proof=" + proof}},
		"http", http.Header{"Authorization": {"Bearer " + token}})
	log.Info("key", "X-Plivo-Signature-V2", sig)
	out := buf.String()
	for _, c := range []string{code, secret, token, proof, sig, nonce} {
		if strings.Contains(out, c) {
			t.Errorf("canary %q logged:\n%s", c, out)
		}
	}
	for _, keep := range []string{"context deadline exceeded", "client_id=1", "+1555", "graph.facebook.com"} {
		if !strings.Contains(out, keep) {
			t.Errorf("harmless text %q lost:\n%s", keep, out)
		}
	}
}

// TestRedactTextLeavesLookalikes: "error_code=" and "status_code=" are
// not the code parameter.
func TestRedactTextLeavesLookalikes(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"error_code=190", "status_code=401 x", "country_code=US"} {
		if got := logging.RedactText(s); got != s {
			t.Errorf("RedactText(%q) = %q", s, got)
		}
	}
}
