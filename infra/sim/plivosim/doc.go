// Package plivosim simulates the Plivo APIs a WhatsApp Tech Provider backend
// calls: the Embedded Signup API, the account read used as a preflight check,
// the Message API and the WhatsApp Template API used in App Review demos. It
// can also send WhatsApp callbacks signed the way Plivo signs them, among
// them a queued message's status callbacks to the url it was sent with
// (SendStatus).
//
// It serves real HTTP (httptest.NewServer(sim.Handler()) in tests, mounted
// by the local stack) and is faithful to Plivo's Embedded Signup guide: HTTP
// Basic auth on every /v1/Account/{auth_id}/ route, error bodies
// {"api_id","error"} with the guide's exact messages, and a WABA that stays
// registered once onboarded, so a retried call is "already registered"
// rather than a second success. Messages the guide does not document are
// chosen by the simulator and marked so in the code.
//
// Failures are injected per route with FailNext (or POST
// /_sim/plivo/scenario); DropNextSignupResponse and DelayNextSignupResponse
// commit a signup but lose its answer, the case an idempotent client must
// survive.
package plivosim
