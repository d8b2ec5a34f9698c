// Package faults proves the "never lose a verified signup" guarantees
// with the real clients, the real DynamoDB store on DynamoDB Local (behind a
// fault-injecting proxy), and the Meta, Plivo and Secrets Manager
// simulators over HTTP.
package faults

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/infra/sim/faultproxy"
	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/infra/sim/secretsmanagersim"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/app/signupapp"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/metrics"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

func TestMain(m *testing.M) { testenv.MustDynamoDB(m) }

const (
	appID      = "700000000000001"
	appSecret  = "CANARY-APP-SECRET-51c0"
	authID     = "MAXXXXXXXXXXXXXXXXXX"
	authToken  = "CANARY-PLIVO-TOKEN-9e77"
	metaSecret = "meta-app"
	plivoSec   = "plivo-credentials"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writers a service
// has.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	meta    *metasim.Server
	plivo   *plivosim.Server
	sm      *secretsmanagersim.Server
	proxy   *faultproxy.Proxy
	svc     *onboarding.Service
	store   *dynamo.Store
	out     *syncBuffer
	now     func() time.Time
	advance func(time.Duration)
}

type options struct {
	plivoTimeout time.Duration
	policy       onboarding.RetryPolicy
}

func newHarness(t *testing.T, opt options) *harness {
	t.Helper()
	h := &harness{out: &syncBuffer{}}
	var mu sync.Mutex
	offset := time.Duration(0)
	h.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) }
	h.advance = func(d time.Duration) { mu.Lock(); offset += d; mu.Unlock() }

	h.meta = metasim.New(metasim.Config{AppID: appID, AppSecret: appSecret})
	metaSrv := httptest.NewServer(h.meta.Handler())
	t.Cleanup(metaSrv.Close)
	h.plivo = plivosim.New(plivosim.Config{AuthID: authID, AuthToken: authToken})
	plivoSrv := httptest.NewServer(h.plivo.Handler())
	t.Cleanup(plivoSrv.Close)
	h.sm = secretsmanagersim.New()
	h.sm.Put(metaSecret, `{"app_id":"`+appID+`","app_secret":"`+appSecret+`"}`)
	h.sm.Put(plivoSec, `{"auth_id":"`+authID+`","auth_token":"`+authToken+`"}`)
	smSrv := httptest.NewServer(h.sm)
	t.Cleanup(smSrv.Close)

	db := testenv.SharedDynamoDB()
	h.proxy = faultproxy.New(db.Endpoint)
	t.Cleanup(h.proxy.Close)
	client := testenv.DynamoClient(context.Background(), h.proxy.URL())
	table := testenv.MustCreateTable(t, testenv.DynamoClient(context.Background(), db.Endpoint), "SignupTable")

	sm := secretsmanager.New(secretsmanager.Options{
		Region:       testenv.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(testenv.DummyAccessKeyID, testenv.DummySecretAccessKey, ""),
		BaseEndpoint: aws.String(smSrv.URL),
	})
	timeout := opt.plivoTimeout
	if timeout == 0 {
		timeout = 3 * time.Second
	}
	policy := opt.policy
	if policy.BaseDelay == 0 {
		policy = onboarding.RetryPolicy{BaseDelay: time.Minute, MaxDelay: 30 * time.Minute, MaxAttempts: 6, MaxAge: 24 * time.Hour, InRequestDelay: time.Millisecond}
	}
	cfg := config.Signup{
		Common:    config.Common{LogLevel: "DEBUG", MetricsNamespace: "Test"},
		Upstreams: config.Upstreams{MetaSecretID: metaSecret, PlivoSecretID: plivoSec, GraphURL: metaSrv.URL, GraphVersion: "v25.0", PlivoURL: plivoSrv.URL, SecretsTTL: 5 * time.Minute},
		TableName: table,
		Policy:    policy,
	}
	svc, _ := signupapp.NewService(cfg, clients.Deps{
		Logger:         logging.New(h.out, "DEBUG"),
		Metrics:        &metrics.EMF{W: h.out, Namespace: "Test", Function: "signup"},
		HTTP:           &http.Client{Timeout: timeout},
		DynamoDB:       client,
		SecretsManager: sm,
	})
	svc.Now = h.now
	h.svc = svc
	h.store = &dynamo.Store{Client: testenv.DynamoClient(context.Background(), db.Endpoint), Table: table}
	t.Cleanup(func() {
		for _, canary := range []string{appSecret, authToken} {
			if strings.Contains(h.out.String(), canary) {
				t.Errorf("secret %q appeared in the output", canary)
			}
		}
	})
	return h
}

var grantSeq struct {
	mu sync.Mutex
	n  int
}

// grant issues a code for a fresh WABA with one number.
func (h *harness) grant(t *testing.T) (metasim.Grant, string) {
	t.Helper()
	grantSeq.mu.Lock()
	grantSeq.n++
	n := grantSeq.n
	grantSeq.mu.Unlock()
	g := metasim.Grant{
		WABAID:       "10987654321" + pad(n),
		BusinessID:   "19876543210" + pad(n),
		PhoneNumbers: []metasim.PhoneNumber{{ID: "11223344556" + pad(n), DisplayPhoneNumber: "+1 555-01" + pad(n)[2:]}},
	}
	return g, h.meta.IssueCode(g)
}

func pad(n int) string {
	s := "0000" + itoa(n)
	return s[len(s)-4:]
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func request(g metasim.Grant, code string) onboarding.SignupRequest {
	return onboarding.SignupRequest{Code: code, RequestID: "req-" + g.WABAID, Identity: onboarding.Identity{
		WABAID: g.WABAID, PhoneNumberID: g.PhoneNumbers[0].ID, BusinessID: g.BusinessID, ClientRef: "customer-" + g.WABAID[11:]}}
}

func (h *harness) record(t *testing.T, waba string) onboarding.Record {
	t.Helper()
	rec, err := h.store.Get(context.Background(), waba)
	if err != nil {
		t.Fatalf("get %s: %v", waba, err)
	}
	return *rec
}

// resumeUntilSettled runs the resume function as the schedule would, moving
// the clock past each record's retry time, until nothing is due.
func (h *harness) resumeUntilSettled(t *testing.T, runs int) onboarding.ResumeReport {
	t.Helper()
	var total onboarding.ResumeReport
	for i := range runs {
		h.advance(31 * time.Minute)
		rep, err := h.svc.Resume(context.Background(), 25, "run-"+itoa(i))
		if err != nil {
			t.Fatalf("resume: %v", err)
		}
		total.Claimed += rep.Claimed
		total.Onboarded += rep.Onboarded
		total.Failed += rep.Failed
		if rep.Due == 0 {
			break
		}
	}
	return total
}
