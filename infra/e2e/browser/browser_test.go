// Package browser drives the onboarding page in headless Chromium
// against the local stack, in sandbox mode: the same page, functions and
// DynamoDB table a customer would meet, with Meta and Plivo simulated.
//
// Chromium is Debian's /usr/bin/chromium; TestMain installs it with
// infra/scripts/deps.sh when it is missing, and fails (never skips) when
// that does not work. Screenshots land in .artifacts/screenshots/.
package browser

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/chromedp/chromedp"

	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/infra/testenv"
)

// chromiumPath is Debian's Chromium.
const chromiumPath = "/usr/bin/chromium"

// waitFor bounds each wait for the page to reach a state. Pending signups
// finish within the local retry delay (seconds) plus one resume tick.
const waitFor = 45 * time.Second

var (
	sandbox *stack.Stack
	browser context.Context
	shots   string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if err := ensureChromium(); err != nil {
		fmt.Fprintln(os.Stderr, "browsertest:", err)
		return 1
	}
	ctx := context.Background()
	var err error
	// Getenv returns nothing: the test runs the sandbox whatever the
	// developer's shell points at.
	sandbox, err = stack.Start(ctx, stack.Options{
		Getenv:      func(string) string { return "" },
		ResumeEvery: time.Second,
		Log:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser: local stack:", err)
		return 1
	}
	defer sandbox.Close()

	shots = filepath.Join(testenv.RepoRoot(), ".artifacts", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "browsertest:", err)
		return 1
	}
	profile, err := os.MkdirTemp("", "browser-profile-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "browsertest:", err)
		return 1
	}
	defer removeAll(profile)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // the tests may run as root in a container
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	var cancelBrowser context.CancelFunc
	browser, cancelBrowser = chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		fmt.Fprintln(os.Stderr, "browser: start Chromium:", err)
		return 1
	}
	return m.Run()
}

// ensureChromium installs Debian's Chromium when it is missing.
func ensureChromium() error {
	if _, err := os.Stat(chromiumPath); err == nil {
		return nil
	}
	cmd := exec.Command(filepath.Join(testenv.RepoRoot(), "infra", "scripts", "deps.sh"), "chromium")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("installing Chromium with infra/scripts/deps.sh chromium: %w", err)
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		return fmt.Errorf("deps.sh ran but %s is still missing", chromiumPath)
	}
	return nil
}

func removeAll(dir string) {
	// Chromium's children may still write for a moment after it exits.
	for range 50 {
		if os.RemoveAll(dir) == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tab is one browser tab on the onboarding page.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	// apiErrors accepts the console line Chromium writes for each 4xx/5xx
	// answer of the signup API, in tests that expect one.
	apiErrors bool
}

// open resets the simulators, opens a new tab on the page and waits until
// the Connect button is ready. At the end of the test it fails on any
// console error, CSP violations included.
func open(t *testing.T) *tab {
	t.Helper()
	return openURL(t, sandbox.URL+"/")
}

// openURL is open on another address of the page, e.g. an onboarding link.
func openURL(t *testing.T, pageURL string) *tab {
	t.Helper()
	return openURLIn(t, pageURL, "idle")
}

// openURLIn is openURL, waiting for the page to settle in state instead
// (a dead link settles in "failed").
func openURLIn(t *testing.T, pageURL, state string) *tab {
	t.Helper()
	sandbox.Meta.Reset()
	sandbox.Plivo.Reset()
	ctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	ctx, cancelTab := chromedp.NewContext(ctx)
	tb := &tab{t: t, ctx: ctx}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m)
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		tb.mu.Lock()
		for _, m := range tb.console {
			if tb.apiErrors && m.Source == "network" && (strings.Contains(m.URL, "/api/whatsapp/embedded-signup") || strings.Contains(m.URL, "/api/onboarding-sessions/check")) {
				continue
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				t.Errorf("browser console: %s (%s:%d)", m, m.URL, m.Line)
			}
		}
		tb.mu.Unlock()
		cancelTab()
		cancel()
		<-done
	})
	tb.do(chromedp.Navigate(pageURL))
	tb.waitState(state)
	return tb
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v (page shows: %s)", err, tb.statusText())
	}
}

func (tb *tab) value(sel string) string {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Value(sel))
	if err != nil {
		tb.t.Fatalf("read %s: %v", sel, err)
	}
	return v
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Text(sel))
	if err != nil {
		tb.t.Fatalf("read %s: %v", sel, err)
	}
	return v
}

// statusText is what the status panel says, for failure messages.
func (tb *tab) statusText() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`(function(){var s=document.getElementById('status');return s?s.getAttribute('data-state')+': '+s.innerText.replace(/\s+/g,' '):'no status panel'})()`))
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return s
}

// waitState waits until the status panel is in state.
func (tb *tab) waitState(state string) {
	tb.t.Helper()
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](
		`document.getElementById('status') && document.getElementById('status').getAttribute('data-state') === `+strconv.Quote(state),
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(waitFor)))
	if err != nil {
		tb.t.Fatalf("waiting for %q: %v; page shows %s", state, err, tb.statusText())
	}
}

// connect clicks Connect WhatsApp and waits for the simulated Meta window.
func (tb *tab) connect() {
	tb.t.Helper()
	tb.do(chromedp.Click("#connect"), chromedp.WaitVisible("#sbx-dialog"))
}

// screenshot saves the whole page as .artifacts/screenshots/<name>.png.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// record reads the signup record of wabaID from the stack's table.
func record(t *testing.T, wabaID string) map[string]types.AttributeValue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := sandbox.DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(sandbox.TableName),
		Key:            map[string]types.AttributeValue{"waba_id": &types.AttributeValueMemberS{Value: wabaID}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem %s: %v", wabaID, err)
	}
	return out.Item
}

func attr(item map[string]types.AttributeValue, name string) string {
	switch v := item[name].(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	}
	return ""
}

func TestOnboarding(t *testing.T) {
	tests := []struct {
		order, shot string
	}{
		{"ids-first", "onboarded"},
		{"code-first", "onboarded-code-first"},
		{"code-only", "onboarded-code-only"},
	}
	for _, tt := range tests {
		t.Run(tt.order, func(t *testing.T) {
			tb := open(t)
			if tt.order == "ids-first" {
				tb.screenshot("start")
			}
			tb.connect()
			if tt.order == "ids-first" {
				tb.screenshot("sandbox-dialog")
			}
			waba, phone, business := tb.value("#sbx-waba-id"), tb.value("#sbx-phone-number-id"), tb.value("#sbx-business-id")
			display := tb.value("#sbx-display-phone")
			tb.do(chromedp.SetValue("#sbx-order", tt.order), chromedp.Click("#sbx-continue"))
			tb.waitState("onboarded")

			if got := tb.text("#phone-number-id"); got != phone {
				t.Errorf("page shows phone number ID %q, want %q", got, phone)
			}
			if got := tb.text("#waba-id"); got != waba {
				t.Errorf("page shows WABA %q, want %q", got, waba)
			}
			if got := tb.text("#status-chip"); !strings.EqualFold(got, "onboarded") {
				t.Errorf("status chip %q", got)
			}
			if text := tb.text("#status-text"); !strings.Contains(text, display) {
				t.Errorf("status text %q does not name the number %q", text, display)
			}
			// The tab says the outcome to a customer on another tab.
			if title, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.title`)); title != "WhatsApp is connected – Connect WhatsApp" {
				t.Errorf("document title %q", title)
			}
			tb.screenshot(tt.shot)

			item := record(t, waba)
			if attr(item, "state") != "onboarded" || attr(item, "phone_number_id") != phone || attr(item, "business_id") != business {
				t.Errorf("DynamoDB record %v, want onboarded with phone %s and business %s", item, phone, business)
			}
			// The sandbox page got its onboarding session from the local
			// stack, which minted it for a sandbox customer.
			if ref := attr(item, "client_ref"); !strings.HasPrefix(ref, "sandbox-customer-") {
				t.Errorf("record client_ref %q, want the sandbox session's", ref)
			}
			if n := sandbox.Plivo.SuccessfulSignups(); n != 1 {
				t.Errorf("Plivo onboarded %d WABAs, want 1", n)
			}
		})
	}
}

// TestPlivoFailsThenResumes: Plivo answers 500 to both attempts the signup
// request makes, so the page shows pending; the resume function retries and
// the page, polling, shows onboarded.
func TestPlivoFailsThenResumes(t *testing.T) {
	tb := open(t)
	tb.connect()
	waba, phone := tb.value("#sbx-waba-id"), tb.value("#sbx-phone-number-id")
	tb.do(chromedp.SetValue("#sbx-plivo", "500"), chromedp.Click("#sbx-continue"))
	tb.waitState("pending")
	if chip := tb.text("#status-chip"); !strings.EqualFold(chip, "pending") {
		t.Errorf("status chip %q", chip)
	}
	// The record is verified, waiting for Plivo. The resume schedule may
	// already have finished it by the time it is read (on a loaded machine
	// the page's poll and this read are seconds apart): then it is
	// onboarded by a later attempt, never by the two the request made.
	pending := record(t, waba)
	switch state, attempts := attr(pending, "state"), attr(pending, "plivo_attempts"); {
	case attr(pending, "verified_at") == "":
		t.Errorf("record while pending has no verified_at (state %s)", state)
	case state == "verified":
	case state == "onboarded" && attempts != "1" && attempts != "2":
	default:
		t.Errorf("record while pending: state %s after %s Plivo attempts, want verified", state, attempts)
	}
	tb.screenshot("pending")

	tb.waitState("onboarded")
	if got := tb.text("#phone-number-id"); got != phone {
		t.Errorf("page shows phone number ID %q, want %q", got, phone)
	}
	tb.screenshot("onboarded-after-retry")
	item := record(t, waba)
	if attr(item, "state") != "onboarded" {
		t.Fatalf("record %v, want onboarded", item)
	}
	if n, _ := strconv.Atoi(attr(item, "plivo_attempts")); n < 3 {
		t.Errorf("plivo_attempts = %d, want at least 3 (two failures, one success)", n)
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name, meta, plivo string
		title             string
		shot              string
	}{
		{name: "meta code already used", meta: "used", plivo: "ok", title: "Meta did not confirm the signup", shot: "failed-code-used"},
		{name: "meta code expired", meta: "expired", plivo: "ok", title: "Meta did not confirm the signup"},
		{name: "number under another WABA", meta: "ok", plivo: "phone-taken", title: "This phone number is already in use", shot: "failed-phone-taken"},
		{name: "WABA already registered", meta: "ok", plivo: "registered", title: "This WhatsApp Business Account is already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := open(t)
			tb.apiErrors = true
			tb.connect()
			waba := tb.value("#sbx-waba-id")
			tb.do(chromedp.SetValue("#sbx-meta", tt.meta), chromedp.SetValue("#sbx-plivo", tt.plivo), chromedp.Click("#sbx-continue"))
			tb.waitState("failed")
			if title := tb.text("#status-title"); title != tt.title {
				t.Errorf("title %q, want %q", title, tt.title)
			}
			tb.checkCopy()
			if ref := tb.text("#reference"); !strings.HasPrefix(ref, "Reference: ") {
				t.Errorf("no support reference: %q", ref)
			}
			if label := tb.text("#connect-label"); label != "Start again" {
				t.Errorf("button %q, want Start again", label)
			}
			if tt.shot != "" {
				tb.screenshot(tt.shot)
			}
			// A code Meta refused proves no control of the WABA: no
			// record is written for it (docs/sessions.md).
			want := "failed"
			if tt.plivo == "ok" {
				want = ""
			}
			if state := attr(record(t, waba), "state"); state != want {
				t.Errorf("record state %q, want %q", state, want)
			}
		})
	}
}

// TestOnboardingLink follows the production path: the Tech Provider's
// backend mints a link through the sessions route (IAM-signed) and the
// customer opens it. The signup is bound to the link's client_ref.
func TestOnboardingLink(t *testing.T) {
	link, err := sandbox.NewSession(context.Background(), "customer-42", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link.URL, sandbox.URL+"/?session=") {
		t.Fatalf("link %q does not open this stack's page", link.URL)
	}
	tb := openURL(t, link.URL)
	if loc, _ := chromedp.Run(tb.ctx, chromedp.Location()); strings.Contains(loc, "session=") {
		t.Errorf("the token stays in the address bar: %s", loc)
	}
	tb.connect()
	waba := tb.value("#sbx-waba-id")
	tb.do(chromedp.Click("#sbx-continue"))
	tb.waitState("onboarded")
	if ref := attr(record(t, waba), "client_ref"); ref != "customer-42" {
		t.Errorf("record client_ref %q, want the link's customer-42", ref)
	}
}
