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

// Verify reports whether header is the signature of the raw body for
// appSecret, compared in constant time. An empty secret verifies nothing.
func Verify(appSecret string, body []byte, header string) bool {
	if appSecret == "" {
		return false
	}
	got, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	want := Sign(appSecret, body)[len("sha256="):]
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}
