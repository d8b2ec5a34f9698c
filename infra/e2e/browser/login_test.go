package browser

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/techprovider/wa-onboarding/shared/config"
)

// TestSandboxLoginRefusals: the sandbox SDK runs Meta's flow only for the
// FB.login options of the app's login configuration, and says why it
// refuses others in the terms of Meta's Versions page: sessionInfoVersion
// belongs to v2 (v4 sends the session info for every flow), while
// featureType is still a v4 setting (whatsapp_business_app_onboarding), so
// a featureType the configuration does not use is a mismatch, not the v2
// form.
func TestSandboxLoginRefusals(t *testing.T) {
	solution := `{solutionID: '` + config.SandboxSolutionID + `'}`
	for _, tc := range []struct {
		name, extras string
		want, never  string
	}{
		{name: "v2 form", extras: `{setup: ` + solution + `, featureType: '', sessionInfoVersion: '3'}`,
			want: "sessionInfoVersion"},
		{name: "v4 feature type not configured", extras: `{setup: ` + solution + `, featureType: 'whatsapp_business_app_onboarding'}`,
			want: "do not match", never: "v2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := open(t)
			// The SDK reports a refusal on the console as well; the test
			// keeps it off the console, whose errors fail every test.
			evalJS(tb, `window.__refusals = []; window.console.error = function (m) { window.__refusals.push(String(m)); }; true`)
			evalJS(tb, `FB.login(function () {}, {config_id: document.body.dataset.configId, response_type: 'code',
				override_default_response_type: true, extras: `+tc.extras+`}); true`)
			tb.do(chromedp.WaitVisible("#sbx-refusal"))
			reason := tb.text("#sbx-refusal")
			if !strings.Contains(reason, tc.want) || (tc.never != "" && strings.Contains(reason, tc.never)) {
				t.Errorf("refusal %q, want it to name %q and never %q", reason, tc.want, tc.never)
			}
			tb.poll(`window.__refusals.length === 1`, "the refusal was not reported on the console")
			if logged, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](`window.__refusals`)); len(logged) != 1 || !strings.HasSuffix(logged[0], reason) {
				t.Errorf("console reported %q, want the refusal %q", logged, reason)
			}
			tb.do(chromedp.Click("#sbx-cancel"), chromedp.WaitNotPresent("#sbx-overlay"))
		})
	}
}
