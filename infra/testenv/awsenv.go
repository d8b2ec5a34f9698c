package testenv

import (
	"maps"
	"os"
	"path/filepath"
	"testing"
)

// SetAWSEnv points the AWS SDK's default configuration, for the rest of
// the test, at nothing but what the test names in extra (typically one
// AWS_ENDPOINT_URL_<SERVICE>): dummy credentials, Region, and no profile,
// config file, instance metadata or global endpoint that the developer's
// machine could otherwise lend it. It sets the process environment, so the
// test cannot be parallel.
func SetAWSEnv(t testing.TB, extra map[string]string) {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{
		"AWS_REGION":                          Region,
		"AWS_ACCESS_KEY_ID":                   DummyAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":               DummySecretAccessKey,
		"AWS_SESSION_TOKEN":                   "",
		"AWS_PROFILE":                         "",
		"AWS_CONFIG_FILE":                     filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":         filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":           "true",
		"AWS_ENDPOINT_URL":                    "",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
	}
	maps.Copy(vars, extra)
	for k, v := range vars {
		t.Setenv(k, v)
	}
	// An empty AWS_ENDPOINT_URL is not "unset" to every resolver; t.Setenv
	// above still restores it afterwards.
	if vars["AWS_ENDPOINT_URL"] == "" {
		_ = os.Unsetenv("AWS_ENDPOINT_URL")
	}
}
