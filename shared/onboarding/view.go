package onboarding

import "time"

// View is the public shape of a record: what the status endpoint and the
// signup answer show. It holds no lock tokens, hashes or secrets; what
// Plivo said (its attempts, API ID and errors, which name the provider's
// BSP and its account's problems) only in ProviderView.
type View struct {
	WABAID             string `json:"waba_id"`
	State              State  `json:"state"`
	PhoneNumberID      string `json:"phone_number_id,omitempty"`
	DisplayPhoneNumber string `json:"display_phone_number,omitempty"`
	BusinessID         string `json:"business_id,omitempty"`
	ClientRef          string `json:"client_ref,omitempty"`
	// PlivoAttempts is set, 0 included, in the provider's view only.
	PlivoAttempts    *int       `json:"plivo_attempts,omitempty"`
	PlivoAPIID       string     `json:"plivo_api_id,omitempty"`
	LastError        string     `json:"last_error,omitempty"`
	LastErrorMessage string     `json:"last_error_message,omitempty"`
	FailureReason    string     `json:"failure_reason,omitempty"`
	NextRetryAt      *time.Time `json:"next_retry_at,omitempty"`
	Reconciled       bool       `json:"reconciled,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	VerifiedAt       *time.Time `json:"verified_at,omitempty"`
	OnboardedAt      *time.Time `json:"onboarded_at,omitempty"`
	// SubscribedAt, in the provider's view only, is when a customer's run
	// of the signup again last subscribed our app to the WABA
	// (Record.SubscribedAt): with onboarded_at, what the runbook compares
	// a share of the WABA with.
	SubscribedAt *time.Time `json:"subscribed_at,omitempty"`
	// What Meta's webhooks said after the signup (docs/lifecycle.md).
	PreviousState   State       `json:"previous_state,omitempty"`
	StateReason     string      `json:"state_reason,omitempty"`
	RestrictedUntil *time.Time  `json:"restricted_until,omitempty"`
	Health          *HealthView `json:"health,omitempty"`
}

// View returns the record's public shape.
func (r *Record) View() View {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	v := View{
		WABAID: r.WABAID, State: r.State, PhoneNumberID: r.PhoneNumberID, DisplayPhoneNumber: r.DisplayPhoneNumber,
		BusinessID: r.BusinessID, ClientRef: r.ClientRef, FailureReason: r.FailureReason,
		Reconciled: r.Reconciled, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		VerifiedAt: opt(r.VerifiedAt), OnboardedAt: opt(r.OnboardedAt),
		PreviousState: r.PreviousState, StateReason: r.StateReason, RestrictedUntil: opt(r.RestrictedUntil),
		Health: r.Health.view(),
	}
	if r.State == StateVerified {
		v.NextRetryAt = opt(r.NextRetryAt)
	}
	return v
}

// ProviderView is View with Plivo's side of the record (the attempts, the
// API ID, and the last error with its own text, which may be Plivo's words
// about the Tech Provider's account) and our app's latest subscription.
// For the provider's IAM-signed routes, never for the customer's browser.
func (r *Record) ProviderView() View {
	v := r.View()
	attempts := r.PlivoAttempts
	v.PlivoAttempts, v.PlivoAPIID = &attempts, r.PlivoAPIID
	v.LastError, v.LastErrorMessage = r.LastError, r.LastErrorMessage
	if !r.SubscribedAt.IsZero() {
		at := r.SubscribedAt
		v.SubscribedAt = &at
	}
	return v
}
