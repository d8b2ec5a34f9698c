package onboarding

// Onboarding-session error codes. A signup bound to sessions is refused with
// one of them before anything is written or sent upstream; apigw.StatusOf
// maps them to 401, except CodeClientRefMismatch (403).
const (
	// CodeSessionMissing: the signup carries no session token.
	CodeSessionMissing Code = "session_missing"
	// CodeSessionInvalid: the token is malformed, signed with an unknown
	// key, or its signature does not match (tampered).
	CodeSessionInvalid Code = "session_invalid"
	// CodeSessionExpired: the token is genuine but past its expiry.
	CodeSessionExpired Code = "session_expired"
	// CodeSessionUsed: the token already served another signup.
	CodeSessionUsed Code = "session_used"
	// CodeClientRefMismatch: the body names a client_ref other than the one
	// the (genuine) token is bound to.
	CodeClientRefMismatch Code = "client_ref_mismatch"
)
