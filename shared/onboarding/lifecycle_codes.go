package onboarding

// CodeSecondNumber: the WABA is already onboarded with another phone
// number. Plivo's Embedded Signup API onboards a WABA once and registers
// its number itself, so a second number cannot go through it
// (docs/lifecycle.md says what to do instead).
var CodeSecondNumber = NewCode("second_number_not_supported", EConflict)
