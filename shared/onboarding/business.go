package onboarding

import "log/slog"

// CodeBusinessMismatch: the business_id the browser sent is not the
// business that owns the WABA, as Meta says when asked with the customer's
// own token. Nothing is sent to Plivo.
var CodeBusinessMismatch = NewCode("business_mismatch", EUnprocessable)

// ReasonBusinessMismatch is the failure reason of a record whose signup
// named a business that does not own its WABA.
const ReasonBusinessMismatch = "business_mismatch"

// proveBusiness holds the business_id the browser claimed (claimed, empty
// when it sent none) against owner, the business Meta says owns the WABA
// (empty when Meta named none), and returns the one to record. The
// browser's value is never trusted over Meta's: it goes to Plivo and into
// every callback event. Graph leaves out a field it cannot return; with no
// owner named, the claimed business is recorded, unproven, rather than
// refusing a signup whose code, WABA and number Meta has just vouched for.
func (s *Service) proveBusiness(claimed, owner string, log *slog.Logger) (string, error) {
	switch {
	case owner == "" && claimed == "":
		return "", Errorf(CodeMetaRejected, "Meta did not name the business that owns this WhatsApp Business Account.")
	case owner == "":
		s.metrics().Count(MetricBusinessUnproven, nil)
		log.Warn("meta named no owner business; recording the signup's business_id unproven", "business_id", claimed)
		return claimed, nil
	case claimed != "" && claimed != owner:
		return "", Errorf(CodeBusinessMismatch, "The business of this signup does not own the WhatsApp Business Account. Please run the signup again.")
	}
	return owner, nil
}
