// Package metasim simulates the slice of Meta's Graph API that a WhatsApp
// Embedded Signup backend calls: the OAuth code exchange, debug_token, a
// WABA's phone_numbers edge, the WABA node (owner_business_info) and the
// WABA's subscribed_apps edge, which subscribes the app to the WABA's
// webhooks (Subscribed tells a test whether it did).
//
// It serves real HTTP so that the product's own client code, timeouts and
// error mapping are exercised: tests use httptest.NewServer(sim.Handler()),
// the local stack mounts the same handler, and benchmarks set Latency.
//
// Responses copy what Meta sends, including its quirks: errors are HTTP 400
// with {"error":{"message","type","code","error_subcode","fbtrace_id"}},
// debug_token answers an unknown input token with 200 and is_valid:false,
// and business-token calls demand appsecret_proof. Where Meta's behaviour is
// not documented the choice is written next to the code.
//
// The sandbox "dialog" is IssueCode (or POST /_sim/meta/codes): it stands for
// a customer finishing Embedded Signup and returns a single-use code bound to
// a Grant. Failures are injected per endpoint with FailNext (or POST
// /_sim/meta/scenario). Calls and Requests let tests assert how the product
// used the API; the request log keeps query parameter names only, never
// tokens, codes or proofs.
package metasim
