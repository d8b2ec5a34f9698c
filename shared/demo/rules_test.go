package demo

import (
	"regexp"
	"testing"
)

// FuzzRules holds the hand-written checks to the regular expressions they
// replaced.
func FuzzRules(f *testing.F) {
	for _, s := range []string{"order_update", "en", "en_US", "fil", "zh_CN", "es_419", "+14155550100", "+0123456789", "+1234567", "E_", "en_", "_US", "+", ""} {
		f.Add(s)
	}
	templateName := regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	language := regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z0-9]{2,4})?$`)
	e164 := regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	f.Fuzz(func(t *testing.T, s string) {
		if isTemplateName(s) != templateName.MatchString(s) {
			t.Fatalf("%q: template name rule disagrees", s)
		}
		if isLanguage(s) != language.MatchString(s) {
			t.Fatalf("%q: language rule disagrees", s)
		}
		if isE164(s) != e164.MatchString(s) {
			t.Fatalf("%q: E.164 rule disagrees", s)
		}
	})
}
