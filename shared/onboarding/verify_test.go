package onboarding_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// step is how one fake Graph call behaves: it waits delay (or, with block,
// until its context ends), then fails with err or answers.
type step struct {
	delay time.Duration
	block bool
	err   error
}

func (s step) run(ctx context.Context) error {
	if s.block {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
			return errors.New("never cancelled")
		}
	}
	if s.delay > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.delay):
		}
	}
	return s.err
}

// stepMeta is a Meta whose verification calls follow steps, and which
// records how many run at once and which saw their context cancelled.
type stepMeta struct {
	debug, numbers, owner step
	// invalid makes debug_token report an invalid token; wrongNumber lists
	// a number other than the request's; noOwner names no business.
	invalid, wrongNumber, noOwner bool

	inFlight, maxInFlight, started, returned atomic.Int32
	mu                                       sync.Mutex
	cancelled                                map[string]bool
}

func (m *stepMeta) enter() {
	m.started.Add(1)
	n := m.inFlight.Add(1)
	for {
		max := m.maxInFlight.Load()
		if n <= max || m.maxInFlight.CompareAndSwap(max, n) {
			return
		}
	}
}

func (m *stepMeta) leave(ctx context.Context, op string) {
	m.inFlight.Add(-1)
	m.returned.Add(1)
	if ctx.Err() != nil {
		m.mu.Lock()
		if m.cancelled == nil {
			m.cancelled = map[string]bool{}
		}
		m.cancelled[op] = true
		m.mu.Unlock()
	}
}

func (m *stepMeta) wasCancelled(op string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cancelled[op]
}

func (m *stepMeta) ExchangeCode(_ context.Context, code string) (string, error) {
	return "token-for-" + code, nil
}

func (m *stepMeta) DebugToken(ctx context.Context, _ string) (onboarding.TokenInfo, error) {
	m.enter()
	defer m.leave(ctx, "debug_token")
	if err := m.debug.run(ctx); err != nil {
		return onboarding.TokenInfo{}, err
	}
	return onboarding.TokenInfo{AppID: appID, Valid: !m.invalid, Scopes: map[string][]string{"whatsapp_business_management": {waba}}}, nil
}

func (m *stepMeta) PhoneNumbers(ctx context.Context, _, _ string) ([]onboarding.PhoneNumber, error) {
	m.enter()
	defer m.leave(ctx, "phone_numbers")
	if err := m.numbers.run(ctx); err != nil {
		return nil, err
	}
	if m.wrongNumber {
		return []onboarding.PhoneNumber{{CodeVerificationStatus: "VERIFIED", ID: "5"}}, nil
	}
	return []onboarding.PhoneNumber{{CodeVerificationStatus: "VERIFIED", ID: phone, DisplayPhoneNumber: "+1 555 0100"}}, nil
}

// SubscribeApp succeeds: verification is over by the time it is called.
func (m *stepMeta) SubscribeApp(context.Context, string, string) error { return nil }

func (m *stepMeta) OwnerBusinessID(ctx context.Context, _, _ string) (string, error) {
	m.enter()
	defer m.leave(ctx, "owner_business")
	if err := m.owner.run(ctx); err != nil {
		return "", err
	}
	if m.noOwner {
		return "", nil
	}
	return business, nil
}

// recMetrics records what the service measures.
type recMetrics struct {
	mu     sync.Mutex
	points []string
}

func (r *recMetrics) Count(name string, d onboarding.Dims) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.points = append(r.points, name+" "+d["Operation"]+" "+d["Outcome"])
}

func (r *recMetrics) Latency(name string, _ time.Duration, d onboarding.Dims) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.points = append(r.points, name+" "+d["Operation"])
}

func (r *recMetrics) CountWithLatency(count, latency string, d time.Duration, dims onboarding.Dims) {
	r.Latency(latency, d, dims)
	r.Count(count, dims)
}

func (r *recMetrics) about(op string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range r.points {
		if strings.Contains(p, " "+op) {
			out = append(out, p)
		}
	}
	return out
}

// TestVerifyConcurrency: with the WABA known, verification takes as long
// as its slowest Graph call, not the sum; without it the calls stay in
// sequence, since the WABA comes from debug_token.
func TestVerifyConcurrency(t *testing.T) {
	t.Parallel()
	const d = 200 * time.Millisecond
	tests := []struct {
		name        string
		wabaKnown   bool
		maxInFlight int32
		min, max    time.Duration
	}{
		{name: "WABA known: at once", wabaKnown: true, maxInFlight: 3, min: d, max: 2 * d},
		{name: "WABA from the token: in sequence", maxInFlight: 1, min: 3 * d, max: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			m := &stepMeta{debug: step{delay: d}, numbers: step{delay: d}, owner: step{delay: d}}
			f.svc.Meta = m
			req := request("c")
			req.Identity.BusinessID = "" // owner_business is asked too
			if !tt.wabaKnown {
				req.Identity.WABAID = ""
			}
			start := time.Now()
			res, err := f.svc.Signup(context.Background(), req)
			took := time.Since(start)
			if err != nil || res.Outcome != onboarding.OutcomeOnboarded {
				t.Fatalf("signup: %s %v", res.Outcome, err)
			}
			if took < tt.min || took > tt.max {
				t.Fatalf("signup took %v, want between %v and %v (each call %v)", took, tt.min, tt.max, d)
			}
			if got := m.maxInFlight.Load(); got != tt.maxInFlight {
				t.Fatalf("%d calls in flight at most, want %d", got, tt.maxInFlight)
			}
			rec := f.record(t)
			if rec.BusinessID != business || rec.PhoneNumberID != phone || rec.DisplayPhoneNumber != "+1 555 0100" {
				t.Fatalf("record %+v", rec)
			}
		})
	}
}

// TestVerifyErrorPrecedence: whichever call fails first, debug_token's
// failure is reported before phone_numbers', before owner_business'; when
// debug_token fails the others are cancelled and their answers dropped,
// and every call has returned when Signup does.
func TestVerifyErrorPrecedence(t *testing.T) {
	t.Parallel()
	fast, slow := step{}, step{delay: 30 * time.Millisecond}
	debugDown := step{delay: 30 * time.Millisecond, err: &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: "debug_token", Kind: onboarding.KindTransient, Status: 503}}
	numbersRejected := step{err: &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: "phone_numbers", Kind: onboarding.KindRejected, Status: 400}}
	ownerRejected := step{err: &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: "owner_business", Kind: onboarding.KindRejected, Status: 400}}
	tests := []struct {
		name string
		meta *stepMeta
		// want is the failed call reported (its UpstreamError.Op), or a
		// piece of the reported message.
		want, message string
		code          onboarding.Code
		cancelled     []string
	}{
		{name: "debug_token down, slower than the others' failures", meta: &stepMeta{debug: debugDown, numbers: numbersRejected, owner: ownerRejected},
			want: "debug_token", code: onboarding.CodeMetaUnavailable},
		{name: "invalid token, the others blocked: cancelled", meta: &stepMeta{invalid: true, numbers: step{block: true}, owner: step{block: true}},
			message: "not valid", code: onboarding.CodeMetaRejected, cancelled: []string{"phone_numbers", "owner_business"}},
		{name: "invalid token, the others fail", meta: &stepMeta{debug: slow, invalid: true, numbers: numbersRejected, owner: ownerRejected},
			message: "not valid", code: onboarding.CodeMetaRejected},
		{name: "invalid token, the others succeed: answers dropped", meta: &stepMeta{debug: slow, invalid: true},
			message: "not valid", code: onboarding.CodeMetaRejected},
		{name: "phone_numbers fails, slower than owner_business", meta: &stepMeta{numbers: step{delay: 30 * time.Millisecond, err: numbersRejected.err}, owner: ownerRejected},
			want: "phone_numbers", code: onboarding.CodeMetaRejected},
		{name: "phone_numbers fails, owner_business blocked: cancelled", meta: &stepMeta{debug: slow, numbers: numbersRejected, owner: step{block: true}},
			want: "phone_numbers", code: onboarding.CodeMetaRejected, cancelled: []string{"owner_business"}},
		{name: "number not on the WABA beats owner_business", meta: &stepMeta{wrongNumber: true, owner: ownerRejected},
			message: "not one of this WhatsApp Business Account's numbers", code: onboarding.CodeMetaRejected},
		{name: "owner_business fails alone", meta: &stepMeta{debug: fast, owner: ownerRejected},
			want: "owner_business", code: onboarding.CodeMetaRejected},
		{name: "owner names no business", meta: &stepMeta{noOwner: true},
			message: "did not name the business", code: onboarding.CodeMetaRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			metrics := &recMetrics{}
			f.svc.Meta, f.svc.Metrics = tt.meta, metrics
			req := request("c")
			req.Identity.BusinessID = ""
			start := time.Now()
			_, err := f.svc.Signup(context.Background(), req)
			if time.Since(start) > 2*time.Second {
				t.Fatal("a failed verification waited for calls that no longer mattered")
			}
			if onboarding.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
			var ue *onboarding.UpstreamError
			if tt.want != "" && (!errors.As(err, &ue) || ue.Op != tt.want) {
				t.Fatalf("reported %v, want the failure of %s", err, tt.want)
			}
			if tt.message != "" && !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("reported %v, want %q", err, tt.message)
			}
			if started, returned := tt.meta.started.Load(), tt.meta.returned.Load(); started != returned {
				t.Fatalf("%d calls started, %d returned before Signup did", started, returned)
			}
			for _, op := range tt.cancelled {
				if !tt.meta.wasCancelled(op) {
					t.Errorf("%s was not cancelled", op)
				}
				// A cancelled call says nothing about Meta: no error, no latency.
				if got := metrics.about(op); len(got) != 0 {
					t.Errorf("cancelled %s measured: %v", op, got)
				}
			}
			// No lock was taken without Meta's proof, so nothing from
			// the answers that came while another call failed is kept.
			f.noRecord(t)
		})
	}
}

// TestVerifyCancelledByCaller: when the request itself runs out of time,
// every call returns before Signup does, and debug_token's timeout is
// measured as a failure of Meta, not dropped as a superseded call.
func TestVerifyCancelledByCaller(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := &stepMeta{debug: step{block: true}, numbers: step{block: true}, owner: step{block: true}}
	metrics := &recMetrics{}
	f.svc.Meta, f.svc.Metrics = m, metrics
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := request("c")
	req.Identity.BusinessID = ""
	if _, err := f.svc.Signup(ctx, req); onboarding.ErrorCode(err) != onboarding.CodeMetaUnavailable {
		t.Fatalf("err = %v, want meta_unavailable", err)
	}
	if m.started.Load() != 3 || m.returned.Load() != 3 {
		t.Fatalf("%d calls started, %d returned", m.started.Load(), m.returned.Load())
	}
	if got := metrics.about("debug_token"); !slices.Contains(got, onboarding.MetricUpstreamError+" debug_token error") {
		t.Fatalf("debug_token's timeout measured as %v", got)
	}
}
