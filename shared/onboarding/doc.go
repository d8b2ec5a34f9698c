// Package onboarding holds the product's rules: how a customer's finished
// Embedded Signup becomes a WhatsApp Business Account (WABA) onboarded at
// Plivo, exactly once, and what its record says afterwards. Every other
// package is an adapter around it (dynamo stores the Record, meta and plivo
// call the two upstreams, apigw speaks HTTP) or a feature next to it
// (session, callbacks, metawebhooks, demo).
//
// # The signup's story
//
// The customer opens the onboarding page with a session link, runs Meta's
// Embedded Signup in a popup, and the page posts the code Meta returned
// with the IDs the flow named (Service.Signup):
//
//  1. The request is validated and bound to its session token, which is
//     spent at once with its own conditional write (SessionLedger), before
//     anything goes upstream: a token serves one signup, whether or not
//     Meta accepts the code, with a few retries of that same signup
//     (SessionUse.Reuse).
//  2. When the request names its WABA, the WABA's record is read: a
//     signup in progress, a verified one or a conflict is answered from it
//     without spending the code, and without a write. A WABA Plivo
//     onboarded under the same details is a customer running the signup
//     again: its code is spent to subscribe our app to the WABA again once
//     Meta proves control as in 3, and the answer is the record's replay
//     (rerun.go). Without a WABA ID there is no record to read until Meta
//     names the WABA.
//  3. The code is exchanged for a business token, and Meta is asked, at
//     once, whether the token is a grant for our app whose WhatsApp
//     permissions name the WABA (debug_token's granular scopes), which
//     numbers the WABA has and which business owns it. Nothing the browser
//     sent is trusted until Meta confirms it, so no lock is held yet
//     (proof.go): a bogus code naming someone else's WABA writes nothing.
//  4. Only then is the WABA's lock taken with one conditional write, and
//     the record saved verified; then Plivo is asked to onboard the WABA
//     with the token. Plivo's answer decides: onboarded, failed, or, when
//     Plivo cannot answer now, left verified for Service.Resume to retry on
//     a schedule (the caller hears "pending").
//  5. Plivo's callbacks (shared/callbacks) and Meta's webhooks
//     (shared/metawebhooks) move the record on after the signup.
//
// The code and the business token are secrets: they are never stored or
// logged.
//
// # States
//
// A Record is in one State:
//
//	verifying         the lock is held while Meta is consulted; it expires
//	                  by itself if the invocation dies
//	verified          Meta confirmed the WABA; Plivo still has to onboard it
//	onboarded         Plivo onboarded the WABA (terminal for the signup)
//	failed            Meta or Plivo refused; FailureReason says why, and a
//	                  new signup may take the record over
//	phone_unverified  the shared number has not passed Meta's verification
//	                  code; nothing went to Plivo
//	awaiting_number   the customer shared a WABA without a number
//	disconnected      after onboarding, the customer removed our access
//	restricted        Meta restricted, flagged or disabled the account
//	unclaimed         Meta says the WABA was shared with our app, but no
//	                  signup for it reached us
//
// phone_unverified, awaiting_number, failed, disconnected and unclaimed
// release the WABA: the customer's next signup takes the record over.
//
// # Errors
//
// A refusal is an *Error: a stable Code for machines, a message safe to
// show, and a cause that is logged but never returned. Each Code has a
// Kind, and the HTTP status of a Kind is decided in one place
// (apigw.StatusOf). Each feature declares its own codes.
package onboarding
