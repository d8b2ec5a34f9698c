package onboarding

// Onboarding-session error codes. A signup bound to sessions is refused with
// one of them before anything is written or sent upstream. They live here,
// not in shared/session, because the signup itself decides some of them
// (SessionUse.Reuse, bindSession) and shared/session builds on this package.
var (
	// CodeSessionMissing: the signup carries no session token.
	CodeSessionMissing = NewCode("session_missing", EUnauthorized)
	// CodeSessionInvalid: the token is malformed, signed with an unknown
	// key, or its signature does not match (tampered).
	CodeSessionInvalid = NewCode("session_invalid", EUnauthorized)
	// CodeSessionExpired: the token is genuine but past its expiry.
	CodeSessionExpired = NewCode("session_expired", EUnauthorized)
	// CodeSessionUsed: the token already served another signup.
	CodeSessionUsed = NewCode("session_used", EUnauthorized)
	// CodeClientRefMismatch: the body names a client_ref other than the one
	// the (genuine) token is bound to. The caller is known but asks for a
	// customer the token does not cover; a new token would not help.
	CodeClientRefMismatch = NewCode("client_ref_mismatch", EForbidden)
)

// sessionMessages are the caller-facing texts of the session codes: what
// happened and what the customer can do, with nothing about why a check
// failed.
var sessionMessages = map[Code]string{
	CodeSessionMissing:    "This page must be opened from an onboarding link. Ask your provider for a new link.",
	CodeSessionInvalid:    "This onboarding link is not valid. Ask your provider for a new link.",
	CodeSessionExpired:    "This onboarding link has expired. Ask your provider for a new link.",
	CodeSessionUsed:       "This onboarding link was already used for another signup. Ask your provider for a new link.",
	CodeClientRefMismatch: "This signup does not belong to the customer the onboarding link was issued for.",
}

// SessionFailure builds the domain error of a session code with its fixed,
// caller-safe message; cause is for the logs. A code that is not a session
// code is answered as session_invalid's message.
func SessionFailure(code Code, cause error) *Error {
	msg, ok := sessionMessages[code]
	if !ok {
		msg = sessionMessages[CodeSessionInvalid]
	}
	return &Error{Code: code, Message: msg, Cause: cause}
}
