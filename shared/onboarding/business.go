package onboarding

// CodeBusinessMismatch: the business_id the browser sent is not the
// business that owns the WABA, as Meta says when asked with the customer's
// own token. Nothing is sent to Plivo.
var CodeBusinessMismatch = NewCode("business_mismatch", EUnprocessable)

// ReasonBusinessMismatch is the failure reason of a record whose signup
// named a business that does not own its WABA.
const ReasonBusinessMismatch = "business_mismatch"

// proveBusiness holds the business_id the browser claimed (claimed, empty
// when it sent none) against owner, the business Meta says owns the WABA,
// and returns the one to record. The browser's value is never trusted:
// it goes to Plivo and into every callback event.
func proveBusiness(claimed, owner string) (string, error) {
	if claimed != "" && claimed != owner {
		return "", Errorf(CodeBusinessMismatch, "The business of this signup does not own the WhatsApp Business Account. Please run the signup again.")
	}
	return owner, nil
}
