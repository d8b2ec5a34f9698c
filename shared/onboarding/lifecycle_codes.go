package onboarding

// CodeSecondNumber: the WABA is already onboarded with another phone
// number. Plivo's Embedded Signup API onboards a WABA once and registers
// its number itself, so a second number cannot go through it
// (docs/lifecycle.md says what to do instead).
var CodeSecondNumber = NewCode("second_number_not_supported", EConflict)

// CodeAccessRemoved: Meta's webhook said the customer removed our access
// to the WABA (or deleted it) while the signup was running, so the signup
// cannot finish; a new signup reconnects it.
var CodeAccessRemoved = NewCode("access_removed", EConflict)

// accessRemoved is the answer to a signup whose WABA Meta disconnected
// from our app while the signup ran.
func accessRemoved(cause error) *Error {
	return Wrap(CodeAccessRemoved, cause, "Access to this WhatsApp Business Account was removed during the signup. Run the signup again.")
}
