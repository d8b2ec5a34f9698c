// Package onboardingtest holds the one fake of each upstream port of the
// onboarding service, for its tests, its callers' tests and benchmarks: a
// Graph API (Meta) and a Plivo that succeed at once unless a test scripts
// them to fail.
package onboardingtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// The IDs the healthy upstreams answer with.
const (
	PhoneNumberID      = "112233445566778"
	DisplayPhoneNumber = "+1 555-010-0100"
	BusinessID         = "198765432109876"
)

// Meta is a Graph API for the app AppID. Each nil hook answers as a healthy
// Graph API: every code exchanges for a valid token, the WABA has one
// verified number (PhoneNumberID), owned by BusinessID. When WABAID is set
// the token's granular scopes name it, as for a signup whose page did not
// send the WABA ID. Use it by pointer; it is safe for concurrent use.
type Meta struct {
	AppID, WABAID string

	Exchange func(code string) (string, error)
	Debug    func(token string) (onboarding.TokenInfo, error)
	Numbers  func(wabaID string) ([]onboarding.PhoneNumber, error)
	Owner    func(wabaID string) (string, error)
	// Subscribe answers SubscribeApp; nil succeeds.
	Subscribe func(ctx context.Context, wabaID string) error

	exchanges, calls atomic.Int32
	mu               sync.Mutex
	subscribed       []string
}

var _ onboarding.Meta = (*Meta)(nil)

// Calls returns how many calls reached m, of every kind.
func (m *Meta) Calls() int { return int(m.calls.Load()) }

// Exchanges returns how many codes m was asked to exchange.
func (m *Meta) Exchanges() int { return int(m.exchanges.Load()) }

// ExchangeCode implements onboarding.Meta.
func (m *Meta) ExchangeCode(_ context.Context, code string) (string, error) {
	m.exchanges.Add(1)
	m.calls.Add(1)
	if m.Exchange != nil {
		return m.Exchange(code)
	}
	return "token-" + code, nil
}

// DebugToken implements onboarding.Meta.
func (m *Meta) DebugToken(_ context.Context, token string) (onboarding.TokenInfo, error) {
	m.calls.Add(1)
	if m.Debug != nil {
		return m.Debug(token)
	}
	if m.WABAID != "" {
		return Grant(m.AppID, m.WABAID), nil
	}
	// Not knowing the WABA, the token's WhatsApp permissions name none:
	// granted without targets, they are limited to none either.
	return onboarding.TokenInfo{AppID: m.AppID, Valid: true, Scopes: map[string][]string{
		"whatsapp_business_management": nil, "whatsapp_business_messaging": nil, "business_management": {BusinessID},
	}}, nil
}

// Grant is what debug_token says of the business token of a signup that
// shared wabaID with the app appID: valid, never expiring, with the
// WhatsApp permissions granted on that WABA.
func Grant(appID, wabaID string) onboarding.TokenInfo {
	return onboarding.TokenInfo{AppID: appID, Valid: true, Scopes: map[string][]string{
		"whatsapp_business_management": {wabaID}, "whatsapp_business_messaging": {wabaID}, "business_management": {BusinessID},
	}}
}

// PhoneNumbers implements onboarding.Meta.
func (m *Meta) PhoneNumbers(_ context.Context, _, wabaID string) ([]onboarding.PhoneNumber, error) {
	m.calls.Add(1)
	if m.Numbers != nil {
		return m.Numbers(wabaID)
	}
	return []onboarding.PhoneNumber{{CodeVerificationStatus: "VERIFIED", ID: PhoneNumberID, DisplayPhoneNumber: DisplayPhoneNumber, VerifiedName: "Test"}}, nil
}

// SubscribeApp implements onboarding.Meta.
func (m *Meta) SubscribeApp(ctx context.Context, _, wabaID string) error {
	m.calls.Add(1)
	if m.Subscribe != nil {
		if err := m.Subscribe(ctx, wabaID); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subscribed = append(m.subscribed, wabaID)
	return nil
}

// Subscribed returns the WABAs our app was subscribed to, in order.
func (m *Meta) Subscribed() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.subscribed)
}

// OwnerBusinessID implements onboarding.Meta.
func (m *Meta) OwnerBusinessID(_ context.Context, _, wabaID string) (string, error) {
	m.calls.Add(1)
	if m.Owner != nil {
		return m.Owner(wabaID)
	}
	return BusinessID, nil
}

// Plivo onboards WABAs. Its calls answer Script's errors in turn (a nil
// entry succeeds), then Err, which succeeds when nil. When Gate is set each
// call first waits to receive from it (or for it to close), so that a test
// can hold a signup in flight. Use it by pointer; it is safe for concurrent
// use once Script, Err and Gate are set.
type Plivo struct {
	Script []error
	Err    error
	Gate   chan struct{}

	mu        sync.Mutex
	calls, ok int
}

var _ onboarding.Plivo = (*Plivo)(nil)

// EmbeddedSignup implements onboarding.Plivo.
func (p *Plivo) EmbeddedSignup(context.Context, onboarding.PlivoSignup) (onboarding.PlivoResult, error) {
	if p.Gate != nil {
		<-p.Gate
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	err := p.Err
	if len(p.Script) > 0 {
		err, p.Script = p.Script[0], p.Script[1:]
	}
	if err != nil {
		return onboarding.PlivoResult{}, err
	}
	p.ok++
	return onboarding.PlivoResult{APIID: fmt.Sprintf("api-%d", p.calls), Message: "Embedded signup completed successfully."}, nil
}

// Counts returns how many calls reached p and how many of them succeeded.
func (p *Plivo) Counts() (calls, succeeded int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls, p.ok
}
