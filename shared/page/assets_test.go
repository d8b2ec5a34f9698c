package page

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestEveryAssetHasAContentType keeps contentTypes in step with assets/: a
// new kind of file would otherwise be served as application/octet-stream.
func TestEveryAssetHasAContentType(t *testing.T) {
	t.Parallel()
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".tmpl") {
			return err
		}
		if _, ok := contentTypes[path.Ext(p)]; !ok {
			t.Errorf("%s: no content type for %q in contentTypes", p, path.Ext(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSignupAnswersHaveCopy: every code the signup route answers a
// customer's attempt with has its own copy in the page's FAILURES. A code
// without one falls back to "Something went wrong on our side... Start
// again in a minute", which is wrong where starting again cannot help.
// signup_in_progress is followed when a WABA is named, and has its own
// copy when none is.
func TestSignupAnswersHaveCopy(t *testing.T) {
	t.Parallel()
	js, err := fs.ReadFile(assets, "assets/static/onboarding.js")
	if err != nil {
		t.Fatal(err)
	}
	_, failures, found := strings.Cut(string(js), "var FAILURES = {")
	failures, _, closed := strings.Cut(failures, "\n  };")
	if !found || !closed {
		t.Fatal("no FAILURES table in onboarding.js")
	}
	codes := []onboarding.Code{
		onboarding.CodeInvalidRequest, onboarding.CodeConflict, onboarding.CodeAlreadyRegistered, onboarding.CodePhoneNumberTaken,
		onboarding.CodeMetaRejected, onboarding.CodeUpstreamFailed, onboarding.CodeUpstreamUnavailable, onboarding.CodeInternal,
		onboarding.CodeTooManyRequests, onboarding.CodePhoneUnverified, onboarding.CodeNumberMissing, onboarding.CodeProviderConfig,
		onboarding.CodeMetaUnavailable, onboarding.CodeNotRecorded, onboarding.CodeSecondNumber, onboarding.CodeBusinessMismatch,
		onboarding.CodeSessionMissing, onboarding.CodeSessionInvalid, onboarding.CodeSessionExpired, onboarding.CodeSessionUsed,
		onboarding.CodeClientRefMismatch, onboarding.CodeAccessRemoved, onboarding.CodeInProgress,
	}
	for _, c := range codes {
		if !strings.Contains(failures, "\n    "+string(c)+": {") {
			t.Errorf("FAILURES has no copy for %s", c)
		}
	}
}
