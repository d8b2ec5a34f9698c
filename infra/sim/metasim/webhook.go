package metasim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"
)

// WebhookSignatureHeader is where Meta puts a webhook body's signature.
const WebhookSignatureHeader = "X-Hub-Signature-256"

// Webhook is one WhatsApp Business Account webhook delivery as Meta sends
// it: the JSON body and its X-Hub-Signature-256.
type Webhook struct {
	Body      []byte
	Signature string
}

// WebhookChange builds a delivery of one change of field about wabaID,
// shaped as Meta's webhook reference documents it:
// {"object":"whatsapp_business_account","entry":[{"id","time","changes":[{"value","field"}]}]},
// signed with the app secret: "sha256=" and the hex HMAC-SHA256 of the
// body.
func (s *Server) WebhookChange(wabaID, field string, value map[string]any, at time.Time) Webhook {
	body, _ := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{
			"id":      wabaID,
			"time":    at.Unix(),
			"changes": []any{map[string]any{"value": value, "field": field}},
		}},
	})
	return Webhook{Body: body, Signature: SignWebhook(s.cfg.AppSecret, body)}
}

// PartnerBusinessID is the Tech Provider's business portfolio, under which
// Meta delivers the partner events.
const PartnerBusinessID = "2949482758682047"

// partnerEvents are the account_update events Meta's reference shows
// under the partner's business ID, with the customer's WABA in waba_info.
var partnerEvents = []string{"PARTNER_APP_INSTALLED", "PARTNER_APP_UNINSTALLED", "PARTNER_ADDED", "PARTNER_REMOVED"}

// AccountUpdate builds an account_update delivery of event for wabaID,
// with the extra keys Meta documents for it (waba_info, restriction_info,
// violation_info, ban_info). A partner event is delivered as Meta's
// examples show it: entry.id is PartnerBusinessID, and waba_info.waba_id
// names the customer's WABA; an install or uninstall names the simulated
// app in waba_info.partner_app_id unless extra names another. waba_info
// also carries what the customer's grant says (customerOf): the owning
// business, and the Multi-Partner Solution the WABA was created under,
// which Meta leaves out of an uninstall.
func (s *Server) AccountUpdate(wabaID, event string, extra map[string]any, at time.Time) Webhook {
	value := map[string]any{"event": event}
	maps.Copy(value, extra)
	if !slices.Contains(partnerEvents, event) {
		return s.WebhookChange(wabaID, "account_update", value, at)
	}
	info, _ := value["waba_info"].(map[string]any)
	info = maps.Clone(info)
	if info == nil {
		info = map[string]any{}
	}
	info["waba_id"] = wabaID
	// Meta names the app an install or uninstall is about; unless told
	// otherwise, the simulated app's own.
	if _, named := info["partner_app_id"]; !named && s.cfg.AppID != "" && strings.HasPrefix(event, "PARTNER_APP_") {
		info["partner_app_id"] = s.cfg.AppID
	}
	if business, solution, known := s.customerOf(wabaID); known {
		setDefault(info, "owner_business_id", business)
		if solution != "" && event != "PARTNER_APP_UNINSTALLED" {
			setDefault(info, "solution_id", solution)
			// Plivo's business, the solution's other partner, is not
			// simulated.
			setDefault(info, "solution_partner_business_ids", []any{PartnerBusinessID})
		}
	}
	value["waba_info"] = info
	return s.WebhookChange(PartnerBusinessID, "account_update", value, at)
}

func setDefault(m map[string]any, key string, v any) {
	if _, named := m[key]; !named {
		m[key] = v
	}
}

// customerOf returns the owning business and the solution of wabaID in
// the latest grant this Server issued a code for; known is false when no
// grant names the WABA, and nothing is made up for it.
func (s *Server) customerOf(wabaID string) (business, solution string, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var latest *codeState
	for _, c := range s.codes {
		if c.grant.WABAID == wabaID && (latest == nil || c.issuedAt.After(latest.issuedAt)) {
			latest = c
		}
	}
	if latest == nil {
		return "", "", false
	}
	return latest.grant.BusinessID, latest.grant.SolutionID, true
}

// SignWebhook returns the X-Hub-Signature-256 of body for appSecret.
func SignWebhook(appSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
