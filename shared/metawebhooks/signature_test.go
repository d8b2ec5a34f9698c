package metawebhooks_test

import (
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	good := metawebhooks.Sign(appSecret, body)
	tests := []struct {
		name, secret, header string
		ok                   bool
	}{
		{"signed", appSecret, good, true},
		// Meta's hex is lower case; a proxy may change the case or pad it.
		{"upper-case hex", appSecret, "sha256=" + strings.ToUpper(good[len("sha256="):]), true},
		{"surrounding spaces", appSecret, "  " + good + " ", true},
		{"no scheme", appSecret, good[len("sha256="):], false},
		{"other secret", appSecret, metawebhooks.Sign("other", body), false},
		// An unset secret verifies nothing, not even what anyone can sign
		// with the empty key.
		{"unset secret, empty-key signature", "", metawebhooks.Sign("", body), false},
		{"unset secret, real signature", "", good, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := metawebhooks.Verify(tt.secret, body, tt.header); got != tt.ok {
				t.Errorf("Verify = %v, want %v", got, tt.ok)
			}
		})
	}
}
