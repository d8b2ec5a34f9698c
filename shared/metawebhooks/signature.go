package metawebhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// HeaderSignature is the header Meta signs webhook bodies in:
// "sha256=" and the hex HMAC-SHA256 of the raw body keyed by the app
// secret.
const HeaderSignature = "X-Hub-Signature-256"

// Sign returns the X-Hub-Signature-256 value of body for appSecret.
func Sign(appSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header holds the signature of the raw body for
// appSecret, compared in constant time. An empty secret verifies nothing.
// API Gateway's payload format 2.0 joins a repeated header's values with
// commas, so a delivery whose X-Hub-Signature-256 came twice (a proxy
// replaying the header) arrives as "sha256=…,sha256=…": each candidate is
// checked, and one that matches verifies the body.
func Verify(appSecret string, body []byte, header string) bool {
	if appSecret == "" {
		return false
	}
	want := []byte(Sign(appSecret, body)[len("sha256="):])
	ok := false
	for c := range strings.SplitSeq(header, ",") {
		got, found := strings.CutPrefix(strings.TrimSpace(c), "sha256=")
		if found && subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), want) == 1 {
			ok = true
		}
	}
	return ok
}
