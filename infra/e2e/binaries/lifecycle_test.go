package binaries

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/streampoll"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/lifecycle"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// webhookEvent is an API Gateway HTTP API (payload 2.0) event of Meta
// delivering w to POST /webhooks/meta.
func webhookEvent(t *testing.T, w metasim.Webhook, rid string) []byte {
	t.Helper()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /webhooks/meta", RawPath: "/webhooks/meta", Body: string(w.Body),
		Headers: map[string]string{"content-type": "application/json", "x-hub-signature-256": w.Signature, "user-agent": "facebookexternalua"},
	}
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = http.MethodPost, "/webhooks/meta"
	ev.RequestContext.RequestID, ev.RequestContext.RouteKey = rid, ev.RouteKey
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// busLifecycle is the lifecycle events of waba on the bus, as a consumer
// that dedupes on dedupe_key sees them, in order, and the number of
// deliveries it dropped as duplicates.
func busLifecycle(s *Stack, waba string) (names []string, dups int) {
	seen := map[string]bool{}
	for _, e := range s.Events.Events() {
		if e.Source != lifecycle.Source {
			continue
		}
		var d lifecycle.Detail
		if json.Unmarshal(e.Detail, &d) != nil || d.WABAID != waba {
			continue
		}
		if seen[d.DedupeKey] {
			dups++
			continue
		}
		seen[d.DedupeKey] = true
		names = append(names, strings.TrimPrefix(e.DetailType, lifecycle.DetailTypePrefix))
	}
	return names, dups
}

func waitLifecycle(t *testing.T, s *Stack, waba string, want []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, _ := busLifecycle(s, waba)
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		if time.Now().After(deadline) || len(got) > len(want) {
			t.Fatalf("lifecycle events of %s: %v, want %v", waba, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startStreamPoller runs the real lifecycle binary behind a poller of the
// signup table's stream on DynamoDB Local, as Lambda's event source
// mapping would.
func startStreamPoller(ctx context.Context, t *testing.T, s *Stack) *streampoll.Poller {
	t.Helper()
	fn, err := s.StartFunction(ctx, "LifecycleFunction")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fn.Stop)
	desc, err := s.Dynamo.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Table)})
	if err != nil || desc.Table.LatestStreamArn == nil {
		t.Fatalf("signup table has no stream: %v", err)
	}
	p := &streampoll.Poller{
		Streams: dynamodbstreams.New(dynamodbstreams.Options{
			Region: testenv.Region, BaseEndpoint: aws.String(s.DynamoDB.Endpoint),
			Credentials: credentials.NewStaticCredentialsProvider(testenv.DummyAccessKeyID, testenv.DummySecretAccessKey, ""),
		}),
		StreamARN: *desc.Table.LatestStreamArn,
		Invoke:    fn.Invoke,
		BatchSize: 25,
		Interval:  50 * time.Millisecond,
		OnFailure: func(recs []json.RawMessage) { t.Errorf("%d stream records given up on", len(recs)) },
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := p.Run(pctx); err != nil {
			t.Errorf("stream poller: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

func invokeStatus(ctx context.Context, t *testing.T, f *Function, payload []byte) int {
	t.Helper()
	out, err := f.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct{ StatusCode int }
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("answer %s: %v", out, err)
	}
	return resp.StatusCode
}

// signupAndHooks starts the built signup and Meta webhook functions on s,
// and returns them with a signup-ok.json event whose WABA no other test
// uses (freshIdentity's n), and that WABA's ID.
func signupAndHooks(ctx context.Context, t *testing.T, s *Stack, n int) (signup, hooks *Function, ev []byte, waba string) {
	t.Helper()
	start := func(logicalID string) *Function {
		f, err := s.StartFunction(ctx, logicalID)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Stop)
		return f
	}
	signup, hooks = start("SignupFunction"), start("MetawebhooksFunction")
	raw, err := os.ReadFile(filepath.Join(s.Root, "events", "signup-ok.json"))
	if err != nil {
		t.Fatal(err)
	}
	ev = freshIdentity(t, raw, n)
	var outer struct{ Body string }
	var body struct {
		WABAID string `json:"waba_id"`
	}
	if err := json.Unmarshal(ev, &outer); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(outer.Body), &body); err != nil {
		t.Fatal(err)
	}
	return signup, hooks, ev, body.WABAID
}

// TestLifecycleThroughStream drives one WABA through its life with the
// real binaries: a signup onboards it, Meta's signed account_update
// webhooks disconnect it, a new signup reconnects it (Plivo's "already
// registered" is ours), Meta restricts it. Every change reaches the bus
// from DynamoDB Local's stream exactly once for a consumer deduping on
// dedupe_key; a forged webhook and a replayed one change nothing.
func TestLifecycleThroughStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := privateStack(ctx, t)
	startStreamPoller(ctx, t, s)
	signup, hooks, ev, waba := signupAndHooks(ctx, t, s, 8100)

	doSignup := func(want int) {
		t.Helper()
		payload, err := s.PrepareEvent(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		if st := invokeStatus(ctx, t, signup, payload); st != want {
			t.Fatalf("signup answered %d, want %d; log %s", st, want, signup.LogPath)
		}
	}
	doSignup(http.StatusOK)
	waitLifecycle(t, s, waba, []string{"verified", "onboarded"})

	// Meta raises the portfolio's limit, in the shape of its current
	// reference (throughput page): the record's health says so.
	onboarded := readRecord(ctx, t, s, waba)
	quality := s.Meta.WebhookChange(waba, "phone_number_quality_update", map[string]any{
		"display_phone_number": onboarding.PhoneDigits(onboarded.DisplayPhoneNumber), "event": "THROUGHPUT_UPGRADE", "max_daily_conversations_per_business": "TIER_UNLIMITED"}, time.Now())
	if st := invokeStatus(ctx, t, hooks, webhookEvent(t, quality, "quality-1")); st != http.StatusOK {
		t.Fatalf("quality webhook answered %d; log %s", st, hooks.LogPath)
	}
	if rec := readRecord(ctx, t, s, waba); rec.QualityEvent != "THROUGHPUT_UPGRADE" || rec.MessagingLimit != "TIER_UNLIMITED" {
		t.Fatalf("health after the quality webhook: %q %q", rec.QualityEvent, rec.MessagingLimit)
	}

	// A key this version does not know, as large as a DynamoDB item may
	// not be: the change is still applied, and the redelivery answered.
	uninstalled := s.Meta.AccountUpdate(waba, "PARTNER_APP_UNINSTALLED", map[string]any{"note": strings.Repeat("x", 1<<20)}, time.Now())
	t.Run("forged signature changes nothing", func(t *testing.T) {
		forged := uninstalled
		forged.Signature = metasim.SignWebhook("not-the-app-secret", forged.Body)
		if st := invokeStatus(ctx, t, hooks, webhookEvent(t, forged, "forged")); st != http.StatusUnauthorized {
			t.Errorf("forged webhook answered %d, want 401", st)
		}
		if rec := readRecord(ctx, t, s, waba); rec.State != "onboarded" {
			t.Errorf("record %s after a forged webhook", rec.State)
		}
	})
	if st := invokeStatus(ctx, t, hooks, webhookEvent(t, uninstalled, "uninstall-1")); st != http.StatusOK {
		t.Fatalf("webhook answered %d; log %s", st, hooks.LogPath)
	}
	if st := invokeStatus(ctx, t, hooks, webhookEvent(t, uninstalled, "uninstall-replay")); st != http.StatusOK {
		t.Fatalf("replayed webhook answered %d", st)
	}
	waitLifecycle(t, s, waba, []string{"verified", "onboarded", "health_changed", "disconnected"})

	// The customer runs Embedded Signup again: a new code, then Plivo,
	// which has the WABA already (ours).
	calls := s.Plivo.SignupCalls()
	doSignup(http.StatusOK)
	if s.Plivo.SignupCalls() != calls+1 {
		t.Errorf("the reconnect made %d Plivo calls, want 1", s.Plivo.SignupCalls()-calls)
	}
	if rec := readRecord(ctx, t, s, waba); rec.State != "onboarded" || !rec.Reconciled {
		t.Errorf("record %s (reconciled %t) after the reconnect, want onboarded and reconciled", rec.State, rec.Reconciled)
	} else if rec.QualityEvent != "THROUGHPUT_UPGRADE" || rec.MessagingLimit != "TIER_UNLIMITED" {
		t.Errorf("the reconnect lost the number's health: %q %q", rec.QualityEvent, rec.MessagingLimit)
	}
	waitLifecycle(t, s, waba, []string{"verified", "onboarded", "health_changed", "disconnected", "verified", "reconnected"})

	// Meta shares the onboarded WABA again, sent half an hour after the
	// onboarding (within the skew the function allows, standing for a share
	// days later): a removal we never received came before it, and the
	// operator is told our app must subscribe again. The record is unchanged.
	shared := s.Meta.AccountUpdate(waba, "PARTNER_ADDED", nil, time.Now().Add(30*time.Minute))
	if st := invokeStatus(ctx, t, hooks, webhookEvent(t, shared, "share-1")); st != http.StatusOK {
		t.Fatalf("share webhook answered %d; log %s", st, hooks.LogPath)
	}
	if log, err := os.ReadFile(hooks.LogPath); err != nil || !strings.Contains(string(log), "Meta shared it again after its onboarding") {
		t.Errorf("the share after the onboarding was not reported (err %v); log %s", err, hooks.LogPath)
	}
	if rec := readRecord(ctx, t, s, waba); rec.State != "onboarded" {
		t.Errorf("record %s after the share, want onboarded", rec.State)
	}

	restricted := s.Meta.AccountUpdate(waba, "ACCOUNT_RESTRICTION", map[string]any{"restriction_info": []any{
		map[string]any{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": "2030-01-01T00:00:00.000Z"}}}, time.Now())
	if st := invokeStatus(ctx, t, hooks, webhookEvent(t, restricted, "restrict-1")); st != http.StatusOK {
		t.Fatalf("webhook answered %d", st)
	}
	waitLifecycle(t, s, waba, []string{"verified", "onboarded", "health_changed", "disconnected", "verified", "reconnected", "restricted"})
	var last lifecycle.Detail
	for _, e := range s.Events.Events() {
		if e.DetailType == lifecycle.DetailTypePrefix+"restricted" {
			_ = json.Unmarshal(e.Detail, &last)
		}
	}
	if last.ClientRef != "customer-1" || last.PreviousState != "onboarded" || last.RestrictedUntil == "" ||
		last.Reason != "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING" {
		t.Errorf("restricted event detail %+v", last)
	}
	t.Run("calls are granted", func(t *testing.T) { checkGranted(t, s, "MetawebhooksFunction", "LifecycleFunction") })
}

// holdingProxy forwards DynamoDB calls to DynamoDB Local and, for the
// first UpdateItem, holds the answer after DynamoDB committed it until the
// caller is gone: the function then dies between its table write and the
// end of its invocation.
type holdingProxy struct {
	target  *url.URL
	held    chan struct{}
	once    sync.Once
	release chan struct{}
}

func (h *holdingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".UpdateItem") || !bytes.Contains(b, []byte(`"waba_id"`)) {
		httputil.NewSingleHostReverseProxy(h.target).ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	httputil.NewSingleHostReverseProxy(h.target).ServeHTTP(rec, r)
	h.once.Do(func() { close(h.held) })
	select {
	case <-r.Context().Done():
	case <-h.release:
	}
}

// TestLifecycleSurvivesKillAfterWrite SIGKILLs the webhook function after
// DynamoDB committed its disconnect and before the invocation ended: the
// stream still publishes the change once, and Meta's redelivery (the
// invocation failed) changes nothing again.
func TestLifecycleSurvivesKillAfterWrite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := privateStack(ctx, t)
	if err := s.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	startStreamPoller(ctx, t, s)
	waitLifecycle(t, s, OnboardedWABA, []string{"onboarded"})

	target, _ := url.Parse(s.DynamoDB.Endpoint)
	proxy := &holdingProxy{target: target, held: make(chan struct{}), release: make(chan struct{})}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(proxy.release) })
	hooks, err := s.StartFunction(ctx, "MetawebhooksFunction", "AWS_ENDPOINT_URL_DYNAMODB="+srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hooks.Stop)
	w := s.Meta.AccountUpdate(OnboardedWABA, "PARTNER_REMOVED", map[string]any{
		"waba_info": map[string]any{"waba_id": OnboardedWABA, "owner_business_id": BusinessID}}, time.Now())
	done := make(chan error, 1)
	go func() { _, err := hooks.Invoke(ctx, webhookEvent(t, w, "killed")); done <- err }()
	select {
	case <-proxy.held:
	case <-time.After(20 * time.Second):
		t.Fatalf("the function never wrote the record; log %s", hooks.LogPath)
	}
	pid, err := functionPID(hooks)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	if rec := readRecord(ctx, t, s, OnboardedWABA); rec.State != "disconnected" {
		t.Fatalf("record %s: the committed write is gone", rec.State)
	}
	waitLifecycle(t, s, OnboardedWABA, []string{"onboarded", "disconnected"})

	// Meta redelivers what failed; once the dead invocation's claim has
	// expired the delivery is applied again, and changes nothing.
	fresh, err := s.StartFunction(ctx, "MetawebhooksFunction")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fresh.Stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := invokeStatus(ctx, t, fresh, webhookEvent(t, w, "redelivery"))
		if st == http.StatusOK {
			break
		}
		if st != http.StatusConflict || time.Now().After(deadline) {
			t.Fatalf("redelivery answered %d", st)
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let the poller catch up with anything new
	names, _ := busLifecycle(s, OnboardedWABA)
	if strings.Join(names, ",") != "onboarded,disconnected" {
		t.Errorf("lifecycle events %v after the redelivery, want onboarded, disconnected", names)
	}
}
