package browser

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/testenv"
)

// pageCopy is what the page tells the customer in each scenario: a title,
// then one sentence on what happened and one on what to do. docs/local.md
// has the same table; TestCopyTableInDocs keeps the two equal, and the
// browser tests assert each text on the page.
var pageCopy = map[string][2]string{
	"idle": {"Ready when you are",
		"Nothing is connected yet. Click Connect WhatsApp and follow the steps in the Facebook window."},
	"onboarded": {"WhatsApp is connected",
		"Your number %s is ready to send and receive messages. You can close this page."},
	"pending": {"Activating your number",
		"Meta confirmed your account and your number is being activated. You can close this page; activation continues without it."},
	"no word from the Facebook window": {"Still waiting for the Facebook window",
		"We have not heard back from the Facebook window yet. If it is still open, finish the steps there; if you closed it, click Start again."},
	"pop-up blocked": {"The Facebook window did not open",
		"Your browser may have blocked the pop-up. Allow pop-ups for this page, then click Start again."},
	"cancelled": {"Signup not finished",
		"The Facebook window was closed before the signup finished, so nothing was connected. Click Start again when you are ready."},
	"cancelled at a step": {"Signup not finished",
		"The Facebook window was closed at the %s step, so nothing was connected. Click Start again when you are ready."},
	"Meta error": {"The Facebook window stopped with an error",
		"Meta ended the signup before it finished, so nothing was connected. Click Start again, and if it happens again, contact support with the reference below."},
	"WhatsApp Business app number": {"This number is used with the WhatsApp Business app",
		"Numbers already used with the WhatsApp Business app cannot be connected through this signup, so nothing was connected. Click Start again and pick or add a number that is not used with the WhatsApp Business app, or contact support."},
	"service busy, code fresh": {"Our service is busy right now",
		"Your signup was not processed yet. Click Try again now."},
	"service busy, code stale": {"Our service is busy right now",
		"Your signup was not processed yet. Wait a minute, then click Start again."},
	"too many attempts, code fresh": {"Too many attempts",
		"Your signup was not processed yet. Click Try again in a few seconds."},
	"connection lost, resend": {"We could not reach our server",
		"Your browser lost the connection before our answer arrived. Check your internet connection, then click Try again."},
	"connection lost, start again": {"We could not reach our server",
		"Your browser lost the connection before our answer arrived. Check your internet connection, then click Start again."},
	"number not verified": {"Your phone number is not verified yet",
		"Meta has not confirmed the code sent to your number, so it cannot be connected. Click Start again and enter the code Meta sends to the number."},
	"no number": {"Your account has no phone number yet",
		"Your WhatsApp Business Account was shared without a phone number. Click Start again and add the number you want to use."},
	"another signup running": {"Another signup is running",
		"Another signup for this account is running. Wait a minute, then click Start again."},
	"access removed": {"Access to your account was removed",
		"Access to your WhatsApp Business Account was removed while we were connecting it, so the signup did not finish. Click Start again and share the account with us once more in the Facebook window."},
	"business not confirmed": {"Meta did not confirm your business",
		"The business you picked does not own the WhatsApp Business Account you shared, so nothing was connected. Click Start again and pick the business that owns the account."},
	"already connected with other details": {"This account is already connected",
		"Your WhatsApp Business Account was connected earlier with a different number or business. Contact support with the reference below."},
	"code expired or used": {"Meta did not confirm the signup",
		"The sign-in expired or was used before we could confirm it. Click Start again and complete the Facebook window once more."},
	"WABA already registered": {"This WhatsApp Business Account is already in use",
		"It is connected through another provider, so we cannot add it. Click Start again and pick another WhatsApp Business Account, or contact support."},
	"number under another WABA": {"This phone number is already in use",
		"It belongs to another WhatsApp Business Account. Click Start again and pick or add another number, or contact support to move this one."},
	"no onboarding link": {"Open this page from your onboarding link",
		"This page was opened without the link your provider sent you. Open the link from your provider, or ask them for a new one."},
	"bad onboarding link": {"Your onboarding link cannot be used",
		"The link is not valid. Ask your provider for a new link."},
}

var (
	// enumRE finds Meta-style enums such as PHONE_NUMBER_VERIFICATION.
	enumRE = regexp.MustCompile(`\b[A-Z]{2,}(?:_[A-Z]+)+\b`)
	// instructions are the phrases that must appear at most once.
	instructions = []string{"contact support", "click start again", "click try again", "run the signup again", "ask your provider"}
)

// copyProblem says what is wrong with a text the customer reads, or "".
func copyProblem(text string) string {
	lower := strings.ToLower(text)
	switch {
	case enumRE.MatchString(text):
		return "shows an internal enum " + enumRE.FindString(text)
	case strings.Contains(lower, "plivo"):
		return "names Plivo"
	case strings.Contains(lower, "waba ") || strings.HasSuffix(lower, "waba"):
		return "uses the internal abbreviation WABA"
	}
	for _, in := range instructions {
		if strings.Count(lower, in) > 1 {
			return "repeats the instruction " + in
		}
	}
	seen := map[string]bool{}
	for _, s := range strings.Split(text, ". ") {
		if s = strings.TrimSpace(s); s != "" && seen[s] {
			return "repeats the sentence " + s
		}
		seen[s] = true
	}
	return ""
}

// checkCopy fails the test when the page's current title and text break
// the rules of copyProblem.
func (tb *tab) checkCopy() {
	tb.t.Helper()
	for _, sel := range []string{"#status-title", "#status-text"} {
		if p := copyProblem(tb.text(sel)); p != "" {
			tb.t.Errorf("%s %q %s", sel, tb.text(sel), p)
		}
	}
}

// expectCopy asserts the page shows scenario's title and text; args fill
// the text's %s.
func (tb *tab) expectCopy(scenario string, args ...string) {
	tb.t.Helper()
	want, ok := pageCopy[scenario]
	if !ok {
		tb.t.Fatalf("no copy for scenario %q", scenario)
	}
	text := want[1]
	for _, a := range args {
		text = strings.Replace(text, "%s", a, 1)
	}
	if got := tb.text("#status-title"); got != want[0] {
		tb.t.Errorf("%s: title %q, want %q", scenario, got, want[0])
	}
	if got := tb.text("#status-text"); got != text {
		tb.t.Errorf("%s: text %q, want %q", scenario, got, text)
	}
	tb.checkCopy()
}

func TestCopyRules(t *testing.T) {
	for _, bad := range []string{
		"Signup cancelled at (PHONE_NUMBER_VERIFICATION).",
		"It is registered with Plivo by someone else.",
		"Contact support. Pick another, or contact support.",
		"Please run the signup again. Please run the signup again.",
	} {
		if copyProblem(bad) == "" {
			t.Errorf("copyProblem(%q) found nothing", bad)
		}
	}
	for scenario, c := range pageCopy {
		for _, s := range c {
			if p := copyProblem(s); p != "" {
				t.Errorf("%s: %q %s", scenario, s, p)
			}
		}
	}
}

// TestCopyTableInDocs: docs/local.md maps every scenario to the text the
// page shows.
func TestCopyTableInDocs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "docs", "local.md"))
	if err != nil {
		t.Fatal(err)
	}
	for scenario, c := range pageCopy {
		for _, s := range c {
			if !strings.Contains(string(doc), s) {
				t.Errorf("docs/local.md lacks the %s text %q", scenario, s)
			}
		}
	}
}
